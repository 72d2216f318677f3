/**
 * Named statements on PostgreSQL (db/prepared-statements.ts): frequent texts are prepared once per connection,
 * rare ones never, the number is bounded, and a prepared `select *` keeps working after another connection
 * changes the table's columns. PGlite runs every statement unnamed, so the database tests need DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/database.ts';
import { StatementRegistry } from '../src/db/prepared-statements.ts';
import { createScratchDatabase } from './helpers/server.ts';

const adminUrl = process.env.DATABASE_URL;
const needsPostgres = adminUrl ? false : 'DATABASE_URL is not set (PGlite has no named statements)';

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
      // Planned for each call's values: a generic plan can be far worse on skewed data (see database.ts).
      const mode = await sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(handle.db);
      assert.equal(mode.rows[0]!.plan_cache_mode, 'force_custom_plan');
      // ...except inside a transaction, whose foreign-key checks need their cached plans; and only there.
      const inside = await handle.db.transaction().execute(async (tx) => (await sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(tx)).rows[0]!.plan_cache_mode);
      assert.equal(inside, 'auto');
      const serializable = await handle.db.transaction().setIsolationLevel('serializable').execute(async (tx) =>
        (await sql<{ plan_cache_mode: string; transaction_isolation: string }>`select current_setting('plan_cache_mode') as plan_cache_mode, current_setting('transaction_isolation') as transaction_isolation`.execute(tx)).rows[0]!);
      assert.deepEqual(serializable, { plan_cache_mode: 'auto', transaction_isolation: 'serializable' });
      assert.equal((await sql<{ plan_cache_mode: string }>`show plan_cache_mode`.execute(handle.db)).rows[0]!.plan_cache_mode, 'force_custom_plan');
    } finally {
      await handle.close();
      await scratch.drop();
    }
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
