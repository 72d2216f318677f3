/**
 * `npm run bench -- rest`: Roster's REST API v3 hot paths (bulk membership changes, offset listing of a large group,
 * rbac-info of a user in many groups) against PostgreSQL, each beside its raw-SQL floor through `pg`.
 */
import pg from 'pg';
import { HttpClient, graphql, type HttpResponse } from './lib/http.ts';
import { connectMany, endAll, prepared, ROSTER_SESSION } from './lib/postgres.ts';
import { CpuMeter, type CpuSample } from './lib/processes.ts';
import { machineInfo, markdownTable } from './lib/report.ts';
import { fmtInt, fmtMs, fmtPct, median, runClosedLoop, summarize, type RunResult, type Summary } from './lib/stats.ts';
import type { SuiteContext } from './run.ts';
import { publishSection, SuiteRun, startRoster, workersTag } from './lib/suite.ts';

interface Sizes {
  /** Ids per PATCH call. */
  readonly batch: number;
  /** PATCH calls per direction and target (each on fresh ids). */
  readonly calls: number;
  readonly listMembers: number;
  readonly pageSize: number;
  readonly offsetReps: number;
  readonly rbacGroups: number;
  readonly rbacRequests: number;
  readonly rbacRounds: number;
}

const FULL: Sizes = { batch: 1_000, calls: 50, listMembers: 100_000, pageSize: 100, offsetReps: 15, rbacGroups: 50, rbacRequests: 2_000, rbacRounds: 3 };
const QUICK: Sizes = { ...FULL, calls: 10, listMembers: 10_000, offsetReps: 5, rbacRequests: 500, rbacRounds: 1 };

const CONCURRENCY = 16;
const WARMUP_CALLS = 5;
const DEADLINE_MS = 6 * 60_000;
const PLATFORM_ROLES = ['00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000003', '00000000-0000-7000-8000-000000000004'];

// The floors
const SQL_ADD = 'insert into user_group_members (tenant_id, group_id, user_id) select $1, $2, unnest($3::uuid[]) on conflict do nothing';
const SQL_REMOVE = 'delete from user_group_members where tenant_id = $1 and group_id = $2 and user_id = any($3::uuid[])';
// repositories/memberships.ts listMemberships() and countMemberships() without filters.
const SQL_LIST = `select user_id, added_at from user_group_members where tenant_id = $1 and group_id = $2
  order by added_at, user_id limit $3 offset $4`;
const SQL_COUNT = 'select count(*)::int as n from user_group_members where tenant_id = $1 and group_id = $2';
// repositories/roles.ts userGrants().
const SQL_GRANTS = `select r.id as role_id, r.name as role_name, r.permissions, 'direct' as via, null::uuid as group_id, null as group_name
    from user_roles ur join roles r on r.id = ur.role_id
    where ur.tenant_id = $1 and ur.user_id = $2
    union all
    select r.id, r.name, r.permissions, 'group', g.id, g.name
    from user_group_members m
    join user_groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
    join group_roles gr on gr.tenant_id = m.tenant_id and gr.group_id = m.group_id
    join roles r on r.id = gr.role_id
    where m.tenant_id = $1 and m.user_id = $2
    order by 2, 5 nulls first`;

// Named, as Roster runs its frequent statements.
const listFloor = prepared(SQL_LIST);
const countFloor = prepared(SQL_COUNT);
const grantsFloor = prepared(SQL_GRANTS);

const TABLE_HEADER = ['#', 'Scenario', 'Roster', 'Floor (pg)', 'Roster ÷ floor', 'Roster p50 / p99', 'Floor p50 / p99', 'CPU: Roster / load gen / machine'];
type Row = readonly [string, string, string, string, string, string, string, string];

const lat = (s: Summary) => `${fmtMs(s.p50Ms)} / ${fmtMs(s.p99Ms)}`;
const cpuText = (c: CpuSample | undefined) =>
  c ? `${fmtPct(c.cores.roster ?? Number.NaN)} / ${fmtPct(c.cores.bench ?? Number.NaN)} / ${fmtPct(c.machine)}` : '';

