/**
 * The key rule Citus needs to distribute Roster's tenant-owned tables by `tenant_id` (see docs/scaling.md).
 *
 * Citus can enforce a primary key, a unique constraint or a unique index on a distributed table only when it
 * contains the distribution column (each shard checks its own rows), and it accepts a foreign key between two
 * distributed tables only when they are colocated and the key maps the distribution column to the distribution
 * column. Foreign keys from a distributed table to a reference table are accepted; foreign keys from a reference
 * or local table to a distributed table are not.
 *
 * The test reads the catalog (pg_class, pg_attribute, pg_index, pg_constraint) of a freshly migrated database:
 * in-memory PGlite, or with DATABASE_URL a PostgreSQL database made for this file. Every table must be placed
 * below; a new table fails the test until someone decides where it goes in a Citus cluster.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle, type Db } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { createScratchDatabase } from './helpers/server.ts';

/** Where a table goes in a Citus cluster. */
type Placement =
  /** Sharded by `tenant_id`, colocated with every other distributed table. */
  | 'distributed'
  /** One shard replicated to every node: small, global, joined with tenant rows or needing global uniqueness. */
  | 'reference'
  /** A plain table on the coordinator only: global, never joined with distributed tables in the same query. */
  | 'local';

type Classification = Record<string, { readonly placement: Placement; readonly why: string }>;

const TABLES: Classification = {
  users: { placement: 'distributed', why: 'tenant-owned' },
  user_groups: { placement: 'distributed', why: 'tenant-owned' },
  user_group_members: { placement: 'distributed', why: 'tenant-owned' },
  user_group_managers: { placement: 'distributed', why: 'tenant-owned' },
  user_roles: { placement: 'distributed', why: 'tenant-owned; role_id references roles, a reference table' },
  group_roles: { placement: 'distributed', why: 'tenant-owned; role_id references roles, a reference table' },
  tenants: {
    placement: 'reference',
    why: 'few rows, referenced by every tenant-owned table, and tenants__reference / tenants__is_default are unique across tenants',
  },
  roles: {
    placement: 'reference',
    why: 'platform roles have tenant_id NULL (Citus refuses NULL in a distribution column) and roles__key spans platform and tenant roles',
  },
  user_group_types: { placement: 'reference', why: 'global type names (unique), no tenant_id' },
  audit_log: {
    placement: 'local',
    why: 'tenant_id is NULL for platform events (API keys, signing keys); erasure updates records by subject across tenants',
  },
  idempotency_keys: { placement: 'local', why: 'keyed by principal (API key or user), not by tenant; read and written by primary key only' },
  api_keys: { placement: 'local', why: 'global super-admin keys, read whole by every node' },
  signing_keys: { placement: 'local', why: 'global JWT signing keys, read whole by every node' },
  token_revocations: { placement: 'local', why: 'no tenant_id: keyed by user, read whole by every node (polled by recorded_at)' },
  roster_migrations: { placement: 'local', why: "Kysely's migration bookkeeping" },
  roster_migrations_lock: { placement: 'local', why: "Kysely's migration lock" },
};

const DISTRIBUTION_COLUMN = 'tenant_id';

interface Column {
  table: string;
  column: string;
  not_null: boolean;
  type: string;
}

interface KeyIndex {
  table: string;
  index: string;
  primary: boolean;
  /** Key columns (INCLUDE columns left out); an expression shows as null. */
  columns: (string | null)[];
  definition: string;
}

interface Constraint {
  table: string;
  name: string;
  kind: 'p' | 'u' | 'x' | 'f';
  columns: string[];
  /** Foreign keys only. */
  references: string | null;
  referenced_columns: string[] | null;
  definition: string;
}

interface Catalog {
  tables: Map<string, Map<string, Column>>;
  uniqueIndexes: KeyIndex[];
  constraints: Constraint[];
}

/** The tables, unique indexes and constraints of the current schema, as the catalog describes them. */
async function readCatalog(db: Db): Promise<Catalog> {
  const { rows: columns } = await sql<Column>`
    select c.relname::text as "table", a.attname::text as "column", a.attnotnull as not_null,
           format_type(a.atttypid, a.atttypmod) as "type"
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname, a.attnum`.execute(db);
  const tables = new Map<string, Map<string, Column>>();
  for (const c of columns) {
    let table = tables.get(c.table);
    if (!table) tables.set(c.table, (table = new Map()));
    table.set(c.column, c);
  }

  // indkey lists the key columns first (indnkeyatts of them), then INCLUDE columns; 0 stands for an expression.
  const { rows: uniqueIndexes } = await sql<KeyIndex>`
    select t.relname::text as "table", i.relname::text as "index", x.indisprimary as "primary",
           array(
             select a.attname::text
             from unnest(x.indkey::int2[]) with ordinality as k(attnum, ord)
             left join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
             where k.ord <= x.indnkeyatts
             order by k.ord
           ) as columns,
           pg_get_indexdef(x.indexrelid) as definition
    from pg_index x
    join pg_class i on i.oid = x.indexrelid
    join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = current_schema() and x.indisunique
    order by t.relname, i.relname`.execute(db);

  const { rows: constraints } = await sql<Constraint>`
    select t.relname::text as "table", c.conname::text as name, c.contype::text as kind,
           array(
             select a.attname::text from unnest(c.conkey) with ordinality as k(attnum, ord)
             join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum order by k.ord
           ) as columns,
           r.relname::text as "references",
           case when c.contype = 'f' then array(
             select a.attname::text from unnest(c.confkey) with ordinality as k(attnum, ord)
             join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum order by k.ord
           ) end as referenced_columns,
           pg_get_constraintdef(c.oid) as definition
    from pg_constraint c
    join pg_class t on t.oid = c.conrelid
    join pg_namespace n on n.oid = t.relnamespace
    left join pg_class r on r.oid = c.confrelid
    where n.nspname = current_schema() and c.contype in ('p', 'u', 'x', 'f')
    order by t.relname, c.conname`.execute(db);

  return { tables, uniqueIndexes, constraints };
}

