import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, sql, type LogConfig } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { lockDataDirectory } from './data-dir-lock.ts';

export type Db = Kysely<Database>;

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; without it, PGlite in `dataDir` (or in memory when `dataDir` is `memory://`). */
  readonly databaseUrl?: string | undefined;
  readonly dataDir: string;
  readonly poolSize?: number;
  /** Called when an idle pooled connection fails (it is discarded and replaced). */
  readonly onIdleError?: (error: Error) => void;
  /** Called after every statement; tests use it to count round trips. */
  readonly onQuery?: (sql: string) => void;
}

export interface DatabaseHandle {
  readonly db: Db;
  readonly kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

// Return timestamptz as Date and bigint counts as numbers; the API never counts past 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

function queryLogger(options: OpenDatabaseOptions): LogConfig | undefined {
  const onQuery = options.onQuery;
  if (!onQuery) return undefined;
  return (event) => {
    if (event.level === 'query') onQuery(event.query.sql);
  };
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    // An idle connection can die (server restart, admin termination); the pool drops it and opens a new one when
    // needed. Without a listener, that 'error' event would crash the process.
    pool.on('error', (err) => options.onIdleError?.(err));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: queryLogger(options) });
    await sql`select 1`.execute(db);
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  let unlock = () => {};
  if (!options.dataDir.startsWith('memory://')) {
    await mkdir(options.dataDir, { recursive: true });
    unlock = lockDataDirectory(options.dataDir);
  }
  try {
    const pglite = await PGlite.create(options.dataDir, { parsers: { 20: (v: string) => Number.parseInt(v, 10) } });
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }), log: queryLogger(options) });
    return {
      db,
      kind: 'pglite',
      // Kysely's PGlite driver closes the PGlite instance on destroy, which flushes the data directory.
      close: async () => {
        await db.destroy();
        unlock();
      },
    };
  } catch (e) {
    unlock();
    throw e;
  }
}