function ok(res: HttpResponse, what: string): unknown {
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
  return JSON.parse(res.body) as unknown;
}

export async function run(ctx: SuiteContext): Promise<void> {
  const sizes = ctx.quick ? QUICK : FULL;
  const suite = new SuiteRun('rest', DEADLINE_MS);
  const { log, cleanups, startedAt } = suite;

  try {
    // --- Set-up -----------------------------------------------------------------------------------------------
    const { background, loadAverage, revision, apiKey, scratch, roster } = await startRoster(suite, ctx);

    const sqlClient = new pg.Client({ ...ROSTER_SESSION, connectionString: scratch.url });
    await sqlClient.connect();
    cleanups.push(() => sqlClient.end());
    const pgVersion = (await sqlClient.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;

    const api = new HttpClient(roster.baseUrl, { connections: CONCURRENCY, headers: { authorization: `Bearer ${apiKey}` } });
    cleanups.push(async () => api.close());
    const post = async <T>(p: string, body: unknown) => ok(await api.request('POST', p, JSON.stringify(body)), `POST ${p}`) as T;
    const patch = async <T>(p: string, body: unknown) => ok(await api.request('PATCH', p, JSON.stringify(body)), `PATCH ${p}`) as T;

    const meter = new CpuMeter(() => ({ roster: roster.pid }));
    const measure = async (work: () => Promise<RunResult>): Promise<{ run: RunResult; cpu: CpuSample }> => {
      meter.start();
      const result = await work();
      return { run: result, cpu: meter.stop() };
    };
    const settle = async () => {
      await sqlClient.query('vacuum analyze user_group_members');
      await sqlClient.query('checkpoint');
    };

    const companyId = (await graphql<{ createTenant: { id: string } }>(api, 'mutation { createTenant(tenant:{name:"Bench"}) { id } }', {})).createTenant.id;
    const company = `/v3/companies/${companyId}`;
    const createGroup = async (name: string) => (await post<{ id: string }>(`${company}/user-groups`, { name, description: '' })).id;
    log(`company ${companyId}`);

    // Users: enough for every PATCH call to use fresh ids (API and floor, plus warm-up), and for the large group.
    const perSide = sizes.batch * sizes.calls;
    const userCount = Math.max(2 * perSide + 2 * WARMUP_CALLS * sizes.batch, sizes.listMembers);
    await sqlClient.query(
      `insert into users (tenant_id, id, reference, email, custom_data)
       select $1, gen_random_uuid(), 'bench-' || i, 'bench-' || i || '@bench.example', '{}' from generate_series(1, $2::int) i`,
      [companyId, userCount],
    );
    const userIds = (await sqlClient.query<{ id: string }>('select id from users where tenant_id = $1 order by reference', [companyId])).rows.map((r) => r.id);
    await sqlClient.query('vacuum analyze users');
    log(`inserted ${fmtInt(userIds.length)} users`);

    const rows: Row[] = [];
    const notes: string[] = [];

    // --- 1. PATCH members: add, then remove ---------------------------------------------------------------------
    const [apiGroup, sqlGroup, warmApi, warmSql] = [await createGroup('api'), await createGroup('sql'), await createGroup('warm api'), await createGroup('warm sql')];
    const slice = (start: number, i: number) => userIds.slice(start + i * sizes.batch, start + (i + 1) * sizes.batch);
    const warmBase = 2 * perSide;
    const patchMembers = (groupId: string, body: Record<string, string[]>) => patch(`${company}/user-groups/${groupId}/members`, body).then(() => undefined);
    const sqlMembers = (statement: string, groupId: string, ids: string[]) => sqlClient.query(statement, [companyId, groupId, ids]).then(() => undefined);
    const memberCount = async (groupId: string) => (await sqlClient.query<{ n: number }>(SQL_COUNT, [companyId, groupId])).rows[0]!.n;

    log('PATCH members: warm-up');
    for (let i = 0; i < WARMUP_CALLS; i++) {
      await patchMembers(warmApi, { userIdsToAdd: slice(warmBase, i) });
      await sqlMembers(SQL_ADD, warmSql, slice(warmBase + WARMUP_CALLS * sizes.batch, i));
    }
    for (let i = 0; i < WARMUP_CALLS; i++) {
      await patchMembers(warmApi, { userIdsToRemove: slice(warmBase, i) });
      await sqlMembers(SQL_REMOVE, warmSql, slice(warmBase + WARMUP_CALLS * sizes.batch, i));
    }
    await settle();

    for (const direction of ['add', 'remove'] as const) {
      const field = direction === 'add' ? 'userIdsToAdd' : 'userIdsToRemove';
      const statement = direction === 'add' ? SQL_ADD : SQL_REMOVE;
      log(`PATCH members ${direction}: ${sizes.calls} calls of ${fmtInt(sizes.batch)} ids via REST, then via pg`);
      const a = await measure(() => runClosedLoop(sizes.calls, 1, (i) => patchMembers(apiGroup, { [field]: slice(0, i) })));
      const f = await measure(() => runClosedLoop(sizes.calls, 1, (i) => sqlMembers(statement, sqlGroup, slice(perSide, i))));
      const expected = direction === 'add' ? perSide : 0;
      for (const g of [apiGroup, sqlGroup]) {
        const n = await memberCount(g);
        if (n !== expected) throw new Error(`group ${g} has ${n} members after ${direction}, expected ${expected}`);
      }
      const as = summarize(a.run.latencies, a.run.totalMs, perSide);
      const fs = summarize(f.run.latencies, f.run.totalMs, perSide);
      rows.push([
        '1',
        `PATCH …/members {${field}: ${fmtInt(sizes.batch)} ids} ×${sizes.calls}, fresh ids each call (per-call latency)`,
        `${fmtInt(as.perSec)} memberships/s`,
        `${fmtInt(fs.perSec)} memberships/s`,
        fmtPct(as.perSec / fs.perSec, 1),
        lat(as),
        lat(fs),
        cpuText(a.cpu),
      ]);
      await settle();
    }

    // --- 2. Listing members of a large group, offset 0 vs deep offset ------------------------------------------
    const bigGroup = await createGroup('big');
    log(`filling a group with ${fmtInt(sizes.listMembers)} members via pg (${fmtInt(sizes.batch)} per statement)`);
    for (let i = 0; i < sizes.listMembers / sizes.batch; i++) await sqlMembers(SQL_ADD, bigGroup, slice(0, i));
    await settle();
    const listPath = `${company}/user-groups/${bigGroup}/members`;
    for (const offset of [0, sizes.listMembers - sizes.pageSize]) {
      log(`list members at offset ${fmtInt(offset)}: ${sizes.offsetReps} calls each way`);
      const viaApi = async () => {
        const body = await post<{ members: unknown[]; pagination: { totalNumResults: number } }>(listPath, { pagination: { offset, limit: sizes.pageSize } });
        if (body.members.length !== sizes.pageSize || body.pagination.totalNumResults !== sizes.listMembers) {
          throw new Error(`list offset ${offset}: ${body.members.length} members, total ${body.pagination.totalNumResults}`);
        }
      };
      const viaSql = async () => {
        const { rows: r } = await sqlClient.query(listFloor([companyId, bigGroup, sizes.pageSize, offset]));
        const { rows: c } = await sqlClient.query<{ n: number }>(countFloor([companyId, bigGroup]));
        if (r.length !== sizes.pageSize || c[0]!.n !== sizes.listMembers) throw new Error(`SQL list offset ${offset}: ${r.length} rows`);
      };
      for (let i = 0; i < 3; i++) await viaApi();
      for (let i = 0; i < 3; i++) await viaSql();
      const a = await runClosedLoop(sizes.offsetReps, 1, viaApi);
      const f = await runClosedLoop(sizes.offsetReps, 1, viaSql);
      const am = median(a.latencies);
      const fm = median(f.latencies);
      rows.push([
        '2',
        `POST …/members {pagination: {offset: ${fmtInt(offset)}, limit: ${sizes.pageSize}}}, ${fmtInt(sizes.listMembers)}-member group (median of ${sizes.offsetReps})`,
        fmtMs(am),
        `${fmtMs(fm)} (page + count)`,
        fmtPct(fm / am),
        '',
        '',
        '',
      ]);
    }
    {
      // How the floor's time splits between the page and the count, at the deep offset.
      const split = async (statement: string, params: unknown[]) => {
        const ms: number[] = [];
        for (let i = 0; i < sizes.offsetReps; i++) {
          const t = performance.now();
          await sqlClient.query(statement, params);
          ms.push(performance.now() - t);
        }
        return median(ms);
      };
      const deep = sizes.listMembers - sizes.pageSize;
      const pageMs = await split(SQL_LIST, [companyId, bigGroup, sizes.pageSize, deep]);
      const countMs = await split(SQL_COUNT, [companyId, bigGroup]);
      notes.push(`Floor split at offset ${fmtInt(deep)} (medians): page statement ${fmtMs(pageMs)}, count(*) ${fmtMs(countMs)}.`);
    }

    // --- 3. rbac-info of a user in many groups, each holding a role --------------------------------------------
    const rbacUser = userIds[0]!;
    log(`rbac-info: ${sizes.rbacGroups} groups with a role each, user ${rbacUser} in all`);
    for (let i = 0; i < sizes.rbacGroups; i++) {
      const g = await createGroup(`rbac ${i}`);
      await patch(`${company}/user-groups/${g}/roles`, { rolesToAdd: [{ roleId: PLATFORM_ROLES[i % PLATFORM_ROLES.length]! }] });
      await patchMembers(g, { userIdsToAdd: [rbacUser] });
    }
    await settle();
    const rbacPath = `/v3/users/${rbacUser}/rbac-info`;
    const first = await api.getJson<{ permissions: { grantedBy: unknown[] }[] }>(rbacPath);
    const sources = first.permissions.reduce((n, p) => n + p.grantedBy.length, 0);
    if (first.permissions.length === 0) throw new Error('rbac-info returned no permissions');
    const grantRows = (await sqlClient.query(SQL_GRANTS, [companyId, rbacUser])).rows.length;
    if (grantRows < sizes.rbacGroups) throw new Error(`userGrants returned ${grantRows} rows, expected ≥ ${sizes.rbacGroups}`);
    notes.push(
      `rbac-info response: ${first.permissions.length} permissions with ${sources} grantedBy entries in all; the floor statement returns ${grantRows} rows.`,
    );
    const floorClients = await connectMany(scratch.url, CONCURRENCY);
    cleanups.push(() => endAll(floorClients));
    const rbacApi = async () => {
      const res = await api.request('GET', rbacPath);
      if (res.status !== 200) throw new Error(`rbac-info: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    };
    const rbacSql = async (_i: number, w: number) => {
      const { rows: r } = await floorClients[w]!.query(grantsFloor([companyId, rbacUser]));
      if (r.length !== grantRows) throw new Error(`userGrants: ${r.length} rows`);
    };
    log('rbac-info: warm-up');
    await runClosedLoop(500, CONCURRENCY, rbacApi);
    await runClosedLoop(500, CONCURRENCY, rbacSql);
    const rounds: { a: Summary; f: Summary; cpu: CpuSample }[] = [];
    for (let r = 0; r < sizes.rbacRounds; r++) {
      log(`rbac-info: round ${r + 1}/${sizes.rbacRounds}, ${fmtInt(sizes.rbacRequests)} requests each via REST and pg, ${CONCURRENCY} clients`);
      const a = await measure(() => runClosedLoop(sizes.rbacRequests, CONCURRENCY, rbacApi));
      const f = await measure(() => runClosedLoop(sizes.rbacRequests, CONCURRENCY, rbacSql));
      rounds.push({ a: summarize(a.run.latencies, a.run.totalMs), f: summarize(f.run.latencies, f.run.totalMs), cpu: a.cpu });
    }
    const ratio = (x: (typeof rounds)[number]) => x.a.perSec / x.f.perSec;
    const mid = [...rounds].sort((x, y) => ratio(x) - ratio(y))[Math.floor(rounds.length / 2)]!;
    rows.push([
      '3',
      `GET /v3/users/{id}/rbac-info, user in ${sizes.rbacGroups} groups with a role each, ×${fmtInt(sizes.rbacRequests)}, ${CONCURRENCY} clients (median of ${rounds.length} rounds)`,
      `${fmtInt(mid.a.perSec)} req/s`,
      `${fmtInt(mid.f.perSec)} req/s`,
      fmtPct(ratio(mid), 1),
      lat(mid.a),
      lat(mid.f),
      cpuText(mid.cpu),
    ]);
    notes.push(
      `rbac-info rounds, REST / pg req/s: ${rounds.map((x) => `${fmtInt(x.a.perSec)} / ${fmtInt(x.f.perSec)}`).join('; ')}. ` +
        `Roster CPU per rbac-info request: ${fmtMs(((mid.cpu.cores.roster ?? Number.NaN) * 1000) / mid.a.perSec)}.`,
    );

    // --- Report -------------------------------------------------------------------------------------------------
    const counts = (
      await sqlClient.query<{ users: number; groups: number; members: number; roles: number }>(
        `select (select count(*)::int from users) as users, (select count(*)::int from user_groups) as groups,
                (select count(*)::int from user_group_members) as members, (select count(*)::int from group_roles) as roles`,
      )
    ).rows[0]!;
    const machine = machineInfo(pgVersion);
    const elapsed = suite.elapsedSeconds();
    const section = [
      `## rest — ${startedAt.toISOString().slice(0, 10)}${workersTag(ctx).heading}${ctx.quick ? ' (quick)' : ''}`,
      '',
      `\`npm run bench -- rest\`. Run at ${startedAt.toISOString()}, ${elapsed.toFixed(0)} s. Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ` +
        `${machine.ramGiB} GiB RAM, ${machine.os}; Node ${machine.node}; PostgreSQL ${machine.postgres} on 127.0.0.1 ` +
        `(same machine). Roster at ${revision}: NODE_ENV=production, LOG_LEVEL=warn, pg pool 10${workersTag(ctx).setup}, started as in \`core\`. Background load ` +
        `just before the run: ${fmtPct(background)} of all CPUs busy, 1-min load average ${loadAverage.toFixed(2)}.`,
      '',
      `Dataset: one company created with GraphQL \`createTenant\`; ${fmtInt(userIds.length)} users bulk-inserted by SQL; groups created with ` +
        `REST \`POST …/user-groups\`. At the end: ${fmtInt(counts.users)} users, ${fmtInt(counts.groups)} groups, ` +
        `${fmtInt(counts.members)} memberships, ${fmtInt(counts.roles)} group-role assignments. Floors: (1) the brief's ` +
        `\`insert … select $1, $2, unnest($3::uuid[]) on conflict do nothing\` / \`delete … user_id = any($3::uuid[])\` on one connection, ` +
        `same batches, into a second group; (2) Roster's \`listMemberships\` page statement plus its \`count(*)\`, on one connection; ` +
        `(3) \`userGrants\` (repositories/roles.ts) on ${CONCURRENCY} connections. The large group was filled with ${fmtInt(sizes.batch)}-id ` +
        `statements (same added_at within each).`,
      '',
      markdownTable(TABLE_HEADER, rows),
      '',
    ];
    await publishSection(suite, ctx, roster.output(), section, notes);
  } finally {
    await suite.finish();
  }
}
