/**
 * `npm run bench -- core`: Roster's core paths (user creation, bulk membership, member paging, lookups) against
 * PostgreSQL, each beside its raw-SQL floor. See RESULTS.md for what each row means.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { HttpClient, graphql } from './lib/http.ts';
import { connectMany, endAll, lookupByReferenceValues, prepared, ROSTER_LOOKUP_BY_REFERENCE } from './lib/postgres.ts';
import { CpuMeter, combineCpu, freePort, startChildServer, type CpuSample } from './lib/processes.ts';
import { machineInfo, markdownTable } from './lib/report.ts';
import {
  fmtInt,
  fmtMs,
  fmtPct,
  mean,
  median,
  prng,
  runClosedLoop,
  summarize,
  type RunResult,
  type Summary,
} from './lib/stats.ts';
import type { SuiteContext } from './run.ts';
import { publishSection, SuiteRun, startRoster, workersTag } from './lib/suite.ts';

// ---------------------------------------------------------------------------------------------------------------
// Sizes

interface Sizes {
  readonly createUsers: number;
  readonly groupMembers: number;
  readonly smallBatch: number;
  readonly largeBatch: number;
  readonly pageSize: number;
  readonly offsetReps: number;
  readonly lookups: number;
  readonly lookupsLong: number;
  readonly lookupRounds: number;
  readonly lookupWarmup: number;
}

const FULL: Sizes = {
  createUsers: 10_000,
  groupMembers: 100_000,
  smallBatch: 1_000,
  largeBatch: 10_000,
  pageSize: 100,
  offsetReps: 15,
  lookups: 2_000,
  lookupsLong: 4_000,
  lookupRounds: 7,
  lookupWarmup: 2_000,
};

const QUICK: Sizes = {
  ...FULL,
  createUsers: 1_000,
  groupMembers: 10_000,
  offsetReps: 5,
  lookupRounds: 1,
  lookupWarmup: 200,
};

const LOOKUP_CONCURRENCY = 32;
/** Lookups run in interleaved blocks of this many requests per target (see `interleaved`). */
const LOOKUP_BLOCK = 500;
/** The whole suite is abandoned (servers stopped, database dropped) if it runs longer than this. */
const DEADLINE_MS = 15 * 60_000;

// ---------------------------------------------------------------------------------------------------------------
// GraphQL documents

const CREATE_USER = 'mutation($u: UserCreateDto!){ createUser(user:$u){ id } }';
const CREATE_GROUP = 'mutation($g: UserGroupCreateDto!){ createUserGroup(userGroup:$g){ id tenantId } }';
const ADD_USERS = 'mutation($g: ID!, $ids: [ID!]!){ addUsersToUserGroup(userGroupId:$g, userIds:$ids) }';
const PAGE_MEMBERS = `query($g: ID!, $first: Int, $after: String){
  userGroupMembers(groupId:$g, first:$first, after:$after){ edges { node { id } cursor } pageInfo { endCursor hasNextPage } }
}`;
const OFFSET_USERS = 'query($id: ID!, $o: Int){ userGroup(id:$id){ users(limit:100, offset:$o){ data { id } } } }';
const LOOKUP = 'query($r:String!){ users(filter:{reference:{equalTo:$r}}){ data { id email } } }';

// ---------------------------------------------------------------------------------------------------------------
// The floors: the statements Roster sends (or the statement the brief names), straight through `pg`

const SQL_INSERT_USER = 'insert into users (tenant_id, id, reference, email) values ($1, $2, $3, $4)';
const SQL_ADD_MEMBERS =
  'insert into user_group_members (tenant_id, group_id, user_id) select $1, $2, unnest($3::uuid[]) on conflict do nothing';
// repositories/memberships.ts pageGroupMembers(), with `first + 1` rows as groups.ts asks for.
const SQL_PAGE_FIRST = `select u.*, rel.added_at as rel_added_at, rel.added_at::text as rel_added_at_text
  from user_group_members rel join users u on u.tenant_id = rel.tenant_id and u.id = rel.user_id
  where rel.tenant_id = $1 and rel.group_id = $2
  order by rel.added_at, rel.user_id limit $3`;
