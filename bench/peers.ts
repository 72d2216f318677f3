/**
 * `npm run bench -- peers`: Roster beside Better Auth (`better-auth` with its `organization` and `admin` plugins) in one
 * run, on the same PostgreSQL server, through the same load generator: create a user, add a member to a group /
 * organization, list the first page of a 1,000-member group / organization, look a user up by id. Each server runs in
 * its own child process on its own scratch database; the two sides' time slices are interleaved (rotating which goes
 * first) so background load hits both. Better Auth's server is `bench/peers/better-auth-server.ts`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import pg from 'pg';
import { HttpClient, graphql, seedUsers, type HttpResponse } from './lib/http.ts';
import { createScratchDatabase } from './lib/postgres.ts';
import { CpuMeter, freePort, startChildServer } from './lib/processes.ts';
import { machineInfo, markdownTable } from './lib/report.ts';
import { fmtInt, fmtMs, fmtPct, median, prng, runClosedLoop, summarize, type RunResult, type Summary } from './lib/stats.ts';
import { publishSection, SuiteRun, startRoster, workersTag } from './lib/suite.ts';
import { cpuBetween, databaseCpu } from './peers/backends.ts';
import type { SuiteContext } from './run.ts';

// ---------------------------------------------------------------------------------------------------------------
// Sizes

interface Sizes {
  /** Users seeded on each side before anything is measured. */
  readonly users: number;
  /** Of those, how many are members of the large group / organization that the list reads. */
  readonly members: number;
  /** Interleaved rounds; in each, every target of an operation runs one slice of `sliceMs`. */
  readonly rounds: number;
  readonly sliceMs: number;
  /** Unmeasured run of each target before its operation is measured, at the highest concurrency. */
  readonly warmupMs: number;
}

const FULL: Sizes = { users: 2_000, members: 1_000, rounds: 4, sliceMs: 1_500, warmupMs: 1_000 };
const QUICK: Sizes = { users: 500, members: 250, rounds: 1, sliceMs: 600, warmupMs: 300 };

const CONCURRENCY = [1, 16] as const;
const MAX_CONCURRENCY = 16;
const PAGE = 100;
const SEED_CONCURRENCY = 8;
const SEED_BATCH = 100;
const TARGET_RATIO = 10;
const DEADLINE_MS = 8 * 60_000;
const BA_SERVER = 'bench/peers/better-auth-server.ts';

// ---------------------------------------------------------------------------------------------------------------
// Roster's documents

const CREATE_GROUP = 'mutation($g: UserGroupCreateDto!){ createUserGroup(userGroup:$g){ id tenantId } }';
const CREATE_USER = 'mutation($u: UserCreateDto!){ createUser(user:$u){ id email createdAt } }';
const ADD_USERS = 'mutation($g: ID!, $ids: [ID!]!){ addUsersToUserGroup(userGroupId:$g, userIds:$ids) }';
const LIST_MEMBERS = `query($g: ID!, $first: Int){ userGroupMembers(groupId:$g, first:$first){
  edges { addedAt node { id email firstName lastName } } pageInfo { endCursor hasNextPage } } }`;
const GET_USER = 'query($id: ID!){ user(id:$id){ id reference email firstName lastName active createdAt updatedAt } }';

// ---------------------------------------------------------------------------------------------------------------
// Measurement

type Side = 'roster' | 'betterAuth';
const SIDE_NAME: Record<Side, string> = { roster: 'Roster', betterAuth: 'Better Auth' };

interface Target {
  readonly side: Side;
  /** The call, as shown in the table */
  readonly via: string;
  readonly call: (worker: number) => Promise<void>;
  /** False when the target has nothing left to do (its pool of users ran dry): the slice ends there. */
  readonly available?: () => boolean;
  /** Warm up with 3 sequential calls only (a call that takes a core for a third of a second: password hashing). */
  readonly lightWarmup?: boolean;
}

interface Slice {
  readonly run: RunResult;
  readonly serverCpuMs: number;
  readonly postgresCpuMs: number;
  /** CPU the load generator (this process) used during the slice */
  readonly benchCpuMs: number;
  /** Whole-machine busy share (all cores) during the slice */
  readonly machine: number;
  readonly ranDry: boolean;
}

