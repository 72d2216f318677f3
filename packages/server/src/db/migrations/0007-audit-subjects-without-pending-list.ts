import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * The audit log's GIN index on `subjects` (who a record concerns) takes its entries straight into the index
 * (`fastupdate = off`) instead of queuing them in a pending list.
 *
 * With the pending list (PostgreSQL's default), an insert is cheap until the list passes `gin_pending_list_limit`
 * (4 MB); the insert that passes it then merges the whole list into the index, under the statement that made the
 * change. A membership call of 1,000 ids writes one record with 1,000 subjects: on an index of 3M entries
 * (pgbench, 2026-12-07) such inserts took 4.6 ms at the median and 620 ms at p99, up to 1.0 s, against 11.8 ms and
 * 40 ms with `fastupdate = off`, the mean the same (14.6 and 14.0 ms). Single-subject inserts ran at 3,972-4,102
 * a second against 3,910-4,113 with the list (interleaved), and no longer stall for a second now and then when
 * the list is merged. In `bench -- core` the 10,000-id calls' p99 went from 1.5-2.0 times their median to 1.16-1.23.
 *
 * The entries already queued are merged here, once, so none wait for a vacuum.
 */
const statements = [
  `ALTER INDEX audit_log__subjects SET (fastupdate = off)`,
  `SELECT gin_clean_pending_list('audit_log__subjects'::regclass)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
