/**
 * `npm run bench -- sdk`: what a client library costs over raw HTTP, against one Roster. Three calls — a lookup by
 * reference as the super-admin, a membership write, and a read with a user token — each through a raw `fetch` of
 * the same document and through `@roster/client` (and the old `@roq/nodejs@1.0.13` where it applies), at 1 and at
 * 16 concurrent clients. The targets of a call run interleaved in time slices (raw, new SDK, old SDK, then rotated)
 * so they share the background load; the bench process is the client, so its own CPU per request is measured too.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import pg from 'pg';
import { Platform } from '@roq/nodejs';
// @roster/client from its source, as the SDK's own tests import it: dist/ is a build output (gitignored, not built by
// CI before the typecheck, rebuilt by whoever runs `npm run build:sdk`), and the source is the code under review.
import { RosterClient, graphqlOperations } from '../packages/sdk/src/index.ts';
import { HttpClient, graphql, seedUsers } from './lib/http.ts';
import { ROSTER_SESSION } from './lib/postgres.ts';
import { CpuMeter, combineCpu, pidsByCommand, processCpuMs, type CpuSample } from './lib/processes.ts';
import { machineInfo, markdownTable } from './lib/report.ts';
import { fmtInt, fmtMs, fmtPct, median, prng, runClosedLoop, runForDuration, summarize, type RunResult, type Summary } from './lib/stats.ts';
import type { SuiteContext } from './run.ts';
import { publishSection, SuiteRun, startRoster, workersTag } from './lib/suite.ts';

// ---------------------------------------------------------------------------------------------------------------
// Sizes

interface Sizes {
  /** Users created (GraphQL, aliased createUser mutations) before anything is measured. */
  readonly users: number;
  /** Interleaved time slices per target, and the length of each: a target runs `blocks × blockMs` in all. */
  readonly blocks: number;
  readonly blockMs: number;
  /** Unmeasured run of each target before its call's measurement, at 16 clients. */
  readonly warmupMs: number;
  /** Users whose tokens the user-token read rotates over (the server limits each user to 1,200 requests a minute). */
  readonly tokenUsers: number;
  /** Fresh users for the first-call (cold token cache) timing. */
  readonly coldUsers: number;
}

const FULL: Sizes = { users: 4_000, blocks: 10, blockMs: 500, warmupMs: 1_000, tokenUsers: 500, coldUsers: 40 };
const QUICK: Sizes = { users: 2_000, blocks: 2, blockMs: 500, warmupMs: 300, tokenUsers: 100, coldUsers: 10 };

const CONCURRENCY = [1, 16] as const;
const MAX_CONCURRENCY = 16;
/** Ids per membership write; each of the 16 clients owns its own slice, so writes never contend on the same rows. */
const WRITE_IDS = 100;
const SEED_BATCH = 100;
const DEADLINE_MS = 8 * 60_000;

const CREATE_GROUP = 'mutation($g: UserGroupCreateDto!){ createUserGroup(userGroup:$g){ id } }';

// ---------------------------------------------------------------------------------------------------------------
// Measurement

interface Target {
  /** Shown in the table */
  readonly via: string;
  readonly call: (index: number, worker: number) => Promise<void>;
}

interface Block {
  readonly run: RunResult;
  /** CPU the bench process (the client) used during the block, user + system, all threads */
  readonly clientCpuMs: number;
  /** CPU all PostgreSQL processes used during the block */
  readonly postgresCpuMs: number;
  readonly cpu: CpuSample;
}

/** CPU used so far by each PostgreSQL process (postmaster, backends, background workers), ms by pid. */
function postgresCpu(): Map<number, number> {
  return new Map(pidsByCommand('postgres').map((pid) => [pid, processCpuMs(pid)]));
}

/**
 * CPU the PostgreSQL processes used between two readings. A process seen only in the second began in between (Roster's
 * pool opens connections on demand and closes idle ones), so all its CPU counts; one that exited in between is lost.
 */
function postgresCpuBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) {
    const used = ms - (before.get(pid) ?? 0);
    if (Number.isFinite(used)) total += used;
  }
  return total;
}

interface Measured {
  readonly via: string;
  readonly s: Summary;
  readonly clientCpuPerReq: number;
  readonly rosterCpuPerReq: number;
  /** Shares of one core over the slices: Roster, all PostgreSQL processes, the client, everything else */
  readonly shares: { roster: number; postgres: number; client: number; other: number };
  /** Requests per second of each time slice, in slice order */
  readonly blockRates: number[];
}