interface Measured {
  readonly target: Target;
  readonly s: Summary;
  readonly serverCpuPerReq: number;
  readonly postgresCpuPerReq: number;
  /** Cores busy with everything but this side's server, its PostgreSQL backends and the load generator, on average */
  readonly otherCores: number;
  /** Requests per second of each slice, in round order */
  readonly sliceRates: number[];
  readonly ranDry: boolean;
}

interface Operation {
  readonly id: string;
  readonly title: string;
  readonly targets: readonly Target[];
  /** The Roster and the Better Auth target the summary compares (indexes into `targets`). */
  readonly pair: readonly [number, number];
  readonly results: Map<number, Measured[]>;
}

/** A closed loop of `concurrency` workers until `ms` have passed or the target has nothing left to do. */
async function timedLoop(ms: number, concurrency: number, target: Target): Promise<{ run: RunResult; ranDry: boolean }> {
  const latencies: number[] = [];
  let ranDry = false;
  const started = performance.now();
  const deadline = started + ms;
  const loop = async (worker: number) => {
    while (performance.now() < deadline) {
      if (target.available && !target.available()) {
        ranDry = true;
        return;
      }
      const t0 = performance.now();
      await target.call(worker);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => loop(w)));
  return { run: { totalMs: performance.now() - started, latencies }, ranDry };
}

function aggregate(target: Target, slices: readonly Slice[], cpus: number): Measured {
  const wall = slices.reduce((a, b) => a + b.run.totalMs, 0);
  const s = summarize(
    slices.flatMap((b) => b.run.latencies),
    wall,
  );
  return {
    target,
    s,
    serverCpuPerReq: slices.reduce((a, b) => a + b.serverCpuMs, 0) / s.count,
    postgresCpuPerReq: slices.reduce((a, b) => a + b.postgresCpuMs, 0) / s.count,
    otherCores: slices.reduce((a, b) => a + b.machine * cpus * b.run.totalMs - b.serverCpuMs - b.postgresCpuMs - b.benchCpuMs, 0) / wall,
    sliceRates: slices.map((b) => b.run.latencies.length / (b.run.totalMs / 1000)),
    ranDry: slices.some((b) => b.ranDry),
  };
}

/** Users a write may take, each once: the add-member calls need users that are not members yet. */
class UserPool {
  readonly #ids: string[] = [];
  #next = 0;
  push(...ids: string[]): void {
    this.#ids.push(...ids);
  }
  available(): boolean {
    return this.#next < this.#ids.length;
  }
  take(): string {
    const id = this.#ids[this.#next++];
    if (id === undefined) throw new Error('user pool ran dry');
    return id;
  }
  get used(): number {
    return this.#next;
  }
  get size(): number {
    return this.#ids.length;
  }
}

function expectStatus(res: HttpResponse, what: string): unknown {
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
  return JSON.parse(res.body) as unknown;
}

/** The `name=value` pair of Better Auth's session cookie from a response's Set-Cookie headers. */
function sessionCookie(setCookies: readonly string[]): string {
  const cookie = setCookies.map((c) => c.split(';', 1)[0]!).find((c) => c.startsWith('better-auth.session_token='));
  if (!cookie) throw new Error(`no better-auth.session_token in Set-Cookie: ${setCookies.join(' | ')}`);
  return cookie;
}

