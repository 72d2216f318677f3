import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as initial from './migrations/0001-initial.ts';
import * as permissions from './migrations/0002-permissions.ts';
import * as reliability from './migrations/0003-reliability.ts';
import * as citusKeys from './migrations/0004-citus-keys.ts';
import * as searchIndexes from './migrations/0005-search-indexes.ts';
import * as membershipStatistics from './migrations/0006-membership-statistics.ts';
import * as auditSubjects from './migrations/0007-audit-subjects-without-pending-list.ts';
import * as tokenRevocations from './migrations/0008-token-revocations.ts';
import * as clientRequestId from './migrations/0009-client-request-id.ts';

/** Migrations are listed in code, in order, and never edited once shipped. */
const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-permissions': permissions,
  '0003-reliability': reliability,
  '0004-citus-keys': citusKeys,
  '0005-search-indexes': searchIndexes,
  '0006-membership-statistics': membershipStatistics,
  '0007-audit-subjects-without-pending-list': auditSubjects,
  '0008-token-revocations': tokenRevocations,
  '0009-client-request-id': clientRequestId,
};

class InCodeMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/**
 * Applies pending migrations. Kysely's migrator holds a session advisory lock (pg_advisory_lock, then
 * pg_advisory_unlock) around one transaction, so several Roster nodes starting at once against one PostgreSQL
 * apply each migration exactly once. Through a transaction-mode pooler the unlock can miss (docs/scaling.md).
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  // On one connection without the statement timeout Roster's sessions start with: building an index over a big
  // table may rightly take longer than any request should.
  return db.connection().execute(async (connection) => {
    await sql`set statement_timeout = 0`.execute(connection);
    try {
      const migrator = new Migrator({ db: connection, provider: new InCodeMigrationProvider(), migrationTableName: 'roster_migrations', migrationLockTableName: 'roster_migrations_lock' });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error instanceof Error ? error : new Error(String(error));
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    } finally {
      await sql`reset statement_timeout`.execute(connection);
    }
  });
}
