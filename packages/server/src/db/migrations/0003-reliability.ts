import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * The audit log, idempotency keys, managed API keys and asymmetric, rotating JWT signing keys.
 *
 * The audit log is append-only and written in the same transaction as the change it records. `subjects` lists
 * every user a record concerns (target, actor, members added or removed) so erasing a user finds all of that
 * user's records through one GIN index and pseudonymizes them.
 */
const statements = [
  `CREATE TABLE audit_log (
     id uuid PRIMARY KEY,
     tenant_id uuid,
     occurred_at timestamptz NOT NULL DEFAULT now(),
     actor_kind text NOT NULL,
     actor_id text,
     operation text NOT NULL,
     target_type text NOT NULL,
     target_id text,
     changes jsonb NOT NULL DEFAULT '{}'::jsonb,
     subjects text[] NOT NULL DEFAULT '{}',
     request_id text
   )`,
  `CREATE INDEX audit_log__tenant ON audit_log (tenant_id, id)`,
  `CREATE INDEX audit_log__target ON audit_log (target_id, id)`,
  `CREATE INDEX audit_log__actor ON audit_log (actor_id, id)`,
  `CREATE INDEX audit_log__operation ON audit_log (operation, id)`,
  `CREATE INDEX audit_log__subjects ON audit_log USING gin (subjects)`,

  // A retried request carrying the same key replays the stored response; keys are scoped to the caller.
  `CREATE TABLE idempotency_keys (
     principal text NOT NULL,
     key text NOT NULL,
     request_hash text NOT NULL,
     state text NOT NULL,
     response_status integer,
     response_body text,
     response_type text,
     response_headers jsonb,
     locked_until timestamptz NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT idempotency_keys__pkey PRIMARY KEY (principal, key)
   )`,
  `CREATE INDEX idempotency_keys__created_at ON idempotency_keys (created_at)`,

  `ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz`,
  `ALTER TABLE api_keys ADD COLUMN expires_at timestamptz`,
  `ALTER TABLE api_keys ADD COLUMN replaced_by uuid`,
  `CREATE INDEX api_keys__created_at ON api_keys (created_at, id)`,

  // HS256 secrets give way to ES256 key pairs whose public halves are published at /.well-known/jwks.json.
  // Tokens signed with the old secret stop verifying; they live an hour by default.
  `DROP TABLE signing_keys`,
  `CREATE TABLE signing_keys (
     kid text PRIMARY KEY,
     algorithm text NOT NULL,
     private_jwk jsonb NOT NULL,
     public_jwk jsonb NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     retired_at timestamptz
   )`,
  `CREATE INDEX signing_keys__created_at ON signing_keys (created_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