function packageVersion(repoRoot: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const fmtUs = (ms: number): string => (Number.isFinite(ms) ? `${Math.round(ms * 1000).toLocaleString('en-US')} µs` : 'n/a');
const fmtRatio = (r: number): string => (Number.isFinite(r) ? `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×` : 'n/a');
const lat = (s: Summary) => `${fmtMs(s.p50Ms)} / ${fmtMs(s.p99Ms)}`;
const cpuPair = (m: Measured) => `${fmtUs(m.serverCpuPerReq)} + ${fmtUs(m.postgresCpuPerReq)}`;

const SUMMARY_HEADER = [
  '#',
  'Operation',
  'Clients',
  'Roster req/s',
  'Better Auth req/s',
  'Roster ÷ Better Auth',
  'Per round: median (range)',
  'Roster p50 / p99',
  'Better Auth p50 / p99',
  'CPU / req, Roster: server + PostgreSQL',
  'CPU / req, Better Auth: server + PostgreSQL',
  'CPU / req: Better Auth ÷ Roster',
  `Throughput ≥ ${TARGET_RATIO}×`,
];

const DETAIL_HEADER = ['#', 'Clients', 'Side', 'Call', 'req/s', 'p50 / p99', 'Server CPU / req', 'PostgreSQL CPU / req', 'Other load (cores)', 'Roster ÷ Better Auth'];

// ---------------------------------------------------------------------------------------------------------------

export async function run(ctx: SuiteContext): Promise<void> {
  const sizes = ctx.quick ? QUICK : FULL;
  const suite = new SuiteRun('peers', DEADLINE_MS);
  const { log, cleanups, startedAt } = suite;

  try {
    // --- Roster ------------------------------------------------------------------------------------------------
    const { background, loadAverage, revision, apiKey, scratch, roster } = await startRoster(suite, ctx);
    const rosterSql = new pg.Client({ connectionString: scratch.url });
    await rosterSql.connect();
    cleanups.push(() => rosterSql.end());
    const pgVersion = (await rosterSql.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;

    // --- Better Auth: its own scratch database, its own migration, its own process ---------------------------------
    const baScratch = await createScratchDatabase('roster_bench_ba');
    cleanups.push(async () => {
      if (ctx.keepDatabase) process.stderr.write(`kept database ${baScratch.url} (--keep-db): drop it when done\n`);
      else await baScratch.drop();
    });
    log(`created database ${baScratch.name} for Better Auth`);
    const baSecret = randomBytes(32).toString('base64url');
    const baEnv = { DATABASE_URL: baScratch.url, BETTER_AUTH_SECRET: baSecret, NODE_ENV: 'production', HOST: '127.0.0.1' };
    const migrated = await promisify(execFile)(process.execPath, ['--import', 'tsx', BA_SERVER, '--migrate'], {
      cwd: ctx.repoRoot,
      env: { ...process.env, ...baEnv },
    });
    const migration = JSON.parse(migrated.stdout.trim().split('\n').at(-1) ?? '{}') as { created?: string[]; added?: string[] };
    log(`Better Auth migration created tables: ${(migration.created ?? []).join(', ')}`);
    const baPort = await freePort();
    const betterAuth = await startChildServer({
      name: 'Better Auth',
      args: ['--import', 'tsx', BA_SERVER],
      cwd: ctx.repoRoot,
      env: { ...baEnv, PORT: String(baPort) },
      port: baPort,
      readyPath: '/api/auth/ok',
    });
    cleanups.push(() => betterAuth.stop());
    log(`Better Auth ready at ${betterAuth.baseUrl} (pid ${betterAuth.pid})`);
    const baSql = new pg.Client({ connectionString: baScratch.url });
    await baSql.connect();
    cleanups.push(() => baSql.end());
    const benchBackends = new Set<number>();
    for (const c of [rosterSql, baSql]) benchBackends.add((await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);

    const settle = async () => {
      await rosterSql.query('vacuum analyze users');
      await rosterSql.query('vacuum analyze user_group_members');
      await baSql.query('vacuum analyze "user"');
      await baSql.query('vacuum analyze member');
      await baSql.query('vacuum analyze session');
      await rosterSql.query('checkpoint');
    };

    const runTag = randomBytes(3).toString('hex');
    const rosterApi = new HttpClient(roster.baseUrl, { connections: MAX_CONCURRENCY, headers: { authorization: `Bearer ${apiKey}` } });
    cleanups.push(async () => rosterApi.close());

    // Better Auth's first admin, as its docs describe: sign up, then set `role = 'admin'` in the database.
    const adminEmail = `admin-${runTag}@bench.example`;
    const signUp = await fetch(`${betterAuth.baseUrl}/api/auth/sign-up/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: betterAuth.baseUrl },
      body: JSON.stringify({ email: adminEmail, password: `pw-${randomBytes(12).toString('base64url')}`, name: 'Bench Admin' }),
    });
    const signUpBody = (await signUp.json()) as { user?: { id?: string } };
    if (signUp.status !== 200 || !signUpBody.user?.id) throw new Error(`Better Auth sign-up: HTTP ${signUp.status}: ${JSON.stringify(signUpBody)}`);
    const adminCookie = sessionCookie(signUp.headers.getSetCookie());
    await baSql.query(`update "user" set role = 'admin' where id = $1`, [signUpBody.user.id]);
    // The session cookie, as a browser or a server-side app holding the admin's session sends it; Origin is required
    // on cookie-authenticated POSTs (Better Auth's CSRF check) and is sent on every request, as a browser does.
    const baApi = new HttpClient(betterAuth.baseUrl, { connections: MAX_CONCURRENCY, headers: { cookie: adminCookie, origin: betterAuth.baseUrl } });
    cleanups.push(async () => baApi.close());
    const baPost = async <T>(p: string, body: unknown) => expectStatus(await baApi.request('POST', p, JSON.stringify(body)), `POST ${p}`) as T;
    const baGet = async <T>(p: string) => expectStatus(await baApi.request('GET', p), `GET ${p}`) as T;

    // --- Seed both sides with the same shape ------------------------------------------------------------------------
    log(`seeding ${fmtInt(sizes.users)} users on each side, ${fmtInt(sizes.members)} of them in one group / organization`);
    const rosterBig = (await graphql<{ createUserGroup: { id: string; tenantId: string } }>(rosterApi, CREATE_GROUP, { g: { name: `peers big ${runTag}`, reference: `peers-big-${runTag}` } }))
      .createUserGroup;
    const rosterAddGroup = (await graphql<{ createUserGroup: { id: string } }>(rosterApi, CREATE_GROUP, { g: { name: `peers add ${runTag}`, reference: `peers-add-${runTag}` } }))
      .createUserGroup.id;
    const companyId = rosterBig.tenantId;
    const rosterUsers = (await seedUsers(rosterApi, sizes.users, (i) => {
      const reference = `peers-${runTag}-${i}`;
      return { reference, email: `${reference}@bench.example`, firstName: 'Seed', lastName: `User ${i}` };
    }, SEED_BATCH)).map((u) => u.id);
    await graphql(rosterApi, ADD_USERS, { g: rosterBig.id, ids: rosterUsers.slice(0, sizes.members) });

    const baBig = await baPost<{ id: string }>('/api/auth/organization/create', { name: `peers big ${runTag}`, slug: `peers-big-${runTag}` });
    const baAddOrg = await baPost<{ id: string }>('/api/auth/organization/create', { name: `peers add ${runTag}`, slug: `peers-add-${runTag}` });
    const baUsers: string[] = new Array<string>(sizes.users);
    await runClosedLoop(sizes.users, SEED_CONCURRENCY, async (i) => {
      const email = `peers-${runTag}-${i}@bench.example`;
      baUsers[i] = (await baPost<{ user: { id: string } }>('/api/auth/admin/create-user', { email, name: `Seed User ${i}` })).user.id;
    });
    await runClosedLoop(sizes.members, SEED_CONCURRENCY, async (i) => {
      await baPost('/app/organization/add-member', { organizationId: baBig.id, userId: baUsers[i]!, role: 'member' });
    });
    await settle();
    log(`seeded: Roster group ${rosterBig.id}, Better Auth organization ${baBig.id}`);

    // --- The operations ---------------------------------------------------------------------------------------------
    const operations: Operation[] = [];
    const notes: string[] = [];

    // 1. Create a user
    let rosterCreated = 0;
    let baCreated = 0;
    const rosterPool = new UserPool();
    const baPool = new UserPool();
    rosterPool.push(...rosterUsers);
    baPool.push(...baUsers);
    operations.push({
      id: '1',
      title: 'Create a user',
      targets: [
        {
          side: 'roster',
          via: 'GraphQL `createUser(user: { reference, email, firstName, lastName }) { id email createdAt }`',
          call: async () => {
            const i = rosterCreated++;
            const reference = `peers-c-${runTag}-${i}`;
            const data = await graphql<{ createUser: { id: string } }>(rosterApi, CREATE_USER, {
              u: { reference, email: `${reference}@bench.example`, firstName: 'Created', lastName: `User ${i}` },
            });
            if (!data.createUser.id) throw new Error('createUser returned no id');
            rosterPool.push(data.createUser.id);
          },
        },
        {
          side: 'betterAuth',
          via: '`POST /api/auth/admin/create-user { email, name }` (admin plugin, no password)',
          call: async () => {
            const i = baCreated++;
            const body = await baPost<{ user: { id: string } }>('/api/auth/admin/create-user', { email: `peers-c-${runTag}-${i}@bench.example`, name: `Created User ${i}` });
            if (!body.user.id) throw new Error('create-user returned no id');
            baPool.push(body.user.id);
          },
        },
        {
          side: 'betterAuth',
          via: '`POST /api/auth/admin/create-user { email, name, password }` (hashes the password: scrypt)',
          lightWarmup: true,
          call: async () => {
            const i = baCreated++;
            const body = await baPost<{ user: { id: string } }>('/api/auth/admin/create-user', {
              email: `peers-c-${runTag}-${i}@bench.example`,
              name: `Created User ${i}`,
              password: `pw-${runTag}-${i}-long-enough`,
            });
            if (!body.user.id) throw new Error('create-user returned no id');
            baPool.push(body.user.id);
          },
        },
      ],
      pair: [0, 1],
      results: new Map(),
    });

    // 2. Add a member
    operations.push({
      id: '2',
      title: 'Add a member (a user not yet in it) to a group / organization',
      targets: [
        {
          side: 'roster',
          via: 'GraphQL `addUsersToUserGroup(userGroupId, userIds: [id])`',
          available: () => rosterPool.available(),
          call: async () => {
            const data = await graphql<{ addUsersToUserGroup: boolean }>(rosterApi, ADD_USERS, { g: rosterAddGroup, ids: [rosterPool.take()] });
            if (data.addUsersToUserGroup !== true) throw new Error('addUsersToUserGroup did not return true');
          },
        },
        {
          side: 'betterAuth',
          via: '`POST /app/organization/add-member { organizationId, userId, role }`: the app’s route, admin session check, then `auth.api.addMember`',
          available: () => baPool.available(),
          call: async () => {
            const userId = baPool.take();
            const member = await baPost<{ userId: string }>('/app/organization/add-member', { organizationId: baAddOrg.id, userId, role: 'member' });
            if (member.userId !== userId) throw new Error(`add-member answered for ${member.userId}, not ${userId}`);
          },
        },
      ],
      pair: [0, 1],
      results: new Map(),
    });

    // 3. List the first page of members
    operations.push({
      id: '3',
      title: `List members: first page of ${PAGE} of a ${fmtInt(sizes.members)}-member group / organization`,
      targets: [
        {
          side: 'roster',
          via: `GraphQL \`userGroupMembers(groupId, first: ${PAGE}) { edges { addedAt node { id email firstName lastName } } pageInfo }\``,
          call: async () => {
            const data = await graphql<{ userGroupMembers: { edges: unknown[] } }>(rosterApi, LIST_MEMBERS, { g: rosterBig.id, first: PAGE });
            if (data.userGroupMembers.edges.length !== PAGE) throw new Error(`userGroupMembers: ${data.userGroupMembers.edges.length} edges`);
          },
        },
        {
          side: 'roster',
          via: `REST \`POST /v3/companies/{id}/user-groups/{id}/members { pagination: { offset: 0, limit: ${PAGE} } }\` (user ids, added-at, total)`,
          call: async () => {
            const body = expectStatus(
              await rosterApi.request('POST', `/v3/companies/${companyId}/user-groups/${rosterBig.id}/members`, JSON.stringify({ pagination: { offset: 0, limit: PAGE } })),
              'REST members',
            ) as { members: unknown[]; pagination: { totalNumResults: number } };
            if (body.members.length !== PAGE || body.pagination.totalNumResults !== sizes.members) {
              throw new Error(`REST members: ${body.members.length} members, total ${body.pagination.totalNumResults}`);
            }
          },
        },
        {
          side: 'betterAuth',
          via: `\`GET /api/auth/organization/list-members?organizationId&limit=${PAGE}\` (members with user, total)`,
          call: async () => {
            const body = await baGet<{ members: unknown[]; total: number }>(`/api/auth/organization/list-members?organizationId=${baBig.id}&limit=${PAGE}`);
            // The organization also holds its creator (the admin, as owner).
            if (body.members.length !== PAGE || body.total !== sizes.members + 1) throw new Error(`list-members: ${body.members.length} members, total ${body.total}`);
          },
        },
      ],
      pair: [0, 2],
      results: new Map(),
    });

    // 4. Look a user up by id
    const rosterPick = prng(20_261_201);
    const baPick = prng(20_261_201);
    operations.push({
      id: '4',
      title: `Look up a user by id (uniformly among the ${fmtInt(sizes.users)} seeded)`,
      targets: [
        {
          side: 'roster',
          via: 'GraphQL `user(id) { id reference email firstName lastName active createdAt updatedAt }`',
          call: async () => {
            const id = rosterUsers[Math.floor(rosterPick() * rosterUsers.length)]!;
            const data = await graphql<{ user: { id: string } }>(rosterApi, GET_USER, { id });
            if (data.user.id !== id) throw new Error(`user(${id}) answered ${data.user.id}`);
          },
        },
        {
          side: 'betterAuth',
          via: '`GET /api/auth/admin/get-user?id` (admin plugin; the whole user: 11 fields)',
          call: async () => {
            const id = baUsers[Math.floor(baPick() * baUsers.length)]!;
            const body = await baGet<{ id: string }>(`/api/auth/admin/get-user?id=${id}`);
            if (body.id !== id) throw new Error(`get-user ${id} answered ${body.id}`);
          },
        },
      ],
      pair: [0, 1],
      results: new Map(),
    });

    // --- Measure ------------------------------------------------------------------------------------------------------
    const meter = new CpuMeter(() => ({ roster: roster.pid, betterAuth: betterAuth.pid }));
    const databases: Record<Side, string> = { roster: scratch.name, betterAuth: baScratch.name };
    // A full collection before each slice, outside it, so no slice pays for the load generator's garbage of another.
    v8.setFlagsFromString('--expose-gc');
    const collectGarbage = vm.runInNewContext('gc') as () => void;
    const cpus = machineInfo(pgVersion).cpus;
    const runSlice = async (target: Target, concurrency: number, ms: number): Promise<Slice> => {
      collectGarbage();
      const pgBefore = databaseCpu(databases[target.side], benchBackends);
      meter.start();
      const { run: result, ranDry } = await timedLoop(ms, concurrency, target);
      const cpu = meter.stop();
      const postgresCpuMs = cpuBetween(pgBefore, databaseCpu(databases[target.side], benchBackends));
      return {
        run: result,
        serverCpuMs: (cpu.cores[target.side] ?? Number.NaN) * cpu.wallMs,
        postgresCpuMs,
        benchCpuMs: (cpu.cores.bench ?? Number.NaN) * cpu.wallMs,
        machine: cpu.machine,
        ranDry,
      };
    };
    // Reads first, on the seeded data as it is; then the writes (the users created in 1 feed the pools of 2).
    const order = ['3', '4', '1', '2'];
    for (const id of order) {
      const op = operations.find((o) => o.id === id)!;
      await settle();
      log(`${op.id}. ${op.title}: warm-up`);
      for (const t of op.targets) {
        for (let i = 0; i < (t.lightWarmup ? 3 : 20); i++) await t.call(0);
        if (!t.lightWarmup) await timedLoop(sizes.warmupMs, MAX_CONCURRENCY, t);
      }
      for (const concurrency of CONCURRENCY) {
        log(`${op.id}. ${op.title}: ${concurrency} client(s), ${sizes.rounds} round(s) × ${fmtInt(sizes.sliceMs)} ms per target, interleaved`);
        const slices: Slice[][] = op.targets.map(() => []);
        for (let r = 0; r < sizes.rounds; r++) {
          for (let k = 0; k < op.targets.length; k++) {
            const t = (r + k) % op.targets.length;
            slices[t]!.push(await runSlice(op.targets[t]!, concurrency, sizes.sliceMs));
          }
        }
        op.results.set(
          concurrency,
          op.targets.map((t, i) => aggregate(t, slices[i]!, cpus)),
        );
      }
    }

    // --- Checks after the writes: every acknowledged member is there ------------------------------------------------
    const rosterAdded = (await rosterSql.query<{ n: number }>('select count(*)::int as n from user_group_members where group_id = $1', [rosterAddGroup])).rows[0]!.n;
    const baAdded = (await baSql.query<{ n: number }>('select count(*)::int as n from member where "organizationId" = $1', [baAddOrg.id])).rows[0]!.n;
    // The add organization also holds its creator (owner).
    if (rosterAdded !== rosterPool.used || baAdded !== baPool.used + 1) {
      throw new Error(`members after the writes: Roster ${rosterAdded} (expected ${rosterPool.used}), Better Auth ${baAdded} (expected ${baPool.used + 1})`);
    }

    // --- Report ---------------------------------------------------------------------------------------------------------
    const summaryRows: string[][] = [];
    const detailRows: string[][] = [];
    for (const op of operations) {
      for (const concurrency of CONCURRENCY) {
        const measured = op.results.get(concurrency)!;
        const r = measured[op.pair[0]]!;
        const b = measured[op.pair[1]]!;
        const ratio = r.s.perSec / b.s.perSec;
        const perRound = r.sliceRates.map((rate, i) => rate / (b.sliceRates[i] ?? Number.NaN));
        summaryRows.push([
          op.id,
          op.title,
          String(concurrency),
          fmtInt(r.s.perSec),
          fmtInt(b.s.perSec),
          fmtRatio(ratio),
          perRound.length > 1 ? `${fmtRatio(median(perRound))} (${fmtRatio(Math.min(...perRound))}–${fmtRatio(Math.max(...perRound))})` : '—',
          lat(r.s),
          lat(b.s),
          cpuPair(r),
          cpuPair(b),
          fmtRatio((b.serverCpuPerReq + b.postgresCpuPerReq) / (r.serverCpuPerReq + r.postgresCpuPerReq)),
          ratio >= TARGET_RATIO ? 'yes' : 'no',
        ]);
        for (const m of measured) {
          const counterpart = m.target.side === 'roster' ? b : r;
          detailRows.push([
            op.id,
            String(concurrency),
            SIDE_NAME[m.target.side],
            m.target.via + (m.ranDry ? ' — ran out of fresh users in a slice' : ''),
            fmtInt(m.s.perSec),
            lat(m.s),
            fmtUs(m.serverCpuPerReq),
            fmtUs(m.postgresCpuPerReq),
            Number.isFinite(m.otherCores) ? Math.max(0, m.otherCores).toFixed(2) : 'n/a',
            m.target.side === 'roster' ? fmtRatio(m.s.perSec / counterpart.s.perSec) : fmtRatio(counterpart.s.perSec / m.s.perSec),
          ]);
        }
      }
    }

    const rosterCounts = (
      await rosterSql.query<{ users: number; members: number }>(
        'select (select count(*)::int from users) as users, (select count(*)::int from user_group_members) as members',
      )
    ).rows[0]!;
    const baCounts = (
      await baSql.query<{ users: number; members: number; sessions: number; accounts: number }>(
        `select (select count(*)::int from "user") as users, (select count(*)::int from member) as members,
                (select count(*)::int from session) as sessions, (select count(*)::int from account) as accounts`,
      )
    ).rows[0]!;
    const baVersion = packageVersion(ctx.repoRoot, 'better-auth');
    const baWarnings = betterAuth
      .output()
      .split('\n')
      .filter((l) => l.trim()).length;
    notes.push(
      `Per call, Roster (API key as \`Authorization: Bearer\`, matched in memory; in-memory rate limit counter; metrics): ` +
        `(1) \`createUser\`: validation, then one statement inserting the user and its audit record (a data-modifying CTE), no transaction; ` +
        `(2) \`addUsersToUserGroup\`: one statement (no transaction) that reads the group, joins the ids to the tenant's users, inserts the membership and writes its audit record (a data-modifying CTE; before 2e7e9af the group was read in a round trip of its own); ` +
        `(3) \`userGroupMembers\`: one keyset statement over the membership index joined to users (no count); the REST list: the page statement and a \`count(*)\`; ` +
        `(4) \`user(id)\`: one select by id.`,
      `Per call, Better Auth ${baVersion} (session cookie of an admin user; the session and its user are read from the database on every ` +
        `request, one query joining the session to its user: no cookie cache, its default, and the admin endpoints bypass that cache anyway): (1) \`admin/create-user\`: ` +
        `session, a lookup of the email, then a transaction inserting the user (no password: no \`account\` row, no hashing; with ` +
        `a password: scrypt through node:crypto and an \`account\` row); (2) the app's route: \`getSession\`, then \`addMember\`: finds the user, ` +
        `looks up a membership by the user's email (user, then member), counts the organization's members (for \`membershipLimit\`), reads ` +
        `the organization, inserts the member; (3) \`list-members\`: session, checks the caller is a member, then the page of members, ` +
        `their count, and their users (\`id in (...)\`); (4) \`admin/get-user\`: session, permission check, one select by id.`,
      `Better Auth set-up: \`betterAuth({ database: new pg.Pool({ max: 10 }), emailAndPassword: { enabled: true }, plugins: [admin(), ` +
        `organization({ membershipLimit: 10_000_000 })], rateLimit: { enabled: true, storage: 'memory', window: 60, max: 1e9 }, ` +
        `telemetry: { enabled: false } })\` behind \`toNodeHandler\` in a plain \`node:http\` server (\`${BA_SERVER}\`), NODE_ENV=production, ` +
        `started with tsx like Roster. Its schema comes from its own migration (\`getMigrations(options).runMigrations()\`): created ` +
        `${(migration.created ?? []).join(', ')}. The admin signed up through \`/api/auth/sign-up/email\` and was made admin with ` +
        `\`update "user" set role = 'admin'\`, as Better Auth's docs say for the first admin. \`addMember\` has no HTTP endpoint (over HTTP ` +
        `Better Auth offers invite + accept), so the bench server wraps it in one route, as an application would. The membership limit ` +
        `(default 100) was raised so the seeding fits; the rate limiter (default 100 requests per 10 s in production) was kept on with a ` +
        `ceiling no run reaches, as Roster's (600,000 a minute per key) is. Better Auth wrote ${baWarnings} line(s) of output (its ` +
        `rate limiter warns once that it found no client IP header and uses one shared bucket).`,
      `Create a user: every Better Auth path that gives a user a password hashes it (scrypt); admin \`create-user\` without a password ` +
        `does not, and is the path compared (Roster stores no passwords). The password variant is shown in the details for reference. ` +
        `Users created in operation 1 (and the seeded ones) feed operation 2, each added once.`,
      `End state: Roster ${fmtInt(rosterCounts.users)} users, ${fmtInt(rosterCounts.members)} memberships (${fmtInt(rosterAdded)} added ` +
        `in operation 2); Better Auth ${fmtInt(baCounts.users)} users, ${fmtInt(baCounts.members)} memberships (${fmtInt(baAdded - 1)} added ` +
        `in operation 2), ${fmtInt(baCounts.sessions)} session(s), ${fmtInt(baCounts.accounts)} credential account(s).`,
    );

    const machine = machineInfo(pgVersion);
    const elapsed = suite.elapsedSeconds();
    const section = [
      `## peers — ${startedAt.toISOString().slice(0, 10)}${workersTag(ctx).heading}${ctx.quick ? ' (quick)' : ''}`,
      '',
      `\`npm run bench -- peers\`: Roster beside Better Auth ${baVersion} (organization and admin plugins) in one run. Run at ` +
        `${startedAt.toISOString()}, ${elapsed.toFixed(0)} s. Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.ramGiB} GiB RAM, ` +
        `${machine.os}; Node ${machine.node}; PostgreSQL ${machine.postgres} on 127.0.0.1 (same machine), one scratch database per side. ` +
        `Roster at ${revision}: NODE_ENV=production, LOG_LEVEL=warn, pg pool 10${workersTag(ctx).setup}, started as in \`core\`. Better Auth: NODE_ENV=production, ` +
        `pg pool 10 (set-up in the notes). Background load just before the run: ${fmtPct(background)} of all CPUs busy, 1-min load ` +
        `average ${loadAverage.toFixed(2)}.`,
      '',
      `Dataset, the same shape on each side: ${fmtInt(sizes.users)} users created through the server's own API, ${fmtInt(sizes.members)} ` +
        `of them in one group / organization (Better Auth's organization also holds its creator, the admin, as owner). Method: one load ` +
        `generator (this process, \`node:http\` keep-alive, one connection per client) calls both servers over HTTP on 127.0.0.1 at 1 and ` +
        `${MAX_CONCURRENCY} concurrent clients in a closed loop. Each operation's targets are warmed up (20 sequential calls, then ` +
        `${fmtInt(sizes.warmupMs)} ms at ${MAX_CONCURRENCY} clients), then measured in ${sizes.rounds} round(s) of one ${fmtInt(sizes.sliceMs)} ms ` +
        `slice per target, interleaved (the first target rotating each round) so background load hits both sides; throughput pools the ` +
        `slices, "per round" is the ratio within each round. Every answer is checked (status, ids, page size, totals). CPU per request: ` +
        `the server process from /proc, and the PostgreSQL backends of that side's database (told apart by database name). Load ` +
        `generator, servers and PostgreSQL share ${machine.cpus} cores, so these are whole-system figures on this machine; CPU per ` +
        `request (server + PostgreSQL) depends less on what else runs than throughput does. "Other load" ` +
        `is the machine's busy time during a target's slices minus that side's server, its PostgreSQL backends and the load ` +
        `generator, in cores: other work on the machine (and PostgreSQL's shared background processes) competing with it.`,
      '',
      markdownTable(SUMMARY_HEADER, summaryRows),
      '',
      'Every target measured (the summary compares the first Roster and the first Better Auth call of each operation):',
      '',
      markdownTable(DETAIL_HEADER, detailRows),
      '',
    ];
    await publishSection(suite, ctx, roster.output(), section, notes);
  } finally {
    await suite.finish();
  }
}
