import { executeCached } from '../db/statement-cache.ts';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { PermissionGrant, Role, RoleFilter, RoleScope, RoleSort, SortOrder } from '../domain/types.ts';
import { toRole } from './mappers.ts';
import { and, array, booleanConditions, idConditions, likeLiteral, orderBy, stringConditions, ref, type Condition } from './sql-conditions.ts';
import { groupRows } from './users.ts';

export interface RoleQuery {
  readonly filter: RoleFilter;
  /** Tenants whose roles are visible besides the platform roles; undefined means every tenant. */
  readonly tenantIds?: readonly string[] | undefined;
  readonly search?: { key: 'key' | 'name' | 'description'; value: string } | undefined;
  readonly sort: RoleSort;
  readonly order: SortOrder;
  readonly limit: number;
  readonly offset: number;
}

const r = (c: string) => ref(`r.${c}`);
const roleColumns: Record<RoleSort, string> = {
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  description: 'description',
  id: 'id',
  isSystemManaged: 'is_system_managed',
  key: 'key',
  name: 'name',
};

function roleConditions(q: Pick<RoleQuery, 'filter' | 'tenantIds' | 'search'>): Condition[] {
  const f = q.filter;
  const out: Condition[] = [
    ...idConditions(r('id'), f.id),
    ...stringConditions(r('key'), f.key),
    ...stringConditions(r('name'), f.name),
    ...stringConditions(r('description'), f.description),
    ...booleanConditions(r('is_system_managed'), f.isSystemManaged),
    ...idConditions(r('tenant_id'), f.tenantId),
  ];
  if (q.tenantIds) out.push(sql`(r.tenant_id is null or r.tenant_id = any(${array(q.tenantIds, 'uuid')}))`);
  const userConds = idConditions(ref('ur.user_id'), f.userId);
  if (userConds.length > 0) out.push(sql`exists (select 1 from user_roles ur where ur.role_id = r.id and ${and(userConds)})`);
  const groupConds = idConditions(ref('gr.group_id'), f.userGroupId);
  if (groupConds.length > 0) out.push(sql`exists (select 1 from group_roles gr where gr.role_id = r.id and ${and(groupConds)})`);
  if (q.search) out.push(sql`${r(q.search.key)} ilike ${`%${likeLiteral(q.search.value)}%`}`);
  return out;
}

const roleOrder = (q: RoleQuery) => orderBy(r(roleColumns[q.sort]), r('id'), q.order);

export async function listRoles(db: Db, q: RoleQuery): Promise<Role[]> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select r.* from roles r where ${and(roleConditions(q))}
    order by ${roleOrder(q)} limit ${q.limit} offset ${q.offset}`, db);
  return rows.map(toRole);
}

export async function countRoles(db: Db, q: Pick<RoleQuery, 'filter' | 'tenantIds' | 'search'>): Promise<number> {
  const { rows } = await executeCached(sql<{ n: number }>`select count(*)::int as n from roles r where ${and(roleConditions(q))}`, db);
  return rows[0]?.n ?? 0;
}

export type RoleHolder = 'user' | 'group';

/** Roles assigned directly to each user, or to each group: one LATERAL page per parent. */
export async function listRolesOf(db: Db, holder: RoleHolder, parentIds: readonly string[], q: RoleQuery): Promise<Map<string, Role[]>> {
  const link = holder === 'user' ? sql`user_roles l where l.user_id = p.parent_id` : sql`group_roles l where l.group_id = p.parent_id`;
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select p.parent_id, x.* from unnest(${array(parentIds, 'uuid')}) as p(parent_id)
    cross join lateral (
      select r.* from roles r where r.id in (select l.role_id from ${link}) and ${and(roleConditions(q))}
      order by ${roleOrder(q)} limit ${q.limit} offset ${q.offset}
    ) x`, db);
  return groupRows(rows, toRole);
}

export async function countRolesOf(db: Db, holder: RoleHolder, parentIds: readonly string[], q: Pick<RoleQuery, 'filter' | 'tenantIds' | 'search'>): Promise<Map<string, number>> {
  const link = holder === 'user' ? sql`user_roles l join roles r on r.id = l.role_id` : sql`group_roles l join roles r on r.id = l.role_id`;
  const parent = holder === 'user' ? ref('l.user_id') : ref('l.group_id');
  const { rows } = await executeCached(sql<{ parent_id: string; n: number }>`
    select ${parent} as parent_id, count(*)::int as n from ${link}
    where ${parent} = any(${array(parentIds, 'uuid')}) and ${and(roleConditions(q))}
    group by ${parent}`, db);
  return new Map(rows.map((row) => [row.parent_id, row.n]));
}