const SQL_PAGE_AFTER = `select u.*, rel.added_at as rel_added_at, rel.added_at::text as rel_added_at_text
  from user_group_members rel join users u on u.tenant_id = rel.tenant_id and u.id = rel.user_id
  where rel.tenant_id = $1 and rel.group_id = $2 and (rel.added_at, rel.user_id) > ($4::timestamptz, $5::uuid)
  order by rel.added_at, rel.user_id limit $3`;
// repositories/users.ts listUsersOfGroups() with the default filter (active users) and order (createdAt DESC).
const SQL_OFFSET = `select p.parent_id, x.* from unnest($1::uuid[]) as p(parent_id)
  join user_groups pg on pg.id = p.parent_id
  cross join lateral (
    select u.* from user_group_members rel
    join users u on u.tenant_id = rel.tenant_id and u.id = rel.user_id
    where rel.tenant_id = pg.tenant_id and rel.group_id = p.parent_id and u.active = $2
    order by u.created_at desc, u.id desc limit $3 offset $4
  ) x`;
const lookupFloor = prepared(ROSTER_LOOKUP_BY_REFERENCE);

// ---------------------------------------------------------------------------------------------------------------
// Report rows

interface Row {
  readonly area: string;
  readonly scenario: string;
  readonly roster: string;
  readonly floor: string;
  readonly ratio: string;
  readonly rosterLatency: string;
  readonly floorLatency: string;
  readonly cpu: string;
  readonly target: string;
}

const TABLE_HEADER = ['#', 'Scenario', 'Roster', 'Floor', 'Roster ÷ floor', 'Roster p50 / p99', 'Floor p50 / p99', 'CPU: Roster / load gen / machine', 'Target'];

const lat = (s: Summary) => `${fmtMs(s.p50Ms)} / ${fmtMs(s.p99Ms)}`;
const cpuText = (c: CpuSample | undefined, server: 'roster' | 'bare' = 'roster') =>
  c ? `${fmtPct(c.cores[server] ?? Number.NaN)} / ${fmtPct(c.cores.bench ?? Number.NaN)} / ${fmtPct(c.machine)}` : '';

// ---------------------------------------------------------------------------------------------------------------

