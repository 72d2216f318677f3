/**
 * ROSTER_PG_JIT (db/database.ts): Roster's PostgreSQL sessions start with `jit = off`, because JIT compiling a
 * statement whose estimate passes `jit_above_cost` cost a big group's first page 190 ms for 2 ms of work; `server`
 * leaves PostgreSQL's own setting (for a pooler that refuses startup options), and an `options` parameter in the
 * connection string replaces Roster's. Reads settings and plans only: nothing is written.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { ConfigError, loadConfig } from '../src/config.ts';
import { openDatabase, type Db } from '../src/db/database.ts';

const adminUrl = process.env.DATABASE_URL;
const needsPostgres = adminUrl ? false : 'DATABASE_URL is not set (PGlite has no JIT)';

async function withDatabase<T>(options: { url?: string; jit?: 'off' | 'server' }, run: (db: Db) => Promise<T>): Promise<T> {
  const handle = await openDatabase({ databaseUrl: options.url ?? adminUrl, dataDir: 'unused', poolSize: 1, jit: options.jit });
  try {
    return await run(handle.db);
  } finally {
    await handle.close();
  }
}

const showJit = async (db: Db) => (await sql<{ jit: string }>`show jit`.execute(db)).rows[0]!.jit;

/** Whether PostgreSQL JIT-compiled a statement estimated far above any threshold (every threshold set to 0). */
async function compiles(db: Db): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    await sql`set local jit_above_cost = 0`.execute(tx);
    const { rows } = await sql<{ 'QUERY PLAN': unknown[] }>`
      explain (analyze, format json) select sum(i) from generate_series(1, 1000) i`.execute(tx);
    const plan = rows[0]!['QUERY PLAN'][0] as Record<string, unknown>;
    return 'JIT' in plan;
  });
}

describe('ROSTER_PG_JIT', () => {
  it('defaults to off; accepts server; refuses anything else, naming the variable', () => {
    assert.equal(loadConfig({}).pgJit, 'off');
    assert.equal(loadConfig({ ROSTER_PG_JIT: 'server' }).pgJit, 'server');
    assert.throws(
      () => loadConfig({ ROSTER_PG_JIT: 'on' }),
      (e: unknown) => e instanceof ConfigError && /ROSTER_PG_JIT/.test(e.message),
    );
  });

  it('on PostgreSQL: Roster\'s sessions run with jit off, and a statement past every JIT threshold is not compiled', { skip: needsPostgres }, async () => {
    await withDatabase({}, async (db) => {
      assert.equal(await showJit(db), 'off');
      assert.equal(await compiles(db), false);
    });
  });

  it('on PostgreSQL: server leaves the server\'s setting, which compiles that statement where JIT is available', { skip: needsPostgres }, async () => {
    const direct = new pg.Client({ connectionString: adminUrl });
    await direct.connect();
    const serverSetting = (await direct.query<{ jit: string }>('show jit')).rows[0]!.jit;
    const available = (await direct.query<{ a: boolean }>('select pg_jit_available() and current_setting($1) = $2 as a', ['jit', 'on'])).rows[0]!.a;
    await direct.end();
    await withDatabase({ jit: 'server' }, async (db) => {
      assert.equal(await showJit(db), serverSetting);
      assert.equal(await compiles(db), available, 'the comparison above shows the threshold alone decides');
    });
  });

  it('on PostgreSQL: an options parameter in the connection string replaces Roster\'s', { skip: needsPostgres }, async () => {
    const url = new URL(adminUrl!);
    url.searchParams.set('options', '-c jit=on -c work_mem=8MB');
    await withDatabase({ url: url.toString() }, async (db) => {
      assert.equal(await showJit(db), 'on');
      assert.equal((await sql<{ work_mem: string }>`show work_mem`.execute(db)).rows[0]!.work_mem, '8MB');
    });
  });
});