export async function findRoleById(db: Db, id: string): Promise<Role | undefined> {
  const row = await db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRole(row) : undefined;
}

/** Roles by key as seen from one tenant: its own roles and the platform roles. */
export async function findRolesByKeys(db: Db, tenantId: string, keys: readonly string[]): Promise<Role[]> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select * from roles where key = any(${array(keys, 'text')}) and (tenant_id is null or tenant_id = ${tenantId})`, db);
  return rows.map(toRole);
}

export async function insertRole(
  db: Db,
  role: { id: string; tenantId: string | null; key: string; name: string; description: string | null; reference: string | null; isSystemManaged: boolean; permissions: PermissionGrant[] },
): Promise<Role> {
  const row = await db
    .insertInto('roles')
    .values({
      id: role.id,
      tenant_id: role.tenantId,
      key: role.key,
      name: role.name,
      description: role.description,
      reference: role.reference,
      is_system_managed: role.isSystemManaged,
      permissions: JSON.stringify(role.permissions),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRole(row);
}

export async function assignRolesToUser(db: Db, tenantId: string, userId: string, roleIds: readonly string[]): Promise<void> {
  await executeCached(sql`insert into user_roles (tenant_id, user_id, role_id)
            select ${tenantId}::uuid, ${userId}::uuid, id from unnest(${array(roleIds, 'uuid')}) as t(id)
            on conflict do nothing`, db);
}

export async function unassignRolesFromUser(db: Db, tenantId: string, userId: string, roleIds: readonly string[]): Promise<void> {
  await executeCached(sql`delete from user_roles where tenant_id = ${tenantId} and user_id = ${userId} and role_id = any(${array(roleIds, 'uuid')})`, db);
}

export interface GroupRoleRow {
  role: Role;
  scope: RoleScope;
}

export async function listGroupRoles(db: Db, tenantId: string, groupId: string): Promise<GroupRoleRow[]> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select r.*, gr.scope as assignment_scope from group_roles gr join roles r on r.id = gr.role_id
    where gr.tenant_id = ${tenantId} and gr.group_id = ${groupId}
    order by r.name, r.id`, db);
  return rows.map((row) => ({ role: toRole(row), scope: row.assignment_scope as RoleScope }));
}

/** Assigns roles to a group (a repeated assignment takes the new scope). */
export async function addGroupRoles(db: Db, tenantId: string, groupId: string, assignments: readonly { roleId: string; scope: RoleScope }[]): Promise<void> {
  if (assignments.length === 0) return;
  await executeCached(sql`insert into group_roles (tenant_id, group_id, role_id, scope)
            select ${tenantId}::uuid, ${groupId}::uuid, a.role_id, a.scope
            from unnest(${assignments.map((a) => a.roleId)}::uuid[], ${assignments.map((a) => JSON.stringify(a.scope))}::jsonb[]) as a(role_id, scope)
            on conflict (tenant_id, group_id, role_id) do update set scope = excluded.scope`, db);
}

export async function removeGroupRoles(db: Db, tenantId: string, groupId: string, roleIds: readonly string[]): Promise<void> {
  if (roleIds.length === 0) return;
  await executeCached(sql`delete from group_roles where tenant_id = ${tenantId} and group_id = ${groupId} and role_id = any(${array(roleIds, 'uuid')})`, db);
}

export interface GrantRow {
  roleId: string;
  roleName: string;
  permissions: PermissionGrant[];
  via: 'direct' | 'group';
  groupId: string | null;
  groupName: string | null;
}

/** Every role a user holds, directly or through any of its groups, with where it comes from: one statement. */
export async function userGrants(db: Db, tenantId: string, userId: string): Promise<GrantRow[]> {
  return (await grantsOfUsers(db, [{ tenantId, userId }])).get(userId) ?? [];
}

/**
 * The grants of many users in one statement (a page of users with their effective permissions costs one query,
 * not one per user); each user's rows in the order `userGrants` documents.
 */
