import { executeCached } from '../db/statement-cache.ts';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { SortOrder, Tenant, TenantFilter, TenantSort } from '../domain/types.ts';
import { toTenant } from './mappers.ts';
import { and, array, idConditions, likeLiteral, orderBy, stringConditions, ref, type Condition } from './sql-conditions.ts';

export interface TenantQuery {
  readonly filter: TenantFilter;
  /** Case-insensitive substring of the name. */
  readonly nameContains?: string | undefined;
  readonly sort: TenantSort;
  readonly order: SortOrder;
  readonly limit: number;
  readonly offset: number;
}

const t = (c: string) => ref(`t.${c}`);
const tenantColumns: Record<TenantSort, string> = { createdAt: 'created_at', updatedAt: 'updated_at', name: 'name' };

function tenantConditions(f: TenantFilter, nameContains?: string): Condition[] {
  const out = [...idConditions(t('id'), f.id), ...stringConditions(t('reference'), f.reference), ...stringConditions(t('name'), f.name)];
  if (nameContains !== undefined) out.push(sql`t.name ilike ${`%${likeLiteral(nameContains)}%`}`);
  return out;
}

export async function listTenants(db: Db, q: TenantQuery): Promise<Tenant[]> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select t.* from tenants t where ${and(tenantConditions(q.filter, q.nameContains))}
    order by ${orderBy(t(tenantColumns[q.sort]), t('id'), q.order)} limit ${q.limit} offset ${q.offset}`, db);
  return rows.map(toTenant);
}

export async function countTenants(db: Db, q: Pick<TenantQuery, 'filter' | 'nameContains'>): Promise<number> {
  const { rows } = await executeCached(sql<{ n: number }>`select count(*)::int as n from tenants t where ${and(tenantConditions(q.filter, q.nameContains))}`, db);
  return rows[0]?.n ?? 0;
}

export async function findTenantById(db: Db, id: string): Promise<Tenant | undefined> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`select * from tenants where id = ${id}`, db);
  return rows[0] ? toTenant(rows[0]) : undefined;
}

export async function findTenantsByIds(db: Db, ids: readonly string[]): Promise<Tenant[]> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`select * from tenants where id = any(${array(ids, 'uuid')})`, db);
  return rows.map(toTenant);
}

export async function findDefaultTenant(db: Db): Promise<Tenant | undefined> {
  const row = await db.selectFrom('tenants').selectAll().where('is_default', '=', true).executeTakeFirst();
  return row ? toTenant(row) : undefined;
}

export async function insertTenant(
  db: Db,
  tenant: { id: string; name: string; reference: string | null; isDefault: boolean },
): Promise<Tenant> {
  const row = await db
    .insertInto('tenants')
    .values({ id: tenant.id, name: tenant.name, reference: tenant.reference, is_default: tenant.isDefault })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toTenant(row);
}

/** Creates the default tenant unless one exists; safe when several nodes start at once. */
export async function ensureDefaultTenant(db: Db, id: string): Promise<Tenant> {
  await executeCached(sql`insert into tenants (id, name, reference, is_default) values (${id}, 'Default', null, true)
            on conflict do nothing`, db);
  const tenant = await findDefaultTenant(db);
  if (!tenant) throw new Error('default tenant missing after insert');
  return tenant;
}

export async function updateTenant(
  db: Db,
  id: string,
  patch: { name?: string; reference?: string | null },
  expectedVersion?: number,
): Promise<Tenant | undefined> {
  let query = db
    .updateTable('tenants')
    .set({ ...patch, updated_at: sql`now()`, version: sql`version + 1` } as never)
    .where('id', '=', id);
  if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
  const row = await query
    .returningAll()
    .executeTakeFirst();
  return row ? toTenant(row) : undefined;
}
