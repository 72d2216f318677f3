/**
 * Bounded work per request (docs/security.md): every filter list and string is bounded where the API takes it,
 * set filters are one set-based condition whatever their length, PostgreSQL cancels a statement past
 * ROSTER_STATEMENT_TIMEOUT_MS, and while a request as heavy as the limits allow runs, `/healthz` and `/readyz` answer
 * (the embedded database runs in a worker thread).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { ConfigError, loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { createScratchDatabase, gql, gqlOk, startServer, type TestServer } from './helpers/server.ts';

const adminUrl = process.env.DATABASE_URL;
const needsPostgres = adminUrl ? false : 'DATABASE_URL is not set (PGlite has no statement timeout: its statements run in a worker thread)';

/** One tenant with `users` users and `groups` groups, user i in group j when (7i + j) % `spread` = 0, in three statements. */
async function seed(server: TestServer, users: number, groups: number, spread: number): Promise<{ tenantId: string; groups: { id: string; name: string }[] }> {
  const db = server.database.db;
  const tenantId = randomUUID();
  await sql`insert into tenants (id, name) values (${tenantId}, ${`Bounded ${tenantId}`})`.execute(db);
  await sql`insert into users (id, tenant_id, reference, email, first_name, last_name, custom_data)
    select gen_random_uuid(), ${tenantId}, 'ref' || i, 'User' || i || '@Example.com', 'First' || i, 'Last' || i, '{}'
    from generate_series(1, ${users}) i`.execute(db);
  await sql`insert into user_groups (id, tenant_id, name, reference, description, type)
    select gen_random_uuid(), ${tenantId}, 'group ' || i, 'gref' || i, '', 'default' from generate_series(1, ${groups}) i`.execute(db);
  await sql`insert into user_group_members (tenant_id, group_id, user_id)
    select ${tenantId}, g.id, u.id
    from (select id, row_number() over (order by reference) rn from user_groups where tenant_id = ${tenantId}) g
    join (select id, row_number() over (order by reference) rn from users where tenant_id = ${tenantId}) u on (u.rn * 7 + g.rn) % ${spread} = 0`.execute(db);
  const rows = (await sql<{ id: string; name: string }>`select id, name from user_groups where tenant_id = ${tenantId} order by reference`.execute(db)).rows;
  return { tenantId, groups: rows };
}

