/**
 * `npm run bench -- scale [--database roster_seed] [--quick] [--no-write]`: Roster on the dataset of
 * `npm run bench:seed` (1M users, 100k groups, 10M memberships) over real HTTP on 127.0.0.1.
 *
 * For each read path: peak throughput with 32 clients in a closed loop, then p50/p99 in an open loop at a fixed
 * rate of half that peak (timed from when each request was due). Beside it, the same SQL through `pg` with no
 * HTTP (the raw-SQL floor) where one statement is the whole path. Then the membership writes in calls of 1, 100 and
 * 10,000 ids, and updateOrCreateUser, each beside its floor; start-up time to the first answer on the full and on
 * an empty database; Roster's CPU per request and peak RSS.
 *
 * The database is changed only by one group the suite creates in the largest tenant, fills and deletes, and by
 * updateOrCreateUser renaming sampled users (first name `Bench<n>`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { HttpClient, graphql } from './lib/http.ts';
import { runOpenLoop } from './lib/open-loop.ts';
import { createScratchDatabase, prepared, ROSTER_SESSION } from './lib/postgres.ts';
import { CpuMeter, StealMeter, descendantsAndSelf, freePort, startChildServer, waitForWorkers, type ChildServer } from './lib/processes.ts';
import { codeRevision, machineInfo, markdownTable } from './lib/report.ts';
import { fmtInt, fmtMs, fmtPct, median, runForDuration, summarize, type Summary } from './lib/stats.ts';
import { publishSection, SuiteRun, workersTag } from './lib/suite.ts';
import type { SuiteContext } from './run.ts';

interface Sizes {
  readonly peakMs: number;
  readonly fixedMs: number;
  readonly warmMs: number;
  readonly writeCalls: Record<1 | 100 | 10_000, number>;
  readonly deepRows: number;
  readonly startups: number;
}
const FULL: Sizes = { peakMs: 5_000, fixedMs: 5_000, warmMs: 1_000, writeCalls: { 1: 800, 100: 160, 10_000: 24 }, deepRows: 100_000, startups: 3 };
const QUICK: Sizes = { peakMs: 1_000, fixedMs: 1_000, warmMs: 300, writeCalls: { 1: 50, 100: 10, 10_000: 2 }, deepRows: 5_000, startups: 1 };
const CLIENTS = 32;
const WRITE_CLIENTS = 8;
const ROUNDS = 4;
const DEADLINE_MS = 40 * 60_000;
const POOL = 10;

interface Dataset {
  readonly users: number;
  readonly memberships: number;
  readonly bigTenant: string;
  readonly bigGroup: { id: string; members: number };
  readonly midGroup: { id: string; members: number };
  readonly sample: { id: string; reference: string; tenantId: string }[];
  /** Users of the biggest tenant in the most groups. */
  readonly busyUsers: { id: string; tenantId: string }[];
  readonly bigTenantUsers: string[];
}

const arg = (args: readonly string[], name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

async function loadDataset(client: pg.Client, quick: boolean): Promise<Dataset> {
  const one = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await client.query<T>(text, values)).rows;
  const [counts] = await one<{ users: number; memberships: number }>(
    `select (select reltuples::bigint from pg_class where relname = 'users') as users,
            (select reltuples::bigint from pg_class where relname = 'user_group_members') as memberships`,
  );
  const [big] = await one<{ tenant_id: string }>('select tenant_id from users group by 1 order by count(*) desc limit 1');
  const bigTenant = big!.tenant_id;
  // Group sizes of the biggest tenant only (a scan of its ~2M memberships, not of all 10M).
  const groups = await one<{ group_id: string; n: number }>(
    'select group_id, count(*)::int as n from user_group_members where tenant_id = $1 group by 1 order by 2 desc', [bigTenant]);
  const bigGroup = groups[0]!;
  const mid = groups.reduce((best, g) => (Math.abs(g.n - 5_000) < Math.abs(best.n - 5_000) ? g : best), groups[0]!);
  const sample = await one<{ id: string; reference: string; tenant_id: string }>(
    `select id, reference, tenant_id from users tablesample system (2) repeatable (7) where active limit ${quick ? 2_000 : 10_000}`);
  const busy = await one<{ user_id: string }>(
    'select user_id from user_group_members where tenant_id = $1 group by 1 order by count(*) desc limit 500', [bigTenant]);
  const tenantUsers = await one<{ id: string }>('select id from users where tenant_id = $1 and active order by id limit 20000', [bigTenant]);
  return {
    users: Number(counts!.users),
    memberships: Number(counts!.memberships),
    bigTenant,
    bigGroup: { id: bigGroup.group_id, members: bigGroup.n },
    midGroup: { id: mid.group_id, members: mid.n },
    sample: sample.map((r) => ({ id: r.id, reference: r.reference, tenantId: r.tenant_id })),
    busyUsers: busy.map((r) => ({ id: r.user_id, tenantId: bigTenant })),
    bigTenantUsers: tenantUsers.map((r) => r.id),
  };
}