export async function run(ctx: SuiteContext): Promise<void> {
  const sizes = ctx.quick ? QUICK : FULL;
  const suite = new SuiteRun('core', DEADLINE_MS);
  const { log, cleanups, startedAt } = suite;

  try {
    // --- Set-up -----------------------------------------------------------------------------------------------
    const { background, loadAverage, revision, apiKey, scratch, roster } = await startRoster(suite, ctx);

    const admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    const pgVersion = (await admin.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;
    const tenantId = (await admin.query<{ id: string }>('select id from tenants where is_default')).rows[0]!.id;

    const api = new HttpClient(roster.baseUrl, {
      connections: LOOKUP_CONCURRENCY,
      headers: { authorization: `Bearer ${apiKey}` },
    });
    cleanups.push(async () => api.close());

    const watched: Record<string, number> = { roster: roster.pid };
    const meter = new CpuMeter(() => watched);
    const measure = async (work: () => Promise<RunResult>): Promise<{ run: RunResult; cpu: CpuSample }> => {
      meter.start();
      const result = await work();
      return { run: result, cpu: meter.stop() };
    };

    const rows: Row[] = [];
    const notes: string[] = [];
    const runTag = randomBytes(3).toString('hex');

    // --- 1. createUser ----------------------------------------------------------------------------------------
    const createUser = async (prefix: string, i: number) => {
      const data = await graphql<{ createUser: { id: string } }>(api, CREATE_USER, {
        u: { reference: `${prefix}-${runTag}-${i}`, email: `${prefix}-${runTag}-${i}@bench.example` },
      });
      if (!data.createUser.id) throw new Error('createUser returned no id');
    };
    const floorClients = await connectMany(scratch.url, 16);
    cleanups.push(() => endAll(floorClients));
    const insertUser = (prefix: string, i: number, worker: number) =>
      floorClients[worker]!.query(SQL_INSERT_USER, [tenantId, uuidv7(), `${prefix}-${runTag}-${i}`, `${prefix}-${runTag}-${i}@bench.example`]);

    await admin.query('checkpoint');
    log('createUser: warm-up');
    await runClosedLoop(300, 4, (i) => createUser('warm', i));
    await runClosedLoop(300, 4, (i, w) => insertUser('fwarm', i, w).then(() => undefined));

    for (const concurrency of [1, 16]) {
      log(`createUser: ${fmtInt(sizes.createUsers)} via GraphQL, ${concurrency} client(s)`);
      const a = await measure(() => runClosedLoop(sizes.createUsers, concurrency, (i) => createUser(`api${concurrency}`, i)));
      log(`createUser: ${fmtInt(sizes.createUsers)} via pg, ${concurrency} connection(s)`);
      const f = await measure(() =>
        runClosedLoop(sizes.createUsers, concurrency, (i, w) => insertUser(`sql${concurrency}`, i, w).then(() => undefined)),
      );
      const as = summarize(a.run.latencies, a.run.totalMs);
      const fs = summarize(f.run.latencies, f.run.totalMs);
      rows.push({
        area: '1',
        scenario: `createUser ×${fmtInt(sizes.createUsers)}, ${concurrency === 1 ? '1 client (sequential)' : `${concurrency} concurrent clients`}`,
        roster: `${fmtInt(as.perSec)} users/s`,
        floor: `${fmtInt(fs.perSec)} users/s`,
        ratio: fmtPct(as.perSec / fs.perSec),
        rosterLatency: lat(as),
        floorLatency: lat(fs),
        cpu: cpuText(a.cpu),
        target: '—',
      });
    }
    await endAll(floorClients.splice(1));
    const sqlClient = floorClients[0]!;
    /** Between phases: fresh statistics and no pending autovacuum or checkpoint work to steal CPU mid-measurement. */
    const settle = async () => {
      await sqlClient.query('vacuum analyze users');
      await sqlClient.query('vacuum analyze user_group_members');
      await sqlClient.query('checkpoint');
    };

    // --- 2. addUsersToUserGroup -------------------------------------------------------------------------------
    const createGroup = async (name: string) => {
      const data = await graphql<{ createUserGroup: { id: string; tenantId: string } }>(api, CREATE_GROUP, {
        g: { name: `${name} ${runTag}`, reference: `${name}-${runTag}` },
      });
      return data.createUserGroup;
    };
    const warmGroup = await createGroup('warm-up');
    const groups = {
      apiSmall: await createGroup('api-small-batches'),
      apiLarge: await createGroup('api-large-batches'),
      sqlSmall: await createGroup('sql-small-batches'),
      sqlLarge: await createGroup('sql-large-batches'),
    };
    const groupTenant = groups.apiSmall.tenantId;

    log(`bulk-inserting ${fmtInt(sizes.groupMembers)} users by SQL`);
    const memberIds: string[] = [];
    const memberRefs: string[] = [];
    for (let i = 0; i < sizes.groupMembers; i++) {
      memberIds.push(uuidv7());
      memberRefs.push(`member-${runTag}-${i}`);
    }
    for (let i = 0; i < memberIds.length; i += 10_000) {
      const ids = memberIds.slice(i, i + 10_000);
      const refs = memberRefs.slice(i, i + 10_000);
      await sqlClient.query(
        `insert into users (tenant_id, id, reference, email)
         select $1, unnest($2::uuid[]), unnest($3::text[]), unnest($3::text[]) || '@bench.example'`,
        [groupTenant, ids, refs],
      );
    }
    await settle();

    const batches = (size: number) => {
      const out: string[][] = [];
      for (let i = 0; i < memberIds.length; i += size) out.push(memberIds.slice(i, i + size));
      return out;
    };
    const addViaApi = async (groupId: string, ids: string[]) => {
      const data = await graphql<{ addUsersToUserGroup: boolean }>(api, ADD_USERS, { g: groupId, ids });
      if (data.addUsersToUserGroup !== true) throw new Error('addUsersToUserGroup did not return true');
    };
    const addViaSql = async (groupId: string, ids: string[]) => {
      await sqlClient.query(SQL_ADD_MEMBERS, [groupTenant, groupId, ids]);
    };
    const memberCount = async (groupId: string) =>
      (await sqlClient.query<{ n: number }>('select count(*)::int as n from user_group_members where group_id = $1', [groupId])).rows[0]!.n;

    log('addUsersToUserGroup: warm-up');
    for (const ids of batches(1_000).slice(0, 5)) await addViaApi(warmGroup.id, ids);

    const membershipResults: Record<number, { api: Summary; sql: Summary }> = {};
    for (const [size, apiGroup, sqlGroup] of [
      [sizes.smallBatch, groups.apiSmall, groups.sqlSmall],
      [sizes.largeBatch, groups.apiLarge, groups.sqlLarge],
    ] as const) {
      const calls = batches(size);
      log(`addUsersToUserGroup: ${fmtInt(sizes.groupMembers)} members in ${calls.length} calls of ${fmtInt(size)} via GraphQL`);
      const a = await measure(() => runClosedLoop(calls.length, 1, (i) => addViaApi(apiGroup.id, calls[i]!)));
      log(`addUsersToUserGroup: same via pg`);
      const f = await measure(() => runClosedLoop(calls.length, 1, (i) => addViaSql(sqlGroup.id, calls[i]!)));
      for (const g of [apiGroup, sqlGroup]) {
        const n = await memberCount(g.id);
        if (n !== sizes.groupMembers) throw new Error(`group ${g.id} has ${n} members, expected ${sizes.groupMembers}`);
      }
      const as = summarize(a.run.latencies, a.run.totalMs, sizes.groupMembers);
      const fs = summarize(f.run.latencies, f.run.totalMs, sizes.groupMembers);
      membershipResults[size] = { api: as, sql: fs };
      const ratio = as.perSec / fs.perSec;
      rows.push({
        area: '2',
        scenario: `addUsersToUserGroup ${fmtInt(sizes.groupMembers)} users, ${calls.length} calls of ${fmtInt(size)} ids (per-call latency)`,
        roster: `${fmtInt(as.perSec)} memberships/s`,
        floor: `${fmtInt(fs.perSec)} memberships/s`,
        ratio: fmtPct(ratio, 1),
        rosterLatency: lat(as),
        floorLatency: lat(fs),
        cpu: cpuText(a.cpu),
        target: size === sizes.largeBatch ? `≥ 40%: ${ratio >= 0.4 ? 'met' : '**missed**'}` : '—',
      });
    }
    await settle();

    // --- 3. Paging ---------------------------------------------------------------------------------------------
    const pageGroup = groups.apiSmall;
    const pages = Math.ceil(sizes.groupMembers / sizes.pageSize);
    type PageData = {
      userGroupMembers: { edges: { node: { id: string }; cursor: string }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
    };
    const pageViaApi = (after: string | null) =>
      graphql<PageData>(api, PAGE_MEMBERS, { g: pageGroup.id, first: sizes.pageSize, after });
    const pageViaSql = (after: { at: string; id: string } | null) =>
      after
        ? sqlClient.query<{ id: string; rel_added_at_text: string }>(SQL_PAGE_AFTER, [groupTenant, pageGroup.id, sizes.pageSize + 1, after.at, after.id])
        : sqlClient.query<{ id: string; rel_added_at_text: string }>(SQL_PAGE_FIRST, [groupTenant, pageGroup.id, sizes.pageSize + 1]);

    log('paging: warm-up');
    // Walk the first 50 pages twice each way, so both the first-page and the cursor statement are warm.
    for (let round = 0; round < 2; round++) {
      let after: string | null = null;
      for (let p = 0; p < 50; p++) after = (await pageViaApi(after)).userGroupMembers.pageInfo.endCursor;
      let afterSql: { at: string; id: string } | null = null;
      for (let p = 0; p < 50; p++) {
        const { rows: warm } = await pageViaSql(afterSql);
        const last = warm[sizes.pageSize - 1];
        afterSql = last ? { at: last.rel_added_at_text, id: last.id } : null;
      }
    }

    log(`paging: walking ${fmtInt(pages)} keyset pages via GraphQL`);
    const apiPageMs: number[] = [];
    const seen = new Set<string>();
    {
      let after: string | null = null;
      for (let p = 0; p < pages; p++) {
        const t = performance.now();
        const data: PageData = await pageViaApi(after);
        apiPageMs.push(performance.now() - t);
        const conn = data.userGroupMembers;
        for (const e of conn.edges) seen.add(e.node.id);
        after = conn.pageInfo.endCursor;
        const last = p === pages - 1;
        if (conn.pageInfo.hasNextPage === last) throw new Error(`page ${p + 1}: hasNextPage=${conn.pageInfo.hasNextPage}`);
      }
      if (seen.size !== sizes.groupMembers) throw new Error(`keyset walk saw ${seen.size} distinct members, expected ${sizes.groupMembers}`);
    }
    log(`paging: walking ${fmtInt(pages)} keyset pages via pg`);
    const sqlPageMs: number[] = [];
    {
      let after: { at: string; id: string } | null = null;
      let total = 0;
      for (let p = 0; p < pages; p++) {
        const t = performance.now();
        const { rows: page } = await pageViaSql(after);
        sqlPageMs.push(performance.now() - t);
        const kept = page.slice(0, sizes.pageSize);
        total += kept.length;
        const lastRow = kept.at(-1);
        after = lastRow ? { at: lastRow.rel_added_at_text, id: lastRow.id } : null;
      }
      if (total !== sizes.groupMembers) throw new Error(`SQL keyset walk returned ${total} rows, expected ${sizes.groupMembers}`);
    }
    const firstApi = mean(apiPageMs.slice(0, 10));
    const lastApi = mean(apiPageMs.slice(-10));
    const firstSql = mean(sqlPageMs.slice(0, 10));
    const lastSql = mean(sqlPageMs.slice(-10));
    const withMedian = (m: number, values: number[]) => `${fmtMs(m)} (median ${fmtMs(median(values))})`;
    const walkApi = apiPageMs.reduce((a, b) => a + b, 0);
    const walkSql = sqlPageMs.reduce((a, b) => a + b, 0);
    const apiWalk = summarize(apiPageMs, walkApi);
    const sqlWalk = summarize(sqlPageMs, walkSql);
    rows.push(
      {
        area: '3',
        scenario: `userGroupMembers keyset, first 10 pages of 100 (mean per page)`,
        roster: withMedian(firstApi, apiPageMs.slice(0, 10)),
        floor: withMedian(firstSql, sqlPageMs.slice(0, 10)),
        ratio: fmtPct(firstSql / firstApi),
        rosterLatency: '',
        floorLatency: '',
        cpu: '',
        target: '—',
      },
      {
        area: '3',
        scenario: `userGroupMembers keyset, last 10 pages (pages ${pages - 9}–${pages}, mean per page)`,
        roster: withMedian(lastApi, apiPageMs.slice(-10)),
        floor: withMedian(lastSql, sqlPageMs.slice(-10)),
        ratio: fmtPct(lastSql / lastApi),
        rosterLatency: '',
        floorLatency: '',
        cpu: '',
        target: `last ≈ first: ${lastApi <= firstApi * 1.5 ? 'yes' : '**no**'}`,
      },
      {
        area: '3',
        scenario: `userGroupMembers keyset, whole walk of ${fmtInt(pages)} pages`,
        roster: `${fmtMs(walkApi)} (${fmtInt(apiWalk.perSec)} pages/s)`,
        floor: `${fmtMs(walkSql)} (${fmtInt(sqlWalk.perSec)} pages/s)`,
        ratio: fmtPct(walkSql / walkApi),
        rosterLatency: lat(apiWalk),
        floorLatency: lat(sqlWalk),
        cpu: '',
        target: '—',
      },
    );

    const lastOffset = sizes.groupMembers - sizes.pageSize;
    for (const offset of [0, lastOffset]) {
      log(`paging: offset ${fmtInt(offset)}, ${sizes.offsetReps} calls each way`);
      const viaApi = async () => {
        const data = await graphql<{ userGroup: { users: { data: { id: string }[] } } }>(api, OFFSET_USERS, { id: pageGroup.id, o: offset });
        if (data.userGroup.users.data.length !== sizes.pageSize) throw new Error(`offset ${offset}: ${data.userGroup.users.data.length} rows`);
      };
      const viaSql = async () => {
        const { rows: r } = await sqlClient.query(SQL_OFFSET, [[pageGroup.id], true, sizes.pageSize, offset]);
        if (r.length !== sizes.pageSize) throw new Error(`SQL offset ${offset}: ${r.length} rows`);
      };
      for (let i = 0; i < 3; i++) await viaApi();
      for (let i = 0; i < 3; i++) await viaSql();
      const a = await runClosedLoop(sizes.offsetReps, 1, viaApi);
      const f = await runClosedLoop(sizes.offsetReps, 1, viaSql);
      const am = median(a.latencies);
      const fm = median(f.latencies);
      rows.push({
        area: '3',
        scenario: `userGroup.users(limit: 100, offset: ${fmtInt(offset)}) (median of ${sizes.offsetReps})`,
        roster: fmtMs(am),
        floor: fmtMs(fm),
        ratio: fmtPct(fm / am),
        rosterLatency: '',
        floorLatency: '',
        cpu: '',
        target: offset === 0 ? '—' : `vs keyset last pages: ${fmtMs(am)} vs ${fmtMs(lastApi)}`,
      });
    }

    // --- 4. Lookups by reference -------------------------------------------------------------------------------
    await settle();
    const barePort = await freePort();
    const bare = await startChildServer({
      name: 'bare Fastify route',
      args: ['--import', 'tsx', path.join('bench', 'lib', 'bare-lookup-server.ts')],
      cwd: ctx.repoRoot,
      env: { DATABASE_URL: scratch.url, PORT: String(barePort), POOL_SIZE: '10', NODE_ENV: 'production' },
      port: barePort,
      readyPath: '/readyz',
    });
    cleanups.push(() => bare.stop());
    watched.bare = bare.pid;
    const bareClient = new HttpClient(bare.baseUrl, { connections: LOOKUP_CONCURRENCY });
    cleanups.push(async () => bareClient.close());
    const lookupClients = await connectMany(scratch.url, LOOKUP_CONCURRENCY);
    cleanups.push(() => endAll(lookupClients));

    const random = prng(20_240_601);
    const refAt = () => memberRefs[Math.floor(random() * memberRefs.length)]!;
    const refs = (n: number) => Array.from({ length: n }, refAt);

    type Target = 'graphql' | 'bare' | 'pg';
    const lookup: Record<Target, (ref: string, worker: number) => Promise<void>> = {
      graphql: async (ref) => {
        const data = await graphql<{ users: { data: { id: string; email: string }[] } }>(api, LOOKUP, { r: ref });
        if (data.users.data.length !== 1) throw new Error(`lookup ${ref}: ${data.users.data.length} users`);
      },
      bare: async (ref) => {
        const body = await bareClient.getJson<{ data: { id: string; email: string }[] }>(`/lookup?ref=${encodeURIComponent(ref)}`);
        if (body.data.length !== 1) throw new Error(`bare lookup ${ref}: ${body.data.length} users`);
      },
      pg: async (ref, worker) => {
        const { rows: r } = await lookupClients[worker]!.query(lookupFloor(lookupByReferenceValues(ref)));
        if (r.length !== 1) throw new Error(`pg lookup ${ref}: ${r.length} users`);
      },
    };
    const runLookups = (target: Target, n: number) => {
      const keys = refs(n);
      return measure(() => runClosedLoop(n, LOOKUP_CONCURRENCY, (i, w) => lookup[target](keys[i]!, w)));
    };
    type Measured = { s: Summary; cpu: CpuSample };
    const order = ['graphql', 'bare', 'pg'] as const;
    /**
     * `n` lookups per target, interleaved in blocks of LOOKUP_BLOCK (GraphQL, bare, pg, GraphQL, ..., first target
     * rotating), so the three see the same background load: other processes share this machine's cores.
     */
    const interleaved = async (n: number, rotation: number): Promise<Record<Target, Measured>> => {
      const latencies: Record<Target, number[]> = { graphql: [], bare: [], pg: [] };
      const wall: Record<Target, number> = { graphql: 0, bare: 0, pg: 0 };
      const cpu: Record<Target, CpuSample[]> = { graphql: [], bare: [], pg: [] };
      for (let done = 0, b = rotation; done < n; done += LOOKUP_BLOCK, b++) {
        const size = Math.min(LOOKUP_BLOCK, n - done);
        for (const target of [...order.slice(b % 3), ...order.slice(0, b % 3)]) {
          const m = await runLookups(target, size);
          latencies[target].push(...m.run.latencies);
          wall[target] += m.run.totalMs;
          cpu[target].push(m.cpu);
        }
      }
      const result = (t: Target): Measured => ({ s: summarize(latencies[t], wall[t]), cpu: combineCpu(cpu[t]) });
      return { graphql: result('graphql'), bare: result('bare'), pg: result('pg') };
    };

    log(`lookups: warm-up (${sizes.lookupWarmup} each)`);
    for (const target of order) await runLookups(target, sizes.lookupWarmup);

    const lookupRounds: Record<Target, Measured>[] = [];
    for (let r = 0; r < sizes.lookupRounds; r++) {
      log(`lookups: round ${r + 1}/${sizes.lookupRounds}, ${fmtInt(sizes.lookups)} each via GraphQL, bare route and pg`);
      lookupRounds.push(await interleaved(sizes.lookups, r));
    }
    log(`lookups: ${fmtInt(sizes.lookupsLong)} each via GraphQL, bare route and pg`);
    const long = await interleaved(sizes.lookupsLong, 0);
    // Rounds are paired (the three targets ran back to back), so compare within a round and show the median round.
    const ratioOf = (x: Record<Target, Measured>) => x.graphql.s.perSec / x.bare.s.perSec;
    const mid = [...lookupRounds].sort((a, b) => ratioOf(a) - ratioOf(b))[Math.floor(lookupRounds.length / 2)]!;
    const { graphql: gq, bare: br, pg: pq } = mid;
    const gqRatio = ratioOf(mid);
    rows.push(
      {
        area: '4',
        scenario: `lookup by reference ×${fmtInt(sizes.lookups)}, ${LOOKUP_CONCURRENCY} clients: GraphQL vs bare Fastify route (median of ${lookupRounds.length} rounds)`,
        roster: `${fmtInt(gq.s.perSec)} req/s`,
        floor: `${fmtInt(br.s.perSec)} req/s (bare)`,
        ratio: fmtPct(gqRatio, 1),
        rosterLatency: lat(gq.s),
        floorLatency: lat(br.s),
        cpu: `${cpuText(gq.cpu)} (bare: ${cpuText(br.cpu, 'bare')})`,
        target: `≥ 70% of bare: ${gqRatio >= 0.7 ? 'met' : '**missed**'}`,
      },
      {
        area: '4',
        scenario: `lookup by reference ×${fmtInt(sizes.lookups)}, same round: GraphQL vs raw pg (${LOOKUP_CONCURRENCY} connections)`,
        roster: `${fmtInt(gq.s.perSec)} req/s`,
        floor: `${fmtInt(pq.s.perSec)} req/s (pg)`,
        ratio: fmtPct(gq.s.perSec / pq.s.perSec),
        rosterLatency: lat(gq.s),
        floorLatency: lat(pq.s),
        cpu: '',
        target: `bare ÷ pg: ${fmtPct(br.s.perSec / pq.s.perSec)}`,
      },
    );
    const { graphql: lg, bare: lb, pg: lp } = long;
    rows.push({
      area: '4',
      scenario: `lookup by reference ×${fmtInt(sizes.lookupsLong)} (one round, stability check): GraphQL vs bare (pg: ${fmtInt(lp.s.perSec)} req/s)`,
      roster: `${fmtInt(lg.s.perSec)} req/s`,
      floor: `${fmtInt(lb.s.perSec)} req/s (bare)`,
      ratio: fmtPct(lg.s.perSec / lb.s.perSec, 1),
      rosterLatency: lat(lg.s),
      floorLatency: lat(lb.s),
      cpu: `${cpuText(lg.cpu)} (bare: ${cpuText(lb.cpu, 'bare')})`,
      target: `≥ 70% of bare: ${lg.s.perSec / lb.s.perSec >= 0.7 ? 'met' : '**missed**'}`,
    });
    const perRound = lookupRounds
      .map((x) => `${fmtInt(x.graphql.s.perSec)} / ${fmtInt(x.bare.s.perSec)} / ${fmtInt(x.pg.s.perSec)} (${fmtPct(ratioOf(x), 1)})`)
      .join('; ');
    const overall = (t: Target) => {
      const all = [...lookupRounds, long];
      return all.reduce((a, x) => a + x[t].s.count, 0) / (all.reduce((a, x) => a + x[t].s.totalMs, 0) / 1000);
    };
    const cpuPerRequest = (x: Measured, who: 'roster' | 'bare') => ((x.cpu.cores[who] ?? Number.NaN) * 1000) / x.s.perSec;
    notes.push(
      `Lookup rounds of ${fmtInt(sizes.lookups)}, GraphQL / bare / pg req/s (GraphQL ÷ bare): ${perRound}. ` +
        `The table shows the median round by ratio. All ${lookupRounds.length + 1} rounds pooled: GraphQL ` +
        `${fmtInt(overall('graphql'))}, bare ${fmtInt(overall('bare'))}, pg ${fmtInt(overall('pg'))} req/s ` +
        `(GraphQL ÷ bare ${fmtPct(overall('graphql') / overall('bare'), 1)}).`,
      `Server CPU per lookup in that round: Roster ${fmtMs(cpuPerRequest(gq, 'roster'))}, bare route ${fmtMs(cpuPerRequest(br, 'bare'))}.`,
    );

    // --- Dataset and report ------------------------------------------------------------------------------------
    const counts = (
      await sqlClient.query<{ users: number; groups: number; members: number }>(
        `select (select count(*)::int from users) as users, (select count(*)::int from user_groups) as groups,
                (select count(*)::int from user_group_members) as members`,
      )
    ).rows[0]!;

    const machine = machineInfo(pgVersion);
    const table = markdownTable(
      TABLE_HEADER,
      rows.map((r) => [r.area, r.scenario, r.roster, r.floor, r.ratio, r.rosterLatency, r.floorLatency, r.cpu, r.target]),
    );
    const elapsed = suite.elapsedSeconds();
    const section = [
      `## core — ${startedAt.toISOString().slice(0, 10)}${workersTag(ctx).heading}${ctx.quick ? ' (quick)' : ''}`,
      '',
      `Run at ${startedAt.toISOString()}, ${elapsed.toFixed(0)} s. Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ` +
        `${machine.ramGiB} GiB RAM, ${machine.os}; Node ${machine.node}; PostgreSQL ${machine.postgres} on 127.0.0.1 ` +
        `(same machine). Roster at ${revision}: NODE_ENV=production, LOG_LEVEL=warn, pg pool 10${workersTag(ctx).setup}. Background load just before the ` +
        `run (other processes on the machine): ${fmtPct(background)} of all CPUs busy, 1-min load average ${loadAverage.toFixed(2)}.`,
      '',
      `Dataset at the end of the run: ${fmtInt(counts.users)} users (${fmtInt(sizes.groupMembers)} bulk-inserted group members, ` +
        `${fmtInt(2 * sizes.createUsers)} created via GraphQL + ${fmtInt(2 * sizes.createUsers)} via SQL, 600 warm-up), ` +
        `${fmtInt(counts.groups)} groups, ${fmtInt(counts.members)} memberships (4 groups × ${fmtInt(sizes.groupMembers)} + warm-up). ` +
        `Paging walks the group filled by 1,000-id calls (same added_at within each call).`,
      '',
      table,
      '',
    ];
    await publishSection(suite, ctx, roster.output(), section, notes);
  } finally {
    await suite.finish();
  }
}