describe('bounded work per request', () => {
  let server: TestServer;
  let tenantId: string;
  let groups: { id: string; name: string }[];
  before(async () => {
    server = await startServer();
    ({ tenantId, groups } = await seed(server, 600, 120, 12));
    await gqlOk(server, '{ users(limit: 1) { totalCount } }');
  });
  after(() => server.close());

  const countOf = async (filter: Record<string, unknown>): Promise<number> =>
    (await gqlOk<{ users: { totalCount: number } }>(server, 'query($f: UserFilterArgType) { users(filter: $f) { totalCount } }', { f: { tenantId: { equalTo: tenantId }, ...filter } })).users.totalCount;

  /** Plain SQL's answer: users of the tenant in every one of `groupIds`. */
  const inEvery = async (groupIds: readonly string[]): Promise<number> => {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from users u where u.tenant_id = ${tenantId} and u.active and
      coalesce((select array_agg(m.group_id) from user_group_members m where m.tenant_id = u.tenant_id and m.user_id = u.id), '{}') @> ${[...groupIds]}::uuid[]`.execute(server.database.db);
    return rows[0]!.n;
  };

  describe('every list and string of a filter is bounded before any SQL runs', () => {
    const ids = (n: number) => Array.from({ length: n }, () => randomUUID());
    const names = (n: number) => Array.from({ length: n }, (_, i) => `name ${i}`);
    const long = 'x'.repeat(256);
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['userGroupId.all of 1,001 ids', 'users', { userGroupId: { all: ids(1001) } }, 'filter.userGroupId.all'],
      ['userGroupId.valueIn of 1,001 ids', 'users', { userGroupId: { valueIn: ids(1001) } }, 'filter.userGroupId.valueIn'],
      ['userGroupName.all of 1,001 names', 'users', { userGroupName: { all: names(1001) } }, 'filter.userGroupName.all'],
      ['email.valueIn of 1,001 strings', 'users', { email: { valueIn: names(1001) } }, 'filter.email.valueIn'],
      ['a 256-character search', 'users', { search: long }, 'filter.search'],
      ['a 256-character like pattern', 'users', { firstName: { like: long } }, 'filter.firstName.like'],
      ['a 256-character group name in all', 'users', { userGroupName: { all: ['a', long] } }, 'filter.userGroupName.all'],
      ['a group listing with 1,001 names', 'userGroups', { name: { valueIn: names(1001) } }, 'filter.name.valueIn'],
      ['a role listing with a 256-character key', 'roles', { key: { equalTo: long } }, 'filter.key.equalTo'],
    ];
    for (const [name, field, filter, expectedField] of cases) {
      it(`${name}: BAD_USER_INPUT naming ${expectedField}, nothing run`, async () => {
        const argType = { users: 'UserFilterArgType', userGroups: 'UserGroupFilterArgType', roles: 'RoleFilterArgType' }[field];
        server.resetQueryCount();
        const res = await gql(server, `query($f: ${argType}) { ${field}(filter: $f) { totalCount } }`, { f: filter });
        assert.equal(res.status, 400, JSON.stringify(res.errors));
        assert.equal(res.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
        assert.equal(res.errors?.[0]?.extensions.field, expectedField);
        assert.equal(server.queryCount(), 0);
      });
    }

    it('a search key value past the string limit: BAD_USER_INPUT naming search.value', async () => {
      const res = await gql(server, 'query($v: String!) { users(search: { key: email, value: $v }) { totalCount } }', { v: long });
      assert.equal(res.errors?.[0]?.extensions.field, 'search.value');
    });

    it('ROSTER_FILTER_LIST_MAX sets the bound, and a list at the bound is served', async () => {
      const small = await startServer({ ROSTER_FILTER_LIST_MAX: '3' });
      try {
        const query = 'query($ids: [ID!]) { users(filter: { userGroupId: { all: $ids } }) { totalCount } }';
        const refused = await gql(small, query, { ids: ids(4) });
        assert.equal(refused.errors?.[0]?.extensions.field, 'filter.userGroupId.all');
        assert.match(refused.errors?.[0]?.message ?? '', /at most 3 entries/);
        assert.equal((await gql(small, query, { ids: ids(3) })).status, 200);
      } finally {
        await small.close();
      }
    });
  });

  describe('userGroupId.all and userGroupName.all: users in every listed group, one condition whatever the length', () => {
    it('agrees with plain SQL for two, three, duplicated and the most ids allowed', async () => {
      const pick = (...i: number[]) => i.map((k) => groups[k]!.id);
      for (const list of [pick(0, 1), pick(4, 5, 16), pick(3, 3, 15), pick(2)]) {
        assert.equal(await countOf({ userGroupId: { all: list } }), await inEvery(list), JSON.stringify(list));
      }
      assert.ok((await inEvery(pick(0, 12))) > 0, 'the seed puts some users in two groups');
      const most = [...groups.map((g) => g.id), ...Array.from({ length: 1000 - groups.length }, () => groups[0]!.id)];
      assert.equal(await countOf({ userGroupId: { all: most } }), await inEvery(most));
    });

    it('a group of another tenant in the list matches nobody', async () => {
      const other = await seed(server, 5, 2, 1);
      assert.equal(await countOf({ userGroupId: { all: [groups[0]!.id, other.groups[0]!.id] } }), 0);
    });

    it('names: the same users as the ids of the same groups', async () => {
      for (const k of [[0, 12], [1, 13, 25], [7, 7]]) {
        const byName = await countOf({ userGroupName: { all: k.map((i) => groups[i]!.name) } });
        assert.equal(byName, await inEvery(k.map((i) => groups[i]!.id)), JSON.stringify(k));
      }
    });
  });

  describe('e-mail equality ignores case, as e-mail uniqueness does', () => {
    it('equalTo, notEqualTo and valueIn match whatever the case; like keeps case', async () => {
      assert.equal(await countOf({ email: { equalTo: 'user1@example.com' } }), 1);
      assert.equal(await countOf({ email: { equalTo: 'USER1@EXAMPLE.COM' } }), 1);
      assert.equal(await countOf({ email: { valueIn: ['user2@example.COM', 'USER3@example.com'] } }), 2);
      assert.equal(await countOf({ email: { notEqualTo: 'user1@EXAMPLE.com' } }), 599);
      assert.equal(await countOf({ email: { like: 'user1@%' } }), 0);
      assert.equal(await countOf({ email: { like: 'User1@%' } }), 1);
    });
  });

  describe('a request as heavy as the limits allow', () => {
    // PostgreSQL's pool hands its connections out in arrival order: there, a burst is bounded by the cost limit and
    // each statement by the statement timeout (docs/security.md).
    const pgliteOnly = adminUrl ? 'on PostgreSQL the pool serves statements in arrival order' : false;
    it('on PGlite: other requests are served while it runs, not after it (the database is shared between requests turn by turn)', { skip: pgliteOnly }, async () => {
      // 240 counts of 800-row pages: 480 fields and a cost of 192,000 rows, within the default limits; each count a
      // statement, all issued at once. A lookup sent after them must not wait for all 240.
      const aliases = Array.from({ length: 240 }, (_, i) => `a${i}: users(limit: 800, offset: ${i}, filter: { tenantId: { equalTo: "${tenantId}" } }) { totalCount }`).join('\n');
      let heavyDone = false;
      const heavy = gql(server, `{ ${aliases} }`).finally(() => (heavyDone = true));
      await new Promise((r) => setTimeout(r, 100));
      const someone = await sql<{ id: string }>`select id from users where tenant_id = ${tenantId} limit 1`.execute(server.database.db).catch(() => undefined);
      const id = someone?.rows[0]?.id ?? groups[0]!.id;
      const lookup = await gql(server, 'query($id: ID!) { user(id: $id) { id } }', { id });
      assert.equal(lookup.status, 200);
      assert.equal(heavyDone, false, 'the lookup answered before the heavy request ended');
      const res = await heavy;
      assert.equal(res.status, 200, JSON.stringify(res.errors));
      assert.equal((res.data as Record<string, { totalCount: number }>).a0!.totalCount, 600);
    });

    it('/healthz answers within a second, and /readyz answers, while it runs', async () => {
      // 120 groups x 20 users x 20 groups, with the counts: within the default cost limit of 200,000 rows.
      const heavy = gql(server, `{ userGroups(limit: 120, filter: { tenantId: { equalTo: "${tenantId}" } }) { totalCount data { users(limit: 20) { totalCount data { userGroups(limit: 20) { totalCount data { id } } } } } } }`);
      let answered = false;
      void heavy.finally(() => (answered = true));
      const latencies: number[] = [];
      const readiness: number[] = [];
      while (!answered) {
        const started = performance.now();
        const health = await fetch(`${server.url}/healthz`);
        latencies.push(performance.now() - started);
        assert.equal(health.status, 200);
        const readyStarted = performance.now();
        const ready = await fetch(`${server.url}/readyz`);
        readiness.push(performance.now() - readyStarted);
        assert.ok(ready.status === 200 || ready.status === 503, `readyz answered ${ready.status}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      const res = await heavy;
      assert.equal(res.status, 200, JSON.stringify(res.errors));
      assert.ok(latencies.length > 0);
      assert.ok(Math.max(...latencies) < 1000, `healthz took up to ${Math.max(...latencies).toFixed(0)} ms`);
      // It waits up to a second for the database, then says it is busy; the rest is this busy machine's scheduling.
      assert.ok(Math.max(...readiness) < 3000, `readyz took up to ${Math.max(...readiness).toFixed(0)} ms`);
    });
  });
});

