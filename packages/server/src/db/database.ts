import { mkdir } from 'node:fs/promises';
import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { lockDataDirectory } from './data-dir-lock.ts';
import { PGliteThread } from './pglite-thread.ts';
import { PGliteThreadDialect } from './pglite-thread-dialect.ts';
import { DEFAULT_PREPARED_STATEMENTS, StatementRegistry, usePreparedStatements, type PreparedStatementOptions } from './prepared-statements.ts';

export type Db = Kysely<Database>;

export interface OpenDatabaseOptions {
  /** PostgreSQL connection string; without it, PGlite in `dataDir` (or in memory when `dataDir` is `memory://`). */
  readonly databaseUrl?: string | undefined;
  readonly dataDir: string;
  readonly poolSize?: number;
  /** Called when an idle pooled connection fails (it is discarded and replaced). */
  readonly onIdleError?: (error: Error) => void;
  /** PostgreSQL only: run frequent statements as named (prepared) statements; `false` turns it off. */
  readonly preparedStatements?: PreparedStatementOptions | false;
  /**
   * PostgreSQL only: `off` (the default) starts every session with `jit = off`; `server` leaves PostgreSQL's own
   * setting, for a pooler that refuses startup options. An `options` parameter in `databaseUrl` replaces Roster's.
   */
  readonly jit?: 'off' | 'server';
  /**
   * PostgreSQL only: statements running longer than this many ms are cancelled by PostgreSQL itself (SQLSTATE
   * 57014), even when the client has gone; 0 or absent: no limit. Sent with the startup options, so not in `server`
   * mode.
   */
  readonly statementTimeoutMs?: number;
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

/**
 * Told of every statement a database ran (successful or failed), how long the database took in ms, its SQL text
 * (placeholders, never parameter values) and, when it failed, the error. Called in the async context of the caller
 * that ran the statement.
 */
export type QueryObserver = (durationMillis: number, failed: boolean, sqlText: string, error: unknown) => void;

/** What a metrics exporter can learn about a database opened here, without changing how it is used. */
export interface DatabaseInfo {
  readonly kind: 'pglite' | 'postgres';
  /** PostgreSQL's connection pool, for its gauges; absent on PGlite. */
  readonly pool: pg.Pool | undefined;
}

interface Observed extends DatabaseInfo {
  readonly observers: Set<QueryObserver>;
}

const opened = new WeakMap<Db, Observed>();

/** The kind (and pool) of a database opened by `openDatabase`; undefined for a Kysely made elsewhere. */
export function databaseInfo(db: Db): DatabaseInfo | undefined {
  return opened.get(db);
}

/**
 * Calls `observer` after every statement run on `db` (transactions and plugins included), timed by Kysely around
 * the driver's call: the database's time, not the wait for a pooled connection. Returns the unsubscribe.
 */
export function observeQueries(db: Db, observer: QueryObserver): () => void {
  const observers = opened.get(db)?.observers;
  if (!observers) return () => {};
  observers.add(observer);
  return () => void observers.delete(observer);
}

// Kysely times statements only when a logger is set, so the one logger feeds `onQuery` and the observers.
function queryLogger(options: OpenDatabaseOptions, observers: Set<QueryObserver>): (event: LogEvent) => void {
  const onQuery = options.onQuery;
  return (event) => {
    if (onQuery && event.level === 'query') onQuery(event.query.sql);
    if (observers.size === 0) return;
    const failed = event.level === 'error';
    for (const observer of observers) observer(event.queryDurationMillis, failed, event.query.sql, failed ? event.error : undefined);
  };
}

/** The startup options of Roster's PostgreSQL sessions: JIT off, and the statement timeout when there is one. */
function sessionOptions(statementTimeoutMs: number | undefined): string {
  return statementTimeoutMs ? `-c jit=off -c statement_timeout=${statementTimeoutMs}` : '-c jit=off';
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const prepare = options.preparedStatements !== false;
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      // Connections stay open once made. pg closes a connection idle for 10 s by default; the next burst then
      // opened several at once, and each new backend's first statements (catalog caches, its own prepared
      // statements) stalled every request for 200-300 ms at 1,500 lookups/s.
      idleTimeoutMillis: 0,
      // JIT compiles a statement when its estimated cost passes jit_above_cost (100,000 by default). Roster's
      // statements read a page or a few rows, but their estimates at a million users often pass it (a branch
      // that never runs still counts): a big group's first page then spent 190 ms compiling and 2 ms running.
      ...(options.jit === 'server' ? {} : { options: sessionOptions(options.statementTimeoutMs) }),
    });
    // An idle connection can die (server restart, admin termination); the pool drops it and opens a new one when
    // needed. Without a listener, that 'error' event would crash the process.
    pool.on('error', (err) => options.onIdleError?.(err));
    if (prepare) {
      usePreparedStatements(pool, new StatementRegistry(options.preparedStatements ?? DEFAULT_PREPARED_STATEMENTS));
    }
    const observers = new Set<QueryObserver>();
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: queryLogger(options, observers) });
    opened.set(db, { kind: 'postgres', pool, observers });
    try {
      await sql`select 1`.execute(db);
    } catch (e) {
      // The server cannot be reached (or refused the probe): close the pool rather than leave its sockets open.
      await db.destroy().catch(() => undefined);
      throw e;
    }
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  let unlock = () => {};
  if (!options.dataDir.startsWith('memory://')) {
    await mkdir(options.dataDir, { recursive: true });
    unlock = lockDataDirectory(options.dataDir);
  }
  try {
    // In a worker thread, so that a slow statement never stops the HTTP server (pglite-thread.ts).
    const pglite = new PGliteThread(options.dataDir);
    await pglite.waitReady;
    const observers = new Set<QueryObserver>();
    const db = new Kysely<Database>({ dialect: new PGliteThreadDialect(pglite), log: queryLogger(options, observers) });
    opened.set(db, { kind: 'pglite', pool: undefined, observers });
    return {
      db,
      kind: 'pglite',
      // Destroying the Kysely closes PGlite in its thread, which flushes the data directory.
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
