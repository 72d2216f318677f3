import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * Indexes for substring search, `customData` filters and group-member counts, which at a million users
 * otherwise read every row (a substring search took 1.4 s; see bench/RESULTS.md).
 *
 * - Trigram GIN indexes (pg_trgm) serve `ILIKE '%text%'` on the searched columns: the users' `search` filter
 *   (first name, last name, email, reference), the per-column `search` argument on those and `phone`, and group
 *   names. Patterns of fewer than three characters cannot use a trigram index and still scan.
 * - A GIN index on `custom_data` serves `customData: { contains }` (`@>`) and `{ hasKey }` (`?`).
 * - `users (tenant_id, id) INCLUDE (active, created_at)` lets the members of a group be matched to their users
 *   without reading the users' rows: counting the active members of a 233,805-member group became a merge join
 *   of two index-only scans (1.6-2.4 s to 0.28 s), and a nested list sorts a big group's members by creation
 *   time from the index.
 *
 * pg_trgm is a trusted extension (PostgreSQL 13+): any role that may create objects in the database can install
 * it. Where it cannot be installed (no privilege, or a server built without contrib) the migration still
 * succeeds without the trigram indexes and search stays correct, only slower; docs/performance.md says how to
 * add them later. The operator class is looked up in whichever schema holds the extension.
 */
const installTrigrams = `
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
  RAISE WARNING 'roster: pg_trgm is not available (%), substring search will not use an index', SQLERRM;
END
$$`;

const trigramIndexes: readonly (readonly [name: string, table: string, column: string])[] = [
  ['users__first_name_trgm', 'users', 'first_name'],
  ['users__last_name_trgm', 'users', 'last_name'],
  ['users__email_trgm', 'users', 'email'],
  ['users__reference_trgm', 'users', 'reference'],
  ['users__phone_trgm', 'users', 'phone'],
  ['user_groups__name_trgm', 'user_groups', 'name'],
  ['user_groups__reference_trgm', 'user_groups', 'reference'],
];

const createTrigramIndexes = `
DO $$
DECLARE
  ops text;
BEGIN
  SELECT format('%I.gin_trgm_ops', n.nspname) INTO ops
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
  IF ops IS NULL THEN RETURN; END IF;
${trigramIndexes.map(([name, table, column]) => `  EXECUTE format('CREATE INDEX %I ON %I USING gin (%I ' || ops || ')', '${name}', '${table}', '${column}');`).join('\n')}
END
$$`;

const statements = [
  installTrigrams,
  createTrigramIndexes,
  `CREATE INDEX users__custom_data ON users USING gin (custom_data)`,
  `CREATE INDEX users__tenant_id_covering ON users (tenant_id, id) INCLUDE (active, created_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
