/**
 * Named statements on PostgreSQL (db/prepared-statements.ts): frequent texts are prepared once per connection,
 * rare ones never, the number is bounded, and a prepared `select *` keeps working after another connection
 * changes the table's columns. PGlite runs every statement unnamed, so the database tests need DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../src/db/database.ts';
import { PLAN_EACH_CALL, StatementRegistry } from '../src/db/prepared-statements.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import * as usersRepo from '../src/repositories/users.ts';
import * as membershipsRepo from '../src/repositories/memberships.ts';
import * as rolesRepo from '../src/repositories/roles.ts';
import { ELEMENTS_INLINE_UP_TO } from '../src/repositories/sql-conditions.ts';
import { createScratchDatabase } from './helpers/server.ts';

const adminUrl = process.env.DATABASE_URL;
const needsPostgres = adminUrl ? false : 'DATABASE_URL is not set (PGlite has no named statements)';

/**
 * A migrated database holding one tenant with `users` users (`ref-1`, `u1@example.com`, ...): a scratch PostgreSQL
 * database on one connection (so `pg_prepared_statements` sees every statement) with DATABASE_URL, else PGlite.
 */
async function tenantWithUsers(users: number): Promise<{ db: Db; tenantId: string; close(): Promise<void> }> {
  const scratch = adminUrl ? await createScratchDatabase(adminUrl, 'roster_prep') : undefined;
  const handle = await openDatabase(scratch ? { databaseUrl: scratch.url, dataDir: 'unused', poolSize: 1 } : { dataDir: 'memory://' });
  const close = async () => {
    await handle.close();
    await scratch?.drop();
  };
  try {
    await migrateToLatest(handle.db as never);
    const tenantId = randomUUID();
    await sql`insert into tenants (id, name) values (${tenantId}, 'T')`.execute(handle.db);
    await sql`insert into users (tenant_id, id, reference, email)
      select ${tenantId}, gen_random_uuid(), 'ref-' || i, 'u' || i || '@example.com' from generate_series(1, ${users}) i`.execute(handle.db);
    return { db: handle.db, tenantId, close };
  } catch (e) {
    await close();
    throw e;
  }
}