describe('ROSTER_STATEMENT_TIMEOUT_MS', () => {
  it('defaults to 30 s; 0 turns it off; refuses anything else, naming the variable', () => {
    assert.equal(loadConfig({}).statementTimeoutMs, 30_000);
    assert.equal(loadConfig({ ROSTER_STATEMENT_TIMEOUT_MS: '0' }).statementTimeoutMs, 0);
    assert.throws(() => loadConfig({ ROSTER_STATEMENT_TIMEOUT_MS: '-1' }), (e: unknown) => e instanceof ConfigError && /ROSTER_STATEMENT_TIMEOUT_MS/.test(e.message));
  });

  it('on PostgreSQL: a statement held past the timeout is cancelled by PostgreSQL and answered 503 STATEMENT_TIMEOUT; nothing is written', { skip: needsPostgres }, async () => {
    const server = await startServer({ ROSTER_STATEMENT_TIMEOUT_MS: '300' });
    try {
      const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(server.database.db);
      const url = new URL(adminUrl!);
      url.pathname = `/${rows[0]!.db}`;
      const locker = new pg.Client({ connectionString: url.toString() });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query('lock table users in access exclusive mode');
        const read = await gql(server, '{ users { totalCount } }');
        assert.equal(read.errors?.[0]?.extensions.code, 'STATEMENT_TIMEOUT', JSON.stringify(read.errors));
        assert.equal(read.status, 503);
        const write = await gql(server, 'mutation { createUser(user: { email: "held@example.com", reference: "held" }) { id } }');
        assert.equal(write.errors?.[0]?.extensions.code, 'STATEMENT_TIMEOUT', JSON.stringify(write.errors));
        await locker.query('rollback');
      } finally {
        await locker.end();
      }
      const after = await gqlOk<{ users: { totalCount: number } }>(server, '{ users(filter: { email: { equalTo: "held@example.com" } }) { totalCount } }');
      assert.equal(after.users.totalCount, 0, 'the cancelled write left nothing');
    } finally {
      await server.close();
    }
  });

  it('on PostgreSQL: sessions start with the timeout, and migrations run without it', { skip: needsPostgres }, async () => {
    const scratch = await createScratchDatabase(adminUrl!, 'roster_timeout');
    // 1 ms, so that any migration statement run under it would fail. On a busy machine even `select 1` (the probe
    // when the database opens) or `show` can take longer; those are tried again, the migrations never.
    const underLoad = async <T>(work: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await work();
        } catch (e) {
          if (attempt >= 20 || (e as { code?: string }).code !== '57014') throw e;
        }
      }
    };
    // A new database's first session builds its catalog caches, which takes longer than 1 ms: one session without
    // the timeout does that first.
    await (await openDatabase({ databaseUrl: scratch.url, dataDir: 'unused', poolSize: 1, statementTimeoutMs: 0 })).close();
    const handle = await underLoad(() => openDatabase({ databaseUrl: scratch.url, dataDir: 'unused', poolSize: 1, statementTimeoutMs: 1 }));
    const timeout = async () => (await underLoad(() => sql<{ statement_timeout: string }>`show statement_timeout`.execute(handle.db))).rows[0]!.statement_timeout;
    try {
      assert.equal(await timeout(), '1ms');
      await migrateToLatest(handle.db as never);
      assert.equal(await timeout(), '1ms', 'restored after the migrations');
    } finally {
      await handle.close();
      await scratch.drop();
    }
  });
});
