import { AsyncLocalStorage } from 'node:async_hooks';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import type { PGliteThread } from './pglite-thread.ts';

/**
 * Who is waiting for the embedded database: one object per HTTP request (entered by `runAsStatementOwner`), so the
 * database's one connection is handed out fairly between requests rather than in arrival order.
 */
const owners = new AsyncLocalStorage<object>();
const BACKGROUND: object = {};

/** Runs `work` (the rest of a request) as one owner of turns at the embedded database. */
export function runAsStatementOwner(work: () => void): void {
  owners.run({}, work);
}

/**
 * Turns at the one connection, round-robin between owners: a request that queued 240 statements at once (aliased
 * fields resolve together) gets one turn, then every other waiting request gets one, and so on. In arrival order,
 * a lookup that came after them waited for all 240; now it waits for at most one statement per other request.
 */
export class FairTurns {
  #busy = false;
  // Insertion order is the round-robin order: an owner served moves to the back.
  readonly #waiting = new Map<object, (() => void)[]>();

  take(owner: object): Promise<void> {
    if (!this.#busy) {
      this.#busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.#waiting.get(owner);
      if (queue) queue.push(resolve);
      else this.#waiting.set(owner, [resolve]);
    });
  }

  release(): void {
    const next = this.#waiting.entries().next();
    if (next.done) {
      this.#busy = false;
      return;
    }
    const [owner, queue] = next.value;
    const resolve = queue.shift()!;
    this.#waiting.delete(owner);
    if (queue.length > 0) this.#waiting.set(owner, queue);
    resolve();
  }
}

class ThreadConnection implements DatabaseConnection {
  constructor(private readonly thread: PGliteThread) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const { rows, affectedRows } = await this.thread.query(query.sql, query.parameters);
    return { rows: rows as R[], ...(affectedRows === undefined ? {} : { numAffectedRows: BigInt(affectedRows) }) };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Streaming is not supported by the embedded database');
  }
}

class ThreadDriver implements Driver {
  readonly #turns = new FairTurns();
  readonly #connection: ThreadConnection;

  constructor(private readonly thread: PGliteThread) {
    this.#connection = new ThreadConnection(thread);
  }

  async init(): Promise<void> {
    await this.thread.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#turns.take(owners.getStore() ?? BACKGROUND);
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    this.#turns.release();
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    await this.thread.close();
  }
}

/**
 * PostgreSQL's SQL without a migration lock: one process owns the data directory (data-dir-lock.ts) and the
 * database has one connection, which the driver shares itself (FairTurns).
 */
class ThreadAdapter extends PostgresAdapter {
  override async acquireMigrationLock(): Promise<void> {}

  override async releaseMigrationLock(): Promise<void> {}
}

/**
 * Kysely's dialect for PGlite in a worker thread: PostgreSQL's SQL, one connection handed out by FairTurns, turn
 * by turn between requests rather than first come, first served.
 */
export class PGliteThreadDialect implements Dialect {
  constructor(private readonly thread: PGliteThread) {}

  createAdapter(): PostgresAdapter {
    return new ThreadAdapter();
  }

  createDriver(): Driver {
    return new ThreadDriver(this.thread);
  }

  createIntrospector(db: Kysely<unknown>): PostgresIntrospector {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler(): PostgresQueryCompiler {
    return new PostgresQueryCompiler();
  }
}
