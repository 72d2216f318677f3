import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * The audit log keeps the caller's own `x-request-id` (when it sent a well-formed one) beside the request id the
 * server made: `request_id` is always the server's, so a caller can no longer write another request's id into the
 * log; `client_request_id` is what the caller said, for correlating with its own logs. Nullable, without a default:
 * adding it rewrites nothing, and the records made before it have none.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw('ALTER TABLE audit_log ADD COLUMN client_request_id text').execute(db);
}