export async function grantsOfUsers(db: Db, users: readonly { tenantId: string; userId: string }[]): Promise<Map<string, GrantRow[]>> {
  if (users.length === 0) return new Map();
  const { rows } = await executeCached(sql<{ user_id: string; role_id: string; role_name: string; permissions: PermissionGrant[]; via: 'direct' | 'group'; group_id: string | null; group_name: string | null }>`
    with who as (select * from unnest(${array(users.map((u) => u.tenantId), 'uuid')}, ${array(users.map((u) => u.userId), 'uuid')}) as w(tenant_id, user_id))
    select who.user_id, r.id as role_id, r.name as role_name, r.permissions, 'direct' as via, null::uuid as group_id, null as group_name
    from who join user_roles ur on ur.tenant_id = who.tenant_id and ur.user_id = who.user_id join roles r on r.id = ur.role_id
    union all
    select who.user_id, r.id, r.name, r.permissions, 'group', g.id, g.name
    from who
    join user_group_members m on m.tenant_id = who.tenant_id and m.user_id = who.user_id
    join user_groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
    join group_roles gr on gr.tenant_id = m.tenant_id and gr.group_id = m.group_id
    join roles r on r.id = gr.role_id
    order by 1, 3, 6 nulls first`, db);
  const out = new Map<string, GrantRow[]>();
  for (const r of rows) {
    let list = out.get(r.user_id);
    if (!list) out.set(r.user_id, (list = []));
    list.push({ roleId: r.role_id, roleName: r.role_name, permissions: r.permissions, via: r.via, groupId: r.group_id, groupName: r.group_name });
  }
  return out;
}

/** Platform roles and the tenant's own roles, by id. */
export async function findRolesVisibleToTenant(db: Db, tenantId: string, ids: readonly string[]): Promise<Role[]> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select * from roles where id = any(${array(ids, 'uuid')}) and (tenant_id is null or tenant_id = ${tenantId})`, db);
  return rows.map(toRole);
}

/** What a grant check needs about a user and one group of its tenant, read in one statement. */
export interface GrantFacts {
  /** Every permission entry of the user's roles, held directly or through its groups (not folded). */
  readonly held: PermissionGrant[];
  /** The roles the group gives its members. */
  readonly grants: { name: string; permissions: PermissionGrant[] }[];
  readonly manager: boolean;
  readonly member: boolean;
  /** The user belongs to the tenant's platform group of reference `companyAdminsReference`. */
  readonly company_admin: boolean;
}

export async function grantFacts(db: Db, q: { tenantId: string; userId: string; groupId: string; companyAdminsReference: string }): Promise<GrantFacts> {
  const { tenantId: t, userId: u, groupId: g } = q;
  const { rows } = await executeCached(sql<GrantFacts>`
    with held_roles as (
      select r.permissions from user_roles ur join roles r on r.id = ur.role_id
      where ur.tenant_id = ${t} and ur.user_id = ${u}
      union all
      select r.permissions from user_group_members m
      join group_roles gr on gr.tenant_id = m.tenant_id and gr.group_id = m.group_id
      join roles r on r.id = gr.role_id
      where m.tenant_id = ${t} and m.user_id = ${u}
    )
    select
      coalesce((select jsonb_agg(p) from held_roles h cross join lateral jsonb_array_elements(h.permissions) p), '[]'::jsonb) as held,
      coalesce((select jsonb_agg(jsonb_build_object('name', r.name, 'permissions', r.permissions) order by r.name, r.id)
                from group_roles gr join roles r on r.id = gr.role_id
                where gr.tenant_id = ${t} and gr.group_id = ${g}), '[]'::jsonb) as grants,
      exists (select 1 from user_group_managers where tenant_id = ${t} and group_id = ${g} and user_id = ${u}) as manager,
      exists (select 1 from user_group_members where tenant_id = ${t} and group_id = ${g} and user_id = ${u}) as member,
      exists (select 1 from user_group_members m join user_groups cg on cg.tenant_id = m.tenant_id and cg.id = m.group_id
              where m.tenant_id = ${t} and m.user_id = ${u} and cg.reference = ${q.companyAdminsReference} and cg.is_unmodifiable) as company_admin`, db);
  return rows[0]!;
}