function aggregate(via: string, blocks: readonly Block[], cpus: number): Measured {
  const latencies = blocks.flatMap((b) => b.run.latencies);
  const wall = blocks.reduce((a, b) => a + b.run.totalMs, 0);
  const s = summarize(latencies, wall);
  const clientCpu = blocks.reduce((a, b) => a + b.clientCpuMs, 0);
  const cpu = combineCpu(blocks.map((b) => b.cpu));
  const roster = cpu.cores.roster ?? Number.NaN;
  const postgres = blocks.reduce((a, b) => a + b.postgresCpuMs, 0) / cpu.wallMs;
  const client = clientCpu / cpu.wallMs;
  return {
    via,
    s,
    clientCpuPerReq: clientCpu / s.count,
    rosterCpuPerReq: (roster * cpu.wallMs) / s.count,
    shares: { roster, postgres, client, other: Math.max(0, cpu.machine * cpus - roster - postgres - client) },
    blockRates: blocks.map((b) => b.run.latencies.length / (b.run.totalMs / 1000)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const TABLE_HEADER = [
  '#',
  'Call',
  'Clients',
  'Via',
  'Throughput',
  '÷ raw fetch',
  'Per round ÷ raw: median (range)',
  'p50 / p99',
  'Client CPU / req',
  'vs raw fetch',
  'Roster CPU / req',
  'CPU (share of one core): Roster / PostgreSQL / client / other',
];

const fmtUs = (ms: number): string => (Number.isFinite(ms) ? `${Math.round(ms * 1000).toLocaleString('en-US')} µs` : 'n/a');
const fmtSignedUs = (ms: number): string => (Number.isFinite(ms) ? `${ms >= 0 ? '+' : '−'}${fmtUs(Math.abs(ms))}` : 'n/a');
const sharesText = (m: Measured) => `${fmtPct(m.shares.roster)} / ${fmtPct(m.shares.postgres)} / ${fmtPct(m.shares.client)} / ${fmtPct(m.shares.other)}`;

// ---------------------------------------------------------------------------------------------------------------

interface SeededUser {
  readonly id: string;
  readonly reference: string;
}

type UsersData = { users: { data: { id: string; reference: string }[]; totalCount: number } };
type GraphqlAnswer<T> = { data?: T | null; errors?: { message: string }[] };

export async function run(ctx: SuiteContext): Promise<void> {
  const sizes = ctx.quick ? QUICK : FULL;
  const suite = new SuiteRun('sdk', DEADLINE_MS);
  const { log, cleanups, startedAt } = suite;

  try {
    // --- Set-up -----------------------------------------------------------------------------------------------
    const runTag = randomBytes(3).toString('hex');
    const environmentId = `bench-sdk-${runTag}`;
    // The old SDK sends the environment id with every request; Roster checks it when it is configured.
    const { background, loadAverage, revision, apiKey, scratch, roster } = await startRoster(suite, ctx, { ROSTER_ENVIRONMENT_ID: environmentId });
    const baseUrl = roster.baseUrl;

    const sqlClient = new pg.Client({ ...ROSTER_SESSION, connectionString: scratch.url });
    await sqlClient.connect();
    cleanups.push(() => sqlClient.end());
    const pgVersion = (await sqlClient.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;
    const settle = async () => {
      await sqlClient.query('vacuum analyze users');
      await sqlClient.query('vacuum analyze user_group_members');
      await sqlClient.query('checkpoint');
    };

    // Seeding and checks go through the bench's own node:http client, never through a client under test.
    const api = new HttpClient(baseUrl, { connections: 4, headers: { authorization: `Bearer ${apiKey}` } });
    cleanups.push(async () => api.close());

    const packages = describePackages(ctx.repoRoot);
    log(`@roster/client ${packages.client}; @roq/nodejs ${packages.roq}`);

    // --- Seed: users through aliased createUser mutations, one group ------------------------------------------
    log(`seeding ${fmtInt(sizes.users)} users (GraphQL, ${SEED_BATCH} aliased createUser per request, 4 in parallel)`);
    const users: SeededUser[] = await seedUsers(api, sizes.users, (i) => {
      const reference = `sdk-${runTag}-${i}`;
      return { reference, email: `${reference}@bench.example` };
    }, SEED_BATCH);
    const groupId = (await graphql<{ createUserGroup: { id: string } }>(api, CREATE_GROUP, { g: { name: `SDK bench ${runTag}`, reference: `sdk-bench-${runTag}` } }))
      .createUserGroup.id;
    // Disjoint user sets: the first 16 × 100 users are the write slices, the next ones hold tokens, the rest are looked up.
    const slices = Array.from({ length: MAX_CONCURRENCY }, (_, w) => users.slice(w * WRITE_IDS, (w + 1) * WRITE_IDS).map((u) => u.id));
    const tokenBase = MAX_CONCURRENCY * WRITE_IDS;
    const tokenUsers = users.slice(tokenBase, tokenBase + sizes.tokenUsers);
    const coldUsers = users.slice(tokenBase + sizes.tokenUsers, tokenBase + sizes.tokenUsers + 2 * sizes.coldUsers);
    if (slices.some((s) => s.length !== WRITE_IDS) || coldUsers.length < 2 * sizes.coldUsers || users.length - tokenBase - tokenUsers.length - coldUsers.length < 100) {
      throw new Error(`${sizes.users} seeded users are too few for the write slices, token users and lookups`);
    }
    await settle();
    log(`seeded ${fmtInt(users.length)} users and group ${groupId}`);

    // --- The clients under test -------------------------------------------------------------------------------
    const sdk = new RosterClient({ url: baseUrl, apiKey, environmentId });
    const roq = new Platform({ environmentId, apiKey, host: baseUrl });
    const superAdminAuth = `Bearer ${apiKey}`;
    /** Raw fetch: the SDK's own headers and body (`{ query, variables }`), the answer read as JSON and checked. */
    const rawGraphql = async <T>(authorization: string, query: string, variables: Record<string, unknown>): Promise<T> => {
      const res = await fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { accept: 'application/json', authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as GraphqlAnswer<T>;
      if (res.status !== 200 || body.errors?.length || body.data == null) {
        throw new Error(`raw fetch: HTTP ${res.status}: ${JSON.stringify(body.errors ?? body).slice(0, 300)}`);
      }
      return body.data;
    };

    const meter = new CpuMeter(() => ({ roster: roster.pid }));
    // A full collection before each slice, outside the measurement, so a slice does not pay for the previous
    // target's garbage (what a target allocates is still collected, by scavenges, during its own slice).
    v8.setFlagsFromString('--expose-gc');
    const collectGarbage = vm.runInNewContext('gc') as () => void;
    const cpus = machineInfo(pgVersion).cpus;
    const runBlock = async (target: Target, concurrency: number, ms: number): Promise<Block> => {
      collectGarbage();
      // The /proc scans run outside the client's CPU reading.
      const pgBefore = postgresCpu();
      meter.start();
      const before = process.cpuUsage();
      const result = await runForDuration(ms, concurrency, target.call);
      const used = process.cpuUsage(before);
      const cpu = meter.stop();
      const postgresCpuMs = postgresCpuBetween(pgBefore, postgresCpu());
      return { run: result, clientCpuMs: (used.user + used.system) / 1000, postgresCpuMs, cpu };
    };
    /** `blocks` slices per target, the first target of each round rotating, so all see the same background load. */
    const interleaved = async (targets: readonly Target[], concurrency: number): Promise<Measured[]> => {
      const blocks: Block[][] = targets.map(() => []);
      for (let b = 0; b < sizes.blocks; b++) {
        for (let k = 0; k < targets.length; k++) {
          const t = (b + k) % targets.length;
          blocks[t]!.push(await runBlock(targets[t]!, concurrency, sizes.blockMs));
        }
      }
      return targets.map((t, i) => aggregate(t.via, blocks[i]!, cpus));
    };
    const warmUp = async (targets: readonly Target[]) => {
      for (const t of targets) {
        for (let i = 0; i < 20; i++) await t.call(i, 0);
        await runForDuration(sizes.warmupMs, MAX_CONCURRENCY, t.call);
      }
    };

    interface Scenario {
      readonly id: string;
      readonly title: string;
      readonly targets: readonly Target[];
      readonly results: Map<number, Measured[]>;
    }
    const scenarios: Scenario[] = [];
    const notes: string[] = [];

    // --- 1. Lookup by reference, as the super-admin -----------------------------------------------------------
    const lookupPool = users.slice(tokenBase + sizes.tokenUsers + 2 * sizes.coldUsers);
    const lookupRandom = prng(20_261_123);
    const pick = () => lookupPool[Math.floor(lookupRandom() * lookupPool.length)]!;
    const expectOne = (data: { id: string }[], u: SeededUser, via: string) => {
      if (data.length !== 1 || data[0]!.id !== u.id) throw new Error(`${via} lookup ${u.reference}: ${data.length} users`);
    };
    const usersDocument = graphqlOperations.users.document;
    scenarios.push({
      id: '1',
      title: '`users(filter: { reference: { equalTo } })` as the super-admin',
      targets: [
        {
          via: 'raw fetch',
          call: async () => {
            const u = pick();
            const data = await rawGraphql<UsersData>(superAdminAuth, usersDocument, { filter: { reference: { equalTo: u.reference } } });
            expectOne(data.users.data, u, 'raw');
          },
        },
        {
          via: '@roster/client',
          call: async () => {
            const u = pick();
            const data = await sdk.asSuperAdmin().users({ filter: { reference: { equalTo: u.reference } } });
            expectOne(data.users.data, u, '@roster/client');
          },
        },
        {
          via: '@roq/nodejs',
          call: async () => {
            const u = pick();
            const data = await roq.asSuperAdmin().users({ filter: { reference: { equalTo: u.reference } } });
            expectOne(data.users.data, u, '@roq/nodejs');
          },
        },
      ],
      results: new Map(),
    });

    // --- 2. A membership write: add 100 ids, then remove them, alternately ------------------------------------
    // Each client owns one slice of 100 users and flips it: add when out, remove when in, so the group's size
    // never drifts and every call changes 100 rows (half the calls add, half remove, for every target).
    const present = new Array<boolean>(MAX_CONCURRENCY).fill(false);
    const flip = (via: string, send: (add: boolean, userIds: string[]) => Promise<boolean>) => async (_i: number, w: number) => {
      const add = !present[w];
      if (!(await send(add, slices[w]!))) throw new Error(`${via}: ${add ? 'add' : 'remove'} did not return true`);
      present[w] = add;
    };
    const addOp = graphqlOperations.addUsersToUserGroup;
    const removeOp = graphqlOperations.removeUsersFromUserGroup;
    scenarios.push({
      id: '2',
      title: `\`addUsersToUserGroup\` / \`removeUsersFromUserGroup\`, ${WRITE_IDS} ids, alternately`,
      targets: [
        {
          via: 'raw fetch',
          call: flip('raw', async (add, userIds) => {
            const op = add ? addOp : removeOp;
            const data = await rawGraphql<Record<string, boolean>>(superAdminAuth, op.document, { userGroupId: groupId, userIds });
            return data[op.field] === true;
          }),
        },
        {
          via: '@roster/client',
          call: flip('@roster/client', async (add, userIds) =>
            add
              ? (await sdk.asSuperAdmin().addUsersToUserGroup({ userGroupId: groupId, userIds })).addUsersToUserGroup
              : (await sdk.asSuperAdmin().removeUsersFromUserGroup({ userGroupId: groupId, userIds })).removeUsersFromUserGroup,
          ),
        },
        {
          via: '@roq/nodejs',
          call: flip('@roq/nodejs', async (add, userIds) =>
            add
              ? (await roq.asSuperAdmin().addUsersToUserGroup({ userGroupId: groupId, userIds })).addUsersToUserGroup
              : (await roq.asSuperAdmin().removeUsersFromUserGroup({ userGroupId: groupId, userIds })).removeUsersFromUserGroup,
          ),
        },
      ],
      results: new Map(),
    });

    // --- 3. A read with a user token: asUser(id).user(id) vs raw fetch with a token obtained once --------------
    const tokenRandom = prng(20_261_124);
    const pickTokenUser = () => tokenUsers[Math.floor(tokenRandom() * tokenUsers.length)]!;
    const rawTokens = new Map<string, string>();
    const authorize = async (userId: string): Promise<string> => {
      const res = await fetch(`${baseUrl}/v01/authorize`, {
        method: 'POST',
        headers: { accept: 'application/json', authorization: superAdminAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ userId, environmentId }),
      });
      const body = (await res.json()) as { accessToken?: string };
      if (res.status !== 200 || typeof body.accessToken !== 'string') throw new Error(`POST /v01/authorize: HTTP ${res.status}`);
      return body.accessToken;
    };
    const userDocument = graphqlOperations.user.document;
    const expectSelf = (id: string, u: SeededUser, via: string) => {
      if (id !== u.id) throw new Error(`${via}: user(${u.id}) answered ${id}`);
    };
    scenarios.push({
      id: '3',
      title: `\`asUser(id).user(id)\` with a user token, rotating over ${fmtInt(sizes.tokenUsers)} users (tokens obtained before)`,
      targets: [
        {
          via: 'raw fetch',
          call: async () => {
            const u = pickTokenUser();
            const token = rawTokens.get(u.id);
            if (!token) throw new Error(`no token for ${u.id}`);
            const data = await rawGraphql<{ user: { id: string } }>(`Bearer ${token}`, userDocument, { id: u.id });
            expectSelf(data.user.id, u, 'raw');
          },
        },
        {
          via: '@roster/client',
          call: async () => {
            const u = pickTokenUser();
            const data = await sdk.asUser(u.id).user(u.id);
            expectSelf(data.user.id, u, '@roster/client');
          },
        },
      ],
      results: new Map(),
    });

    // --- Checks before measuring: same answers, token cache behaves -------------------------------------------
    {
      const u = lookupPool[0]!;
      const viaRaw = await rawGraphql<UsersData>(superAdminAuth, usersDocument, { filter: { reference: { equalTo: u.reference } } });
      const viaSdk = await sdk.asSuperAdmin().users({ filter: { reference: { equalTo: u.reference } } });
      if (JSON.stringify(viaRaw) !== JSON.stringify(viaSdk)) throw new Error('raw fetch and @roster/client answered the lookup differently');
      const viaRoq = await roq.asSuperAdmin().users({ filter: { reference: { equalTo: u.reference } } });
      const rawUser = viaRaw.users.data[0] as Record<string, unknown> | undefined;
      const roqUser = viaRoq.users.data[0] as Record<string, unknown> | undefined;
      notes.push(
        `Lookup answers: raw fetch and \`@roster/client\` send the same document (${fmtInt(usersDocument.length)} characters) and got ` +
          `identical answers (${fmtInt(JSON.stringify(viaRaw).length)} characters of data, ${Object.keys(rawUser ?? {}).length} fields per user). ` +
          `\`@roq/nodejs\` sends its own document (its \`User\` fragment, printed from a parsed document on every call) and got ` +
          `${Object.keys(roqUser ?? {}).length} fields per user (${fmtInt(JSON.stringify(viaRoq).length)} characters).`,
      );

      // Token cache: with a counting fetch, 10 concurrent calls for each of 3 users make 3 token requests.
      const counts = new Map<string, number>();
      const counting: typeof fetch = (input, init) => {
        const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
        counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
        return fetch(input, init);
      };
      const checker = new RosterClient({ url: baseUrl, apiKey, environmentId, fetch: counting });
      const probe = coldUsers.slice(-3);
      for (let round = 0; round < 2; round++) {
        await Promise.all(probe.flatMap((u) => Array.from({ length: 5 }, () => checker.asUser(u.id).user(u.id))));
      }
      const issued = counts.get('/v01/authorize') ?? 0;
      if (issued !== probe.length) throw new Error(`token cache: ${issued} token requests for ${probe.length} users`);
      notes.push(
        `Token cache check (a counting \`fetch\` passed to a separate client): 2 rounds of 5 concurrent \`asUser(id).user(id)\` for each of ` +
          `${probe.length} users made ${issued} \`POST /v01/authorize\` and ${counts.get('/graphql') ?? 0} \`POST /graphql\` requests.`,
      );
    }

    // --- Measure --------------------------------------------------------------------------------------------
    for (const scenario of scenarios) {
      await settle();
      if (scenario.id === '3') {
        log(`obtaining ${fmtInt(tokenUsers.length)} user tokens for raw fetch, and warming @roster/client's cache with one call per user`);
        await runClosedLoop(tokenUsers.length, 8, async (i) => {
          const u = tokenUsers[i]!;
          rawTokens.set(u.id, await authorize(u.id));
          await sdk.asUser(u.id).user(u.id);
        });
      }
      log(`${scenario.id}: warm-up (${scenario.targets.map((t) => t.via).join(', ')})`);
      await warmUp(scenario.targets);
      for (const concurrency of CONCURRENCY) {
        log(`${scenario.id}: ${concurrency} client(s), ${sizes.blocks} × ${fmtInt(sizes.blockMs)} ms per target, interleaved`);
        scenario.results.set(concurrency, await interleaved(scenario.targets, concurrency));
      }
      if (scenario.id === '2') {
        const n = (await sqlClient.query<{ n: number }>('select count(*)::int as n from user_group_members where group_id = $1', [groupId])).rows[0]!.n;
        const expected = present.filter(Boolean).length * WRITE_IDS;
        if (n !== expected) throw new Error(`group has ${n} members after the writes, expected ${expected}`);
      }
    }

    // --- First call of a user: the token request, then the cache ---------------------------------------------
    log(`first calls: ${sizes.coldUsers} fresh users each through @roster/client and raw fetch, sequentially`);
    const coldSdk = coldUsers.slice(0, sizes.coldUsers);
    const coldRaw = coldUsers.slice(sizes.coldUsers, 2 * sizes.coldUsers);
    const firstSdk: number[] = [];
    const secondSdk: number[] = [];
    const firstRaw: number[] = [];
    const secondRaw: number[] = [];
    for (let i = 0; i < sizes.coldUsers; i++) {
      const a = coldSdk[i]!;
      let t = performance.now();
      expectSelf((await sdk.asUser(a.id).user(a.id)).user.id, a, '@roster/client');
      firstSdk.push(performance.now() - t);
      t = performance.now();
      expectSelf((await sdk.asUser(a.id).user(a.id)).user.id, a, '@roster/client');
      secondSdk.push(performance.now() - t);

      const b = coldRaw[i]!;
      t = performance.now();
      const token = await authorize(b.id);
      expectSelf((await rawGraphql<{ user: { id: string } }>(`Bearer ${token}`, userDocument, { id: b.id })).user.id, b, 'raw');
      firstRaw.push(performance.now() - t);
      t = performance.now();
      expectSelf((await rawGraphql<{ user: { id: string } }>(`Bearer ${token}`, userDocument, { id: b.id })).user.id, b, 'raw');
      secondRaw.push(performance.now() - t);
    }
    notes.push(
      `First call for a user (median of ${sizes.coldUsers} fresh users, 1 client): \`@roster/client\` \`asUser(id).user(id)\` ` +
        `${fmtMs(median(firstSdk))} (token request + query), its second call ${fmtMs(median(secondSdk))}; raw fetch ` +
        `\`POST /v01/authorize\` + query ${fmtMs(median(firstRaw))}, query alone ${fmtMs(median(secondRaw))}.`,
    );

    // --- Report -------------------------------------------------------------------------------------------------
    const rows: string[][] = [];
    for (const scenario of scenarios) {
      for (const concurrency of CONCURRENCY) {
        const measured = scenario.results.get(concurrency)!;
        const raw = measured[0]!;
        for (const m of measured) {
          const isRaw = m === raw;
          const ratios = m.blockRates.map((r, b) => r / (raw.blockRates[b] ?? Number.NaN));
          rows.push([
            scenario.id,
            scenario.title,
            String(concurrency),
            m.via,
            `${fmtInt(m.s.perSec)} req/s`,
            isRaw ? '—' : fmtPct(m.s.perSec / raw.s.perSec, 1),
            isRaw ? '—' : `${fmtPct(median(ratios))} (${fmtPct(Math.min(...ratios))}–${fmtPct(Math.max(...ratios))})`,
            `${fmtMs(m.s.p50Ms)} / ${fmtMs(m.s.p99Ms)}`,
            fmtUs(m.clientCpuPerReq),
            isRaw ? '—' : `${fmtSignedUs(m.clientCpuPerReq - raw.clientCpuPerReq)} (${fmtPct(m.clientCpuPerReq / raw.clientCpuPerReq)})`,
            fmtUs(m.rosterCpuPerReq),
            sharesText(m),
          ]);
        }
      }
    }

    const counts = (
      await sqlClient.query<{ users: number; groups: number; members: number }>(
        `select (select count(*)::int from users) as users, (select count(*)::int from user_groups) as groups,
                (select count(*)::int from user_group_members) as members`,
      )
    ).rows[0]!;
    const machine = machineInfo(pgVersion);
    const elapsed = suite.elapsedSeconds();
    const section = [
      `## sdk — ${startedAt.toISOString().slice(0, 10)}${workersTag(ctx).heading}${ctx.quick ? ' (quick)' : ''}`,
      '',
      `\`npm run bench -- sdk\`. Run at ${startedAt.toISOString()}, ${elapsed.toFixed(0)} s. Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ` +
        `${machine.ramGiB} GiB RAM, ${machine.os}; Node ${machine.node}; PostgreSQL ${machine.postgres} on 127.0.0.1 (same machine). ` +
        `Roster at ${revision}: NODE_ENV=production, LOG_LEVEL=warn, pg pool 10${workersTag(ctx).setup}, started as in \`core\` plus \`ROSTER_ENVIRONMENT_ID\` ` +
        `(which the old SDK sends). Background load just before the run: ${fmtPct(background)} of all CPUs busy, 1-min load average ` +
        `${loadAverage.toFixed(2)}. Clients: \`@roster/client\` ${packages.client}; \`@roq/nodejs\` ${packages.roq}; raw \`fetch\` is Node's ` +
        `global fetch (undici), which \`@roster/client\` also uses; \`@roq/nodejs\` goes through graphql-request → cross-fetch → node-fetch 2 ` +
        `(Node's keep-alive global agent).`,
      '',
      `Dataset: ${fmtInt(sizes.users)} users created with aliased \`createUser\` mutations (${SEED_BATCH} per request), one group ` +
        `(the other group counted below is the default tenant's platform group, which Roster creates). ` +
        `Lookups pick uniformly among ${fmtInt(lookupPool.length)} of them; each of the ${MAX_CONCURRENCY} write clients owns ${WRITE_IDS} ` +
        `users it adds to and removes from the group in turn; the user-token read rotates over ${fmtInt(tokenUsers.length)} users (the ` +
        `server allows 1,200 requests a minute per user). At the end: ${fmtInt(counts.users)} users, ${fmtInt(counts.groups)} groups, ` +
        `${fmtInt(counts.members)} memberships.`,
      '',
      `Method: for each call, every target is warmed up (20 sequential calls, then ${fmtInt(sizes.warmupMs)} ms at ${MAX_CONCURRENCY} clients), ` +
        `then measured at 1 and at ${MAX_CONCURRENCY} concurrent clients in a closed loop bounded by time: ${sizes.blocks} slice(s) of ` +
        `${fmtInt(sizes.blockMs)} ms per target, interleaved (raw, new SDK, old SDK, then the next round starting one later) so the targets ` +
        `share the same background load. "÷ raw fetch" pools all slices; "per round" is the ratio of each round's two slices (same ` +
        `round, adjacent in time), median and range, which shows how much the background moved the pooled figure. Slices end when ` +
        `the time is up and the requests in flight finish (the drain is counted in the time). Each call is written as a user ` +
        `writes it: \`client.asSuperAdmin().users(...)\` (the old SDK builds a new client object on every \`asSuperAdmin()\`; the ` +
        `new one returns a cached session) and \`client.asUser(id).user(id)\` (a new session per call, the token from the cache). ` +
        `Every answer is checked. Client CPU is \`process.cpuUsage()\` of the bench process (all its threads, GC included) over ` +
        `the slices ÷ requests, with a full garbage collection before each slice (outside it) so no slice pays for another's ` +
        `garbage; Roster and PostgreSQL CPU from /proc (PostgreSQL: every \`postgres\` process, backends opened during a slice ` +
        `included); "other" is the machine's busy time minus those three (other processes ` +
        `on the machine, and kernel time not charged to a process). Client, Roster and PostgreSQL share ${machine.cpus} cores, so a client that burns more CPU also takes it from the ` +
        `server: compare ratios within this run, not absolute figures across runs.`,
      '',
      markdownTable(TABLE_HEADER, rows),
      '',
    ];
    await publishSection(suite, ctx, roster.output(), section, notes);
  } finally {
    await suite.finish();
  }
}

/** Which code is measured: the SDK's version and the state of its source; the old SDK's installed version. */
function describePackages(repoRoot: string): { client: string; roq: string } {
  const version = (dir: string) => {
    try {
      return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
    } catch {
      return '?';
    }
  };
  let source = 'packages/sdk/src';
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'packages/sdk/src')
      .split('\n')
      .filter(Boolean)
      .map((l) => path.basename(l.slice(3)));
    source += ` at ${git('rev-parse', '--short', 'HEAD')}${dirty.length ? ` + uncommitted changes in ${dirty.join(', ')}` : ''}`;
  } catch {
    // not a git checkout
  }
  return { client: `${version(path.join(repoRoot, 'packages', 'sdk'))} (${source})`, roq: version(path.join(repoRoot, 'node_modules', '@roq', 'nodejs')) };
}