const isDistributed = (table: string, tables: Classification = TABLES) => tables[table]?.placement === 'distributed';

/** Tables nobody has placed, and placements of tables that no longer exist. */
function classificationProblems(catalog: Catalog, tables: Classification = TABLES): string[] {
  const problems: string[] = [];
  for (const [table, columns] of catalog.tables) {
    if (tables[table]) continue;
    problems.push(
      columns.has(DISTRIBUTION_COLUMN)
        ? `${table} has ${DISTRIBUTION_COLUMN} but is not classified: add it to TABLES as distributed (and satisfy the key rule) or as reference/local with a reason`
        : `${table} is not classified: add it to TABLES (reference or local, with a reason)`,
    );
  }
  for (const table of Object.keys(tables)) if (!catalog.tables.has(table)) problems.push(`${table} is classified but does not exist`);
  return problems;
}

/** Everything on a distributed table or between tables that Citus would refuse. */
function keyRuleViolations(catalog: Catalog, tables: Classification = TABLES): string[] {
  const problems: string[] = [];
  const placementOf = (table: string): Placement | undefined => tables[table]?.placement;
  const distributed = (table: string) => placementOf(table) === 'distributed';
  const tenantIdType = catalog.tables.get('tenants')?.get('id')?.type;

  for (const [table, columns] of catalog.tables) {
    if (!distributed(table)) continue;
    const column = columns.get(DISTRIBUTION_COLUMN);
    if (!column) {
      problems.push(`${table}: distributed but has no ${DISTRIBUTION_COLUMN} column`);
      continue;
    }
    if (!column.not_null) problems.push(`${table}.${DISTRIBUTION_COLUMN} is nullable (Citus refuses NULL in the distribution column)`);
    // Colocated tables are distributed by columns of one type; tenants.id is what they all hold.
    if (column.type !== tenantIdType) problems.push(`${table}.${DISTRIBUTION_COLUMN} is ${column.type}, tenants.id is ${tenantIdType}`);
    if (!catalog.constraints.some((c) => c.table === table && c.kind === 'p')) problems.push(`${table}: no primary key`);
  }

  // Primary keys and unique constraints are backed by unique indexes, so this covers all three.
  for (const index of catalog.uniqueIndexes) {
    if (!distributed(index.table) || index.columns.includes(DISTRIBUTION_COLUMN)) continue;
    const what = index.primary ? 'primary key' : 'unique index';
    problems.push(`${index.table}: ${what} ${index.index} does not include ${DISTRIBUTION_COLUMN}: ${index.definition}`);
  }
  // Exclusion constraints are backed by non-unique indexes; Citus needs the distribution column in them too.
  for (const c of catalog.constraints) {
    if (c.kind === 'x' && distributed(c.table) && !c.columns.includes(DISTRIBUTION_COLUMN)) {
      problems.push(`${c.table}: exclusion constraint ${c.name} does not include ${DISTRIBUTION_COLUMN}: ${c.definition}`);
    }
  }

  for (const fk of catalog.constraints) {
    if (fk.kind !== 'f' || fk.references === null) continue;
    const from = placementOf(fk.table);
    const to = placementOf(fk.references);
    const label = `${fk.table}.${fk.name} → ${fk.references} (${fk.definition})`;
    if (from === undefined || to === undefined) continue; // reported as unclassified
    if (from === 'distributed' && to === 'distributed') {
      const i = fk.columns.indexOf(DISTRIBUTION_COLUMN);
      if (i < 0 || fk.referenced_columns?.[i] !== DISTRIBUTION_COLUMN) {
        problems.push(`${label}: a foreign key between distributed tables must map ${DISTRIBUTION_COLUMN} to ${DISTRIBUTION_COLUMN}`);
      }
    } else if (from === 'distributed' && to === 'local') {
      problems.push(`${label}: a distributed table cannot reference a local table (make ${fk.references} a reference table)`);
    } else if (from !== 'distributed' && to === 'distributed') {
      problems.push(`${label}: a ${from} table cannot reference a distributed table`);
    } else if (from === 'reference' && to === 'local') {
      problems.push(`${label}: a reference table should reference reference tables only`);
    }
    // distributed → reference, reference → reference, local → reference and local → local are accepted.
  }
  return problems;
}

