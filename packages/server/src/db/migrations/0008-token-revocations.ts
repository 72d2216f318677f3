import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Token revocations: a user's tokens issued before `not_before` no longer authenticate. Written with the change
 * that ends a user's grants (deactivation, deletion, an explicit revocation) and read by every node into memory
 * (services/token-revocations.ts), polled by `recorded_at`. No foreign key, and no tenant: a deleted user's row must
 * outlive it, and every node reads them all.
 * Users already deactivated when this runs have their earlier tokens revoked now.
 */
const statements = [
  `CREATE TABLE token_revocations (
     user_id uuid PRIMARY KEY,
     not_before timestamptz NOT NULL,
     recorded_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX token_revocations__recorded_at ON token_revocations (recorded_at)`,
  `INSERT INTO token_revocations (user_id, not_before) SELECT id, now() FROM users WHERE NOT active`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