/**
 * Peak RSS (VmHWM) and current RSS of a process and its children (the workers of ROSTER_WORKERS > 1), in MB, summed;
 * the sum of peaks is an upper bound of the peak of the sum. Linux only.
 */
function memoryMb(pid: number): { peak: number; now: number } {
  let peak = 0;
  let now = 0;
  for (const p of descendantsAndSelf(pid)) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    peak += kb('VmHWM') / 1024;
    now += kb('VmRSS') / 1024;
  }
  return { peak, now };
}

/** Milliseconds from spawning `node <entry>` to the first 200 from GET /readyz, polled every 5 ms. */
async function timeToFirstAnswer(repoRoot: string, env: Record<string, string>, entry: readonly string[]): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [...entry], {
    cwd: repoRoot,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (performance.now() - t0 > 60_000) throw new Error('Roster did not answer within 60 s');
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        await res.arrayBuffer();
        if (res.status === 200) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      await sleep(5);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

interface ReadResult {
  readonly name: string;
  readonly peak: Summary;
  readonly fixed: Summary & { dropped: number; rate: number; steal: number };
  readonly cpuMsPerRequest: number;
  readonly floor?: Summary;
}

const USER_FIELDS = 'id reference email firstName lastName tenantId';

// The floors, named (prepared) as Roster runs its frequent statements.
const byIdFloor = prepared('select * from users where id = $1');
const byRefFloor = prepared('select id, tenant_id, reference, email, first_name, last_name from users where reference = $1 and active order by created_at desc, id desc limit 2');
const membersFloor = prepared('select user_id, added_at from user_group_members where tenant_id = $1 and group_id = $2 order by added_at, user_id limit 50');
const memberCountFloor = prepared('select count(*)::int as n from user_group_members where tenant_id = $1 and group_id = $2');
const addFloor = prepared('insert into user_group_members (tenant_id, group_id, user_id) select $1, $2, unnest($3::uuid[]) on conflict do nothing');
const removeFloor = prepared('delete from user_group_members where tenant_id = $1 and group_id = $2 and user_id = any($3::uuid[])');

export async function run(ctx: SuiteContext): Promise<void> {
  const sizes = ctx.quick ? QUICK : FULL;
  const suite = new SuiteRun('scale', DEADLINE_MS);
  const { log, cleanups, startedAt } = suite;
  const dbName = arg(ctx.args, '--database') ?? 'roster_seed';
  const url = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  try {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1 from users limit 1');
    } catch (e) {
      throw new Error(`no seeded database ${dbName} (${e instanceof Error ? e.message : String(e)}); create it with\n` +
        '  npm run bench:seed -- --users 1000000 --groups 100000 --memberships 10000000 --tenants 100');
    }
    cleanups.push(() => client.end());
    const pgVersion = (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;
    log('reading the dataset');
    const data = await loadDataset(client, ctx.quick);
    log(`dataset: ~${fmtInt(data.users)} users, ~${fmtInt(data.memberships)} memberships; big group ${fmtInt(data.bigGroup.members)}, mid group ${fmtInt(data.midGroup.members)}`);

    // --- Start-up ------------------------------------------------------------------------------------------------
    const apiKey = randomBytes(24).toString('base64url');
    const startups: { what: string; ms: number[] }[] = [];
    const scratch = await createScratchDatabase('roster_bench_empty');
    cleanups.push(() => scratch.drop());
    log('building the server (npm run build) for the compiled start-up');
    execFileSync('npm', ['run', 'build', '-w', '@roster/server'], { cwd: ctx.repoRoot, stdio: 'ignore' });
    const TSX = ['--import', 'tsx', 'packages/server/src/main.ts'];
    // What `npm run start:built` runs: the one-file bundle (scripts/bundle-server.ts).
    const BUILT = ['packages/server/dist/bundle/roster.mjs'];
    // tsc's output, one file per module: shows what the bundle saves.
    const UNBUNDLED = ['packages/server/dist/main.js'];
    const firstStart = await timeToFirstAnswer(ctx.repoRoot, { DATABASE_URL: scratch.url, ROSTER_API_KEY: apiKey }, BUILT);
    startups.push({ what: 'compiled (`npm run start:built`), empty PostgreSQL database, first start: runs the migrations', ms: [firstStart] });
    const pgliteDir = `/tmp/roster-bench-pglite-${process.pid}`;
    const cases: [string, Record<string, string>, readonly string[]][] = [
      ['compiled, empty PostgreSQL database', { DATABASE_URL: scratch.url, ROSTER_API_KEY: apiKey }, BUILT],
      ['tsc output without the bundle (`dist/main.js`), empty PostgreSQL database', { DATABASE_URL: scratch.url, ROSTER_API_KEY: apiKey }, UNBUNDLED],
      [`compiled, full database (${dbName})`, { DATABASE_URL: url, ROSTER_API_KEY: apiKey }, BUILT],
      ['`npm start` (TypeScript through tsx), empty PostgreSQL database', { DATABASE_URL: scratch.url, ROSTER_API_KEY: apiKey }, TSX],
      [`\`npm start\` (tsx), full database (${dbName})`, { DATABASE_URL: url, ROSTER_API_KEY: apiKey }, TSX],
      ['compiled, embedded PGlite, new data directory', { ROSTER_DATA_DIR: pgliteDir, ROSTER_API_KEY: apiKey, ROSTER_ALLOW_EMBEDDED_IN_PRODUCTION: 'true' }, BUILT],
    ];
    for (const [what, env, entry] of cases) {
      const ms: number[] = [];
      for (let i = 0; i < sizes.startups; i++) {
        if (env.ROSTER_DATA_DIR) await rm(env.ROSTER_DATA_DIR, { recursive: true, force: true });
        ms.push(await timeToFirstAnswer(ctx.repoRoot, env, entry));
      }
      startups.push({ what, ms });
      log(`start-up, ${what}: ${ms.map((m) => fmtMs(m)).join(', ')}`);
    }
    await rm(pgliteDir, { recursive: true, force: true });

    // --- Roster under load ---------------------------------------------------------------------------------------
    const port = await freePort();
    const roster: ChildServer = await startChildServer({
      name: 'Roster',
      args: BUILT,
      cwd: ctx.repoRoot,
      env: { DATABASE_URL: url, ROSTER_API_KEY: apiKey, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'production', ROSTER_WORKERS: String(ctx.workers) },
      port,
      readyPath: '/readyz',
    });
    cleanups.push(() => roster.stop());
    await waitForWorkers(roster.pid, ctx.workers);
    const revision = codeRevision(ctx.repoRoot);
    const http = new HttpClient(roster.baseUrl, { connections: CLIENTS * 2, headers: { authorization: `Bearer ${apiKey}` } });
    cleanups.push(async () => http.close());
    const pool = new pg.Pool({ ...ROSTER_SESSION, connectionString: url, max: POOL });
    cleanups.push(() => pool.end());
    const memoryBefore = memoryMb(roster.pid);

    const pick = <T>(list: readonly T[], i: number): T => list[(i * 7919) % list.length]!;
    const gql = (query: string) => (variables: Record<string, unknown>) => graphql<unknown>(http, query, variables);

    // Deep cursors into the big group, collected by walking it once (1,000 rows per page).
    log(`walking ${fmtInt(sizes.deepRows)} rows of the big group for deep cursors`);
    const BY_GROUP = `query($g: ID!, $after: String, $limit: Int) { users(filter: { userGroupId: { equalTo: $g } }, limit: $limit, after: $after) { data { ${USER_FIELDS} } pageInfo { endCursor hasNextPage } } }`;
    const deepCursors: string[] = [];
    let cursor: string | null = null;
    for (let seen = 0; seen < sizes.deepRows; seen += 1_000) {
      const result: { users: { pageInfo: { endCursor: string } } } = await graphql(http, BY_GROUP, { g: data.bigGroup.id, after: cursor, limit: 1_000 });
      const next = result.users.pageInfo.endCursor;
      cursor = next;
      if (seen >= sizes.deepRows / 2) deepCursors.push(next);
    }

    const cpu = new CpuMeter(() => ({ roster: roster.pid }));
    const steal = new StealMeter();
    const readPaths: { name: string; task: (i: number) => Promise<unknown>; floor?: (i: number) => Promise<unknown> }[] = [
      {
        name: 'lookup by id: `user(id)`',
        task: (i) => gql(`query($id: ID!) { user(id: $id) { ${USER_FIELDS} } }`)({ id: pick(data.sample, i).id }),
        floor: (i) => pool.query(byIdFloor([pick(data.sample, i).id])),
      },
      {
        name: 'lookup by reference: `users(filter: { reference })`',
        task: (i) => gql(`query($r: String!) { users(filter: { reference: { equalTo: $r } }, limit: 1) { data { ${USER_FIELDS} } } }`)({ r: pick(data.sample, i).reference }),
        floor: (i) => pool.query(byRefFloor([pick(data.sample, i).reference])),
      },
      {
        name: `users by group, first page of 50 (group of ${fmtInt(data.bigGroup.members)})`,
        task: () => gql(BY_GROUP)({ g: data.bigGroup.id, limit: 50 }),
      },
      {
        name: `users by group, deep cursor page (rows ${fmtInt(sizes.deepRows / 2)}–${fmtInt(sizes.deepRows)})`,
        task: (i) => gql(BY_GROUP)({ g: data.bigGroup.id, limit: 50, after: pick(deepCursors, i) }),
      },
      {
        name: `users by group, first page of 50 (group of ${fmtInt(data.midGroup.members)})`,
        task: () => gql(BY_GROUP)({ g: data.midGroup.id, limit: 50 }),
      },
      {
        name: 'userGroups (10) with nested users (10 each)',
        task: (i) => gql(`query($t: ID!, $o: Int) { userGroups(filter: { tenantId: { equalTo: $t } }, limit: 10, offset: $o) { data { id name users(limit: 10) { data { id email } } } } }`)({ t: data.bigTenant, o: (i * 10) % 2_000 }),
      },
      {
        name: "a user's groups (50) and effective permissions",
        task: (i) => gql(`query($id: ID!) { user(id: $id) { id userGroups(limit: 50) { data { id name } totalCount } effectivePermissions { permission actions } } }`)({ id: pick(data.busyUsers, i).id }),
      },
      {
        name: `REST members listing, first page of 50 (group of ${fmtInt(data.midGroup.members)})`,
        task: async () => {
          const res = await http.request('POST', `/v3/companies/${data.bigTenant}/user-groups/${data.midGroup.id}/members`, JSON.stringify({ pagination: { limit: 50, offset: 0 } }));
          if (res.status !== 200) throw new Error(`members: HTTP ${res.status} ${res.body.slice(0, 200)}`);
        },
        floor: async () => {
          await pool.query(membersFloor([data.bigTenant, data.midGroup.id]));
          await pool.query(memberCountFloor([data.bigTenant, data.midGroup.id]));
        },
      },
      {
        name: 'search: e-mail substring in the biggest tenant (`filter.search`)',
        task: (i) => gql(`query($t: ID!, $s: String!) { users(filter: { tenantId: { equalTo: $t }, search: $s }, limit: 20) { data { ${USER_FIELDS} } } }`)({ t: data.bigTenant, s: `user${(i * 7919) % 230_000}@` }),
      },
      {
        name: 'customData filter: `{ contains: { department, level } }` in the biggest tenant',
        task: (i) => gql(`query($t: ID!, $c: JsonObject!) { users(filter: { tenantId: { equalTo: $t }, customData: { contains: $c } }, limit: 20) { data { ${USER_FIELDS} } } }`)({ t: data.bigTenant, c: { department: ['research', 'operations', 'sales'][i % 3], level: i % 10 } }),
      },
    ];

    const reads: ReadResult[] = [];
    for (const path of readPaths) {
      log(`read: ${path.name}`);
      // Each worker warms up (compiles its code paths) on the requests it gets: with N workers, N times as long.
      await runForDuration(sizes.warmMs * ctx.workers, 8, async (i) => void (await path.task(i)));
      cpu.start();
      const peakRun = await runForDuration(sizes.peakMs, CLIENTS, async (i) => void (await path.task(i)));
      const sample = cpu.stop();
      const peak = summarize(peakRun.latencies, peakRun.totalMs);
      const rate = Math.max(1, peak.perSec / 2);
      steal.start();
      const fixedRun = await runOpenLoop(rate, sizes.fixedMs, async (i) => void (await path.task(i + 1_000_000)));
      const fixed = { ...summarize(fixedRun.latencies, fixedRun.totalMs), dropped: fixedRun.dropped, rate, steal: steal.stop() };
      let floor: Summary | undefined;
      if (path.floor) {
        const f = path.floor;
        const floorRun = await runForDuration(sizes.peakMs, CLIENTS, async (i) => void (await f(i)));
        floor = summarize(floorRun.latencies, floorRun.totalMs);
      }
      reads.push({ name: path.name, peak, fixed, cpuMsPerRequest: ((sample.cores.roster ?? Number.NaN) * sample.wallMs) / peak.count, floor });
      log(`  peak ${fmtInt(peak.perSec)}/s (p99 ${fmtMs(peak.p99Ms)}); at ${fmtInt(rate)}/s p50 ${fmtMs(fixed.p50Ms)} p99 ${fmtMs(fixed.p99Ms)} (steal ${fmtPct(fixed.steal)})${floor ? `; floor ${fmtInt(floor.perSec)}/s` : ''}`);
    }

    // --- Writes ------------------------------------------------------------------------------------------------
    const groupId = (await graphql<{ createUserGroup: { id: string } }>(http,
      'mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id } }',
      { g: { name: `bench-scale-${Date.now()}`, reference: `bench-scale-${Date.now()}`, type: 'bench', tenantId: data.bigTenant } })).createUserGroup.id;
    cleanups.push(async () => void (await graphql(http, 'mutation($id: ID!) { deleteUserGroup(id: $id) }', { id: groupId })));
    const ADD = 'mutation($g: ID!, $ids: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $ids) }';
    const REMOVE = 'mutation($g: ID!, $ids: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $ids) }';
    const writes: { name: string; roster: Summary; floor?: Summary; idsPerCall: number; clients: number }[] = [];
    for (const size of [1, 100, 10_000] as const) {
      const calls = sizes.writeCalls[size];
      const clients = size === 10_000 ? 1 : WRITE_CLIENTS;
      // Each client works on its own slice of users, adding then removing it, so calls never overlap.
      const slices = Array.from({ length: clients }, (_, c) => data.bigTenantUsers.slice(c * size, (c + 1) * size));
      // Roster and the floor take turns, in ROUNDS, so a burst of background load hits both alike.
      const timed = { roster: { latencies: [] as number[], ms: 0 }, floor: { latencies: [] as number[], ms: 0 } };
      const measure = async (into: { latencies: number[]; ms: number }, op: (ids: string[], add: boolean) => Promise<unknown>) => {
        const t0 = performance.now();
        await Promise.all(slices.map(async (ids) => {
          // An even number per client per round: every add is undone within the round.
          for (let k = 0; k < Math.max(2, Math.round(calls / clients / ROUNDS / 2) * 2); k++) {
            const s = performance.now();
            await op(ids, k % 2 === 0);
            into.latencies.push(performance.now() - s);
          }
        }));
        into.ms += performance.now() - t0;
      };
      log(`write: add/remove ${size} ids`);
      for (let round = 0; round < ROUNDS; round++) {
        await measure(timed.roster, (ids, add) => graphql(http, add ? ADD : REMOVE, { g: groupId, ids }));
        await measure(timed.floor, (ids, add) => pool.query((add ? addFloor : removeFloor)([data.bigTenant, groupId, ids])));
      }
      const roster = summarize(timed.roster.latencies, timed.roster.ms);
      const floor = summarize(timed.floor.latencies, timed.floor.ms);
      writes.push({ name: `addUsersToUserGroup / removeUsersFromUserGroup, ${fmtInt(size)} id(s) per call`, roster, floor, idsPerCall: size, clients });
      log(`  ${fmtInt(roster.perSec)} calls/s vs floor ${fmtInt(floor.perSec)}`);
    }
    {
      log('write: updateOrCreateUser');
      const UPSERT = 'mutation($ref: String!, $t: UUID!, $u: UserUpsertDto!) { updateOrCreateUser(ref: $ref, tenantId: $t, user: $u) { created user { id } } }';
      const calls = sizes.writeCalls[1];
      const t0 = performance.now();
      const latencies: number[] = [];
      let next = 0;
      await Promise.all(Array.from({ length: WRITE_CLIENTS }, async () => {
        while (next < calls) {
          const i = next++;
          const user = pick(data.sample, i);
          const s = performance.now();
          await graphql(http, UPSERT, { ref: user.reference, t: user.tenantId, u: { firstName: `Bench${i}` } });
          latencies.push(performance.now() - s);
        }
      }));
      writes.push({ name: 'updateOrCreateUser (existing user by ref, changed name)', roster: summarize(latencies, performance.now() - t0), idsPerCall: 1, clients: WRITE_CLIENTS });
    }
    const memoryAfter = memoryMb(roster.pid);

    // --- Report ------------------------------------------------------------------------------------------------
    const machine = machineInfo(pgVersion);
    const lines = [
      `## scale: one million users (${startedAt.toISOString().slice(0, 10)})${workersTag(ctx).heading}`,
      '',
      `Command: \`npm run bench -- scale${ctx.quick ? ' --quick' : ''}${ctx.workers > 1 ? ` --workers ${ctx.workers}` : ''}\` on database \`${dbName}\` made by \`npm run bench:seed -- --users 1000000 --groups 100000 --memberships 10000000 --tenants 100\`` +
        ` (~${fmtInt(data.users)} users, ~${fmtInt(data.memberships)} memberships). Code ${revision}${workersTag(ctx).setup}. ${machine.cpuModel}, ${machine.cpus} cores, ${machine.ramGiB} GiB, Node ${machine.node}, PostgreSQL ${pgVersion} on the same machine; load average ${os.loadavg()[0]?.toFixed(2)} at the end.`,
      '',
      `Reads: ${CLIENTS} clients in a closed loop for ${sizes.peakMs / 1000} s (peak), then an open loop at half that rate for ${sizes.fixedMs / 1000} s, latency timed from when each request was due. Floor: the same SQL through a \`pg\` pool of ${POOL} with ${CLIENTS} callers, no HTTP.`,
      '',
      markdownTable(
        ['Read path', 'Peak req/s', 'p50 / p99 at peak', 'Fixed rate', 'p50 / p99 at fixed rate', 'CPU stolen at fixed rate', 'Roster CPU per request', 'Raw-SQL floor req/s', 'Roster ÷ floor'],
        reads.map((r) => [
          r.name,
          fmtInt(r.peak.perSec),
          `${fmtMs(r.peak.p50Ms)} / ${fmtMs(r.peak.p99Ms)}`,
          `${fmtInt(r.fixed.rate)}/s${r.fixed.dropped ? ` (${r.fixed.dropped} dropped)` : ''}`,
          `${fmtMs(r.fixed.p50Ms)} / ${fmtMs(r.fixed.p99Ms)}`,
          fmtPct(r.fixed.steal),
          fmtMs(r.cpuMsPerRequest),
          r.floor ? fmtInt(r.floor.perSec) : '—',
          r.floor ? fmtPct(r.peak.perSec / r.floor.perSec) : '—',
        ]),
      ),
      '',
      markdownTable(
        ['Write', 'Clients', 'Calls/s', 'Users changed/s', 'p50 / p99', 'Floor calls/s', 'Roster ÷ floor'],
        writes.map((w) => [
          w.name,
          String(w.clients),
          fmtInt(w.roster.perSec),
          fmtInt(w.roster.perSec * w.idsPerCall),
          `${fmtMs(w.roster.p50Ms)} / ${fmtMs(w.roster.p99Ms)}`,
          w.floor ? fmtInt(w.floor.perSec) : '—',
          w.floor ? fmtPct(w.roster.perSec / w.floor.perSec) : '—',
        ]),
      ),
      '',
      markdownTable(
        ['Start-up to the first answer of GET /readyz', 'Runs', 'Median'],
        startups.map((s) => [s.what, s.ms.map((m) => fmtMs(m)).join(', '), fmtMs(median(s.ms))]),
      ),
      '',
    ];
    const notes = [
      'CPU stolen: the share of the machine\'s CPU time that `/proc/stat` counts as steal during the fixed-rate run, time the hypervisor gave to other guests while this machine wanted to run. Every process here stalls then, so late requests bunch up behind it.',
      `Roster RSS: ${fmtInt(memoryBefore.now)} MB after start-up, ${fmtInt(memoryAfter.now)} MB at the end, peak ${fmtInt(memoryAfter.peak)} MB (VmHWM) over the whole run.`,
      `Writes: each client adds its own slice of users to one new group of the biggest tenant and removes it again, alternating; the 10,000-id calls run one at a time. Roster and the floor take turns in ${ROUNDS} rounds. The floor runs the bare INSERT … ON CONFLICT DO NOTHING / DELETE of the same ids; Roster also reads the group, checks every id (existence, tenant) and writes the audit record, in the same statement as the change.`,
      'updateOrCreateUser has no single-statement floor: it is a lookup by reference plus a versioned update and its audit record in one transaction.',
    ];
    await publishSection(suite, ctx, roster.output(), lines, notes);
  } finally {
    await suite.finish();
  }
}