describe('Citus: every key of a tenant-owned table includes tenant_id', () => {
  let database: DatabaseHandle;
  let dropDatabase = async () => {};
  let catalog: Catalog;

  before(async () => {
    const adminUrl = process.env.DATABASE_URL;
    if (adminUrl) {
      const scratch = await createScratchDatabase(adminUrl, 'roster_citus');
      dropDatabase = scratch.drop;
      database = await openDatabase({ databaseUrl: scratch.url, dataDir: 'unused', poolSize: 2 });
    } else {
      database = await openDatabase({ dataDir: 'memory://' });
    }
    await migrateToLatest(database.db as never);
    catalog = await readCatalog(database.db);
  });
  after(async () => {
    await database?.close();
    await dropDatabase();
  });

  it('every table is classified as distributed, reference or local', () => {
    assert.deepEqual(classificationProblems(catalog), []);
  });

  it('every table with tenant_id is distributed unless classified otherwise, with a reason', () => {
    const withTenant = [...catalog.tables].filter(([, columns]) => columns.has(DISTRIBUTION_COLUMN)).map(([table]) => table).sort();
    // Written out so that moving a table between placements is a visible change of this test.
    assert.deepEqual(withTenant, ['audit_log', 'group_roles', 'roles', 'user_group_managers', 'user_group_members', 'user_groups', 'user_roles', 'users']);
    const distributed = Object.keys(TABLES).filter((t) => isDistributed(t)).sort();
    assert.deepEqual(distributed, ['group_roles', 'user_group_managers', 'user_group_members', 'user_groups', 'user_roles', 'users']);
    for (const table of withTenant) assert.ok(TABLES[table]!.why.length > 0, `${table} has a reason`);
  });

  it('primary keys, unique constraints, unique indexes and foreign keys of distributed tables include tenant_id', () => {
    assert.deepEqual(keyRuleViolations(catalog), []);
  });

  it('the tables are related as Citus allows (distributed → reference foreign keys included)', () => {
    // The check above passes because these exist and are accepted, not because there are no foreign keys.
    const fks = catalog.constraints.filter((c) => c.kind === 'f').map((c) => `${c.table}(${c.columns.join(',')}) → ${c.references}(${c.referenced_columns?.join(',')})`);
    assert.ok(fks.includes('user_group_members(tenant_id,user_id) → users(tenant_id,id)'), fks.join('\n'));
    assert.ok(fks.includes('user_roles(role_id) → roles(id)'), 'distributed → reference');
    assert.ok(fks.includes('users(tenant_id) → tenants(id)'), 'distributed → reference');
  });

  it('lookups by id alone keep an index on id, a plain one (migration 0004)', async () => {
    const { rows } = await sql<{ indexname: string; indexdef: string }>`
      select indexname::text as indexname, indexdef from pg_indexes
      where schemaname = current_schema() and indexname in ('users__id', 'user_groups__id') order by indexname`.execute(database.db);
    assert.deepEqual(
      rows.map((r) => [r.indexname, r.indexdef.replace(/ ON \w+\./, ' ON ')]),
      [
        ['user_groups__id', 'CREATE INDEX user_groups__id ON user_groups USING btree (id)'],
        ['users__id', 'CREATE INDEX users__id ON users USING btree (id)'],
      ],
    );
  });

  it('the check catches a unique index on id alone, an unclassified tenant table and a foreign key that skips tenant_id', async () => {
    const rollback = new Error('rollback');
    let found: string[] = [];
    const probeTables: Classification = { ...TABLES, probe_links: { placement: 'distributed', why: 'probe' } };
    await database.db
      .transaction()
      .execute(async (tx) => {
        await sql`create unique index probe__users_id on users (id)`.execute(tx);
        await sql`create table probe_notes (tenant_id uuid not null, id uuid primary key)`.execute(tx);
        await sql`create table probe_links (tenant_id uuid not null, owner_tenant_id uuid not null, user_id uuid not null,
                    primary key (tenant_id, user_id),
                    constraint probe_links__user foreign key (owner_tenant_id, user_id) references users (tenant_id, id))`.execute(tx);
        const probed = await readCatalog(tx);
        found = [...classificationProblems(probed, probeTables), ...keyRuleViolations(probed, probeTables)];
        throw rollback;
      })
      .catch((e: unknown) => {
        if (e !== rollback) throw e;
      });
    const report = found.join('\n');
    assert.equal(found.length, 3, report);
    assert.ok(found.some((p) => p.startsWith('probe_notes has tenant_id but is not classified')), report);
    assert.ok(found.some((p) => p.startsWith('users: unique index probe__users_id does not include tenant_id')), report);
    assert.ok(found.some((p) => p.startsWith('probe_links.probe_links__user → users') && p.includes('must map tenant_id to tenant_id')), report);
    // Rolled back: the real schema is untouched.
    assert.deepEqual(classificationProblems(await readCatalog(database.db)), []);
  });
});