describe('prepared statements', () => {
  it('the registry names a text from its threshold-th use, and at most max texts', () => {
    const registry = new StatementRegistry({ threshold: 3, max: 2 });
    assert.equal(registry.nameFor('a'), undefined);
    assert.equal(registry.nameFor('a'), undefined);
    const a = registry.nameFor('a');
    assert.match(a ?? '', /^roster_[0-9a-f]{20}$/);
    assert.equal(registry.nameFor('a'), a);
    for (let i = 0; i < 3; i++) registry.nameFor('b');
    assert.equal(registry.preparedCount, 2);
    for (let i = 0; i < 5; i++) assert.equal(registry.nameFor('c'), undefined, 'past max, nothing more is prepared');
    assert.notEqual(registry.nameFor('b'), a);
  });

  it('on PostgreSQL: a repeated statement is prepared once on the connection; a one-off is not', { skip: needsPostgres }, async () => {
    const scratch = await createScratchDatabase(adminUrl!, 'roster_prep');
    const handle = await openDatabase({ databaseUrl: scratch.url, dataDir: 'unused', poolSize: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const { rows } = await sql<{ n: number }>`select ${i}::int + 1 as n`.execute(handle.db);
        assert.equal(rows[0]!.n, i + 1);
      }
      await sql`select 'once' as x`.execute(handle.db);
      const { rows } = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(handle.db);
      assert.deepEqual(rows.map((r) => r.statement), ['select $1::int + 1 as n']);
      assert.equal(rows.length, 1);
      assert.match(rows[0]!.name, /^roster_/);
      // PostgreSQL's default plan mode: after five calls a statement may keep a generic plan and stop planning.
      const mode = await sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(handle.db);
      assert.equal(mode.rows[0]!.plan_cache_mode, 'auto');
    } finally {
      await handle.close();
      await scratch.drop();
    }
  });

  it('on PostgreSQL: a point lookup runs a generic plan; a statement whose plan depends on its values is never prepared', { skip: needsPostgres }, async () => {
    const { db, close } = await tenantWithUsers(50);
    try {
      const base = { sort: 'createdAt', order: 'DESC', limit: 10, offset: 0 } as const;
      for (let i = 1; i <= 10; i++) {
        const byRef = await usersRepo.listUsers(db, { ...base, filter: { reference: { equalTo: `ref-${i}` } } });
        assert.equal(byRef.users.length, 1);
        // A substring search: the pattern decides whether the trigram index pays, so it is planned per call.
        const search = await usersRepo.listUsers(db, { ...base, filter: { search: `u${i}@` } });
        assert.equal(search.users.length, 1);
      }
      const { rows } = await sql<{ statement: string; generic_plans: number; custom_plans: number }>`
        select statement, generic_plans::int, custom_plans::int from pg_prepared_statements where statement like '%from users u%'`.execute(db);
      assert.equal(rows.length, 1, `only the lookup is prepared: ${rows.map((r) => r.statement).join(' | ')}`);
      assert.match(rows[0]!.statement, /"reference" = \$1/);
      assert.ok(rows[0]!.generic_plans > 0, `the lookup reached a generic plan (custom ${rows[0]!.custom_plans}, generic ${rows[0]!.generic_plans})`);
    } finally {
      await close();
    }
  });

  it('on PostgreSQL: a single membership change and a user\'s grants settle on a generic plan (short id lists are one parameter per id)', { skip: needsPostgres }, async () => {
    // Enough users that the planner probes the indexes one id at a time, so the count of ids sets the cost.
    const { db, tenantId, close } = await tenantWithUsers(20_000);
    try {
      const groupId = randomUUID();
      await sql`insert into user_groups (tenant_id, id, name, reference, type) values (${tenantId}, ${groupId}, 'G', 'g', 't')`.execute(db);
      const everyone = randomUUID();
      await sql`insert into user_groups (tenant_id, id, name, reference, type) values (${tenantId}, ${everyone}, 'All', 'all', 't')`.execute(db);
      await sql`insert into user_group_members (tenant_id, group_id, user_id) select tenant_id, ${everyone}, id from users`.execute(db);
      await sql`analyze users`.execute(db);
      await sql`analyze user_group_members`.execute(db);
      const { rows: users } = await sql<{ id: string }>`select id from users order by reference limit 20`.execute(db);
      const audit = (operation: string) => ({ id: randomUUID(), tenantId, actorKind: 'apiKey', actorId: 'test', operation, targetType: 'userGroup', targetId: groupId, changes: {}, subjects: [], requestId: null });
      for (const { id } of users) {
        const common = { relation: 'members', tenantId, groupId, userIds: [id], requireAll: true } as const;
        assert.deepEqual((await membershipsRepo.changeAudited(db, { ...common, change: 'add', audit: audit('add') })).changed, [id]);
        assert.deepEqual((await membershipsRepo.changeAudited(db, { ...common, change: 'remove', audit: audit('remove') })).changed, [id]);
        assert.deepEqual(await rolesRepo.userGrants(db, tenantId, id), []);
        // The super-admin's form, which reads the group in the same statement.
        const { tenantId: _known, ...byGroupId } = common;
        assert.deepEqual((await membershipsRepo.changeAuditedInGroup(db, { ...byGroupId, tenantId: undefined, change: 'add', audit: audit('add') }))?.changed, [id]);
        assert.deepEqual((await membershipsRepo.changeAuditedInGroup(db, { ...byGroupId, tenantId: undefined, change: 'remove', audit: audit('remove') }))?.changed, [id]);
      }
      const { rows } = await sql<{ statement: string; generic_plans: number; custom_plans: number }>`
        select statement, generic_plans::int, custom_plans::int from pg_prepared_statements
        where statement like '%with candidate as%' or statement like '%with group_read as%' or statement like '%with who as%'`.execute(db);
      assert.equal(rows.length, 5, rows.map((r) => r.statement).join(' | '));
      for (const r of rows) {
        // With the ids as one array parameter PostgreSQL planned every call anew (custom 18, generic 0; the first
        // two uses run unnamed): the generic plan counted 10 ids where each call's plan counted 1.
        assert.ok(r.custom_plans <= 5 && r.generic_plans >= 10, `custom ${r.custom_plans}, generic ${r.generic_plans}: ${r.statement.trim().slice(0, 120)}`);
      }
    } finally {
      await close();
    }
  });

  it('id lists of every length around the inline limit find exactly their rows (empty, short, long)', async () => {
    const { db, tenantId, close } = await tenantWithUsers(30);
    try {
      const { rows } = await sql<{ id: string; reference: string }>`select id, reference from users order by reference`.execute(db);
      const limit = ELEMENTS_INLINE_UP_TO;
      for (const n of [0, 1, 2, limit - 1, limit, limit + 1, 30]) {
        const some = rows.slice(0, n);
        // An unknown id among them matches nothing.
        const ids = [...some.map((r) => r.id), ...(n > 0 ? [randomUUID()] : [])];
        const byId = await usersRepo.findUserKeys(db, { ids });
        assert.deepEqual(byId.map((u) => u.id).sort(), some.map((r) => r.id).sort(), `${n} ids`);
        const byRef = await usersRepo.findUserKeys(db, { tenantId, refs: some.map((r) => r.reference) });
        assert.deepEqual(byRef.map((u) => u.reference).sort(), some.map((r) => r.reference).sort(), `${n} references`);
        const listed = await usersRepo.listUsers(db, { sort: 'createdAt', order: 'DESC', limit: 50, offset: 0, filter: { id: { valueIn: ids } } });
        assert.equal(listed.users.length, n, `valueIn of ${n} ids`);
      }
    } finally {
      await close();
    }
  });

  it('the registry never names a text marked PLAN_EACH_CALL', () => {
    const registry = new StatementRegistry({ threshold: 1, max: 10 });
    for (let i = 0; i < 5; i++) assert.equal(registry.nameFor(`${PLAN_EACH_CALL}select 1`), undefined);
    assert.equal(registry.preparedCount, 0);
  });

  it('on PostgreSQL: a prepared select * survives a column added by another connection', { skip: needsPostgres }, async () => {
    const scratch = await createScratchDatabase(adminUrl!, 'roster_prep');
    const handle = await openDatabase({ databaseUrl: scratch.url, dataDir: 'unused', poolSize: 1 });
    const other = await openDatabase({ databaseUrl: scratch.url, dataDir: 'unused', preparedStatements: false });
    try {
      await sql`create table t (id int primary key, a text)`.execute(other.db);
      await sql`insert into t values (1, 'x')`.execute(other.db);
      const read = async () => (await sql<Record<string, unknown>>`select * from t where id = ${1}`.execute(handle.db)).rows[0];
      for (let i = 0; i < 5; i++) assert.deepEqual(await read(), { id: 1, a: 'x' });
      await sql`alter table t add column b int default 7`.execute(other.db);
      // Without the fallback: "cached plan must not change result type".
      assert.deepEqual(await read(), { id: 1, a: 'x', b: 7 });
      assert.deepEqual(await read(), { id: 1, a: 'x', b: 7 });
    } finally {
      await other.close();
      await handle.close();
      await scratch.drop();
    }
  });
});
