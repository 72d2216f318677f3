import type { Transaction } from 'kysely';
import type { Db } from './database.ts';
import type { Database } from './schema.ts';
import { isRetryable, mapDatabaseError } from './errors.ts';

export type Tx = Transaction<Database>;

const MAX_ATTEMPTS = 5;

/**
 * Runs `work` in one transaction. Serialization failures and deadlocks are retried (with jittered backoff) a
 * bounded number of times; other database errors are mapped to the error catalog.
 */
export interface TransactionOptions {
  /**
   * Further SQLSTATEs worth a fresh attempt for this work. A membership call that read its users before a
   * concurrent delete committed retries on a foreign-key violation: the next attempt sees the user gone and
   * reports it per id, instead of failing the whole call.
   */
  readonly retryOn?: readonly string[];
}

export function inTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  return retrying(() => db.transaction().execute(work), options);
}

/**
 * Runs `work` (a transaction, or one statement, which PostgreSQL runs as a transaction of its own), retrying
 * serialization failures, deadlocks and `options.retryOn` with jittered backoff; other errors are mapped.
 */
export async function retrying<T>(work: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (attempt < MAX_ATTEMPTS && isRetryable(e, options.retryOn)) {
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        continue;
      }
      throw mapDatabaseError(e);
    }
  }
}

/** Runs a single read or write outside an explicit transaction, with the same error mapping. */
export async function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw mapDatabaseError(e);
  }
}
