import { executeCached } from '../db/statement-cache.ts';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { SortOrder, UserGroup, UserGroupFilter, UserGroupSort, UserGroupType } from '../domain/types.ts';
import { toUserGroup, toUserGroupType } from './mappers.ts';
import { and, array, dateConditions, idConditions, likeLiteral, matchesPattern, orderBy, planEachCall, stringConditions, ref, type Condition } from './sql-conditions.ts';
import { groupRows } from './users.ts';

export type UserGroupSearchKey = 'name' | 'reference' | 'type';

export interface UserGroupQuery {
  readonly filter: UserGroupFilter;
  /** Restricts to groups this user participates in or manages (how a user token sees groups). */
  readonly visibleTo?: string | undefined;
  readonly search?: { key: UserGroupSearchKey; value: string } | undefined;
  readonly sort: UserGroupSort;
  readonly order: SortOrder;
  readonly limit: number;
  readonly offset: number;
}

const groupColumns: Record<UserGroupSort | UserGroupSearchKey, string> = {
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  name: 'name',
  reference: 'reference',
  type: 'type',
};

const g = (c: string) => ref(`g.${c}`);

export function userGroupConditions(q: Pick<UserGroupQuery, 'filter' | 'search' | 'visibleTo'>): Condition[] {
  const { filter, search, visibleTo } = q;
  const out: Condition[] = [
    ...idConditions(g('id'), filter.id),
    ...stringConditions(g('name'), filter.name),
    ...stringConditions(g('reference'), filter.reference),
    ...stringConditions(g('type'), filter.type),
    ...idConditions(g('tenant_id'), filter.tenantId),
    ...dateConditions(g('created_at'), filter.createdAt),
    ...dateConditions(g('updated_at'), filter.updatedAt),
  ];
  const userConds = idConditions(ref('m.user_id'), filter.userId);
  if (userConds.length > 0) {
    out.push(sql`exists (select 1 from user_group_members m where m.tenant_id = g.tenant_id and m.group_id = g.id and ${and(userConds)})`);
  }
  const roleConds = idConditions(ref('gr.role_id'), filter.roleId);
  if (roleConds.length > 0) {
    out.push(sql`exists (select 1 from group_roles gr where gr.tenant_id = g.tenant_id and gr.group_id = g.id and ${and(roleConds)})`);
  }
  if (visibleTo) {
    out.push(sql`(exists (select 1 from user_group_members m where m.tenant_id = g.tenant_id and m.group_id = g.id and m.user_id = ${visibleTo})
      or exists (select 1 from user_group_managers m where m.tenant_id = g.tenant_id and m.group_id = g.id and m.user_id = ${visibleTo}))`);
  }
  if (search) out.push(sql`${g(groupColumns[search.key])} ilike ${`%${likeLiteral(search.value)}%`}`);
  return out;
}

/** A pattern's selectivity, or a member's or role's share of the groups, decides the plan (see planEachCall). */
const groupsValueSensitive = (q: Pick<UserGroupQuery, 'filter' | 'search'>): boolean =>
  q.filter.id?.equalTo == null &&
  (q.search != null || q.filter.userId != null || q.filter.roleId != null || [q.filter.name, q.filter.reference, q.filter.type].some(matchesPattern));

const groupOrder = (q: UserGroupQuery) => orderBy(g(groupColumns[q.sort]), g('id'), q.order);

export async function listUserGroups(db: Db, q: UserGroupQuery): Promise<UserGroup[]> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`${planEachCall(groupsValueSensitive(q))}
    select g.* from user_groups g where ${and(userGroupConditions(q))}
    order by ${groupOrder(q)} limit ${q.limit} offset ${q.offset}`, db);
  return rows.map(toUserGroup);
}

export async function countUserGroups(db: Db, q: Pick<UserGroupQuery, 'filter' | 'search' | 'visibleTo'>): Promise<number> {
  const { rows } = await executeCached(sql<{ n: number }>`${planEachCall(groupsValueSensitive(q))}
    select count(*)::int as n from user_groups g where ${and(userGroupConditions(q))}`, db);
  return rows[0]?.n ?? 0;
}

/** The groups each user participates in: one LATERAL page per user. */
export async function listGroupsOfUsers(db: Db, userIds: readonly string[], q: UserGroupQuery): Promise<Map<string, UserGroup[]>> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select p.parent_id, x.* from unnest(${array(userIds, 'uuid')}) as p(parent_id)
    join users pu on pu.id = p.parent_id
    cross join lateral (
      select g.* from user_group_members m join user_groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
      where m.tenant_id = pu.tenant_id and m.user_id = p.parent_id and ${and(userGroupConditions(q))}
      order by ${groupOrder(q)} limit ${q.limit} offset ${q.offset}
    ) x`, db);
  return groupRows(rows, toUserGroup);
}

export async function countGroupsOfUsers(
  db: Db,
  userIds: readonly string[],
  q: Pick<UserGroupQuery, 'filter' | 'search' | 'visibleTo'>,
): Promise<Map<string, number>> {
  const { rows } = await executeCached(sql<{ parent_id: string; n: number }>`
    select m.user_id as parent_id, count(*)::int as n
    from users pu
    join user_group_members m on m.tenant_id = pu.tenant_id and m.user_id = pu.id
    join user_groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
    where pu.id = any(${array(userIds, 'uuid')}) and ${and(userGroupConditions(q))}
    group by m.user_id`, db);
  return new Map(rows.map((r) => [r.parent_id, r.n]));
}

export async function listGroupsOfRoles(db: Db, roleIds: readonly string[], q: UserGroupQuery): Promise<Map<string, UserGroup[]>> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select p.parent_id, x.* from unnest(${array(roleIds, 'uuid')}) as p(parent_id)
    cross join lateral (
      select g.* from group_roles gr join user_groups g on g.tenant_id = gr.tenant_id and g.id = gr.group_id
      where gr.role_id = p.parent_id and ${and(userGroupConditions(q))}
      order by ${groupOrder(q)} limit ${q.limit} offset ${q.offset}
    ) x`, db);
  return groupRows(rows, toUserGroup);
}

export async function countGroupsOfRoles(db: Db, roleIds: readonly string[], q: Pick<UserGroupQuery, 'filter' | 'search' | 'visibleTo'>): Promise<Map<string, number>> {
  const { rows } = await executeCached(sql<{ parent_id: string; n: number }>`
    select gr.role_id as parent_id, count(*)::int as n
    from group_roles gr join user_groups g on g.tenant_id = gr.tenant_id and g.id = gr.group_id
    where gr.role_id = any(${array(roleIds, 'uuid')}) and ${and(userGroupConditions(q))}
    group by gr.role_id`, db);
  return new Map(rows.map((r) => [r.parent_id, r.n]));
}

export async function findUserGroupById(db: Db, id: string): Promise<UserGroup | undefined> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`select * from user_groups where id = ${id}`, db);
  return rows[0] ? toUserGroup(rows[0]) : undefined;
}

export async function findUserGroupByReference(db: Db, tenantId: string, reference: string): Promise<UserGroup | undefined> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select * from user_groups where tenant_id = ${tenantId} and reference = ${reference}`, db);
  return rows[0] ? toUserGroup(rows[0]) : undefined;
}

export interface UserGroupWrite {
  name?: string;
  reference?: string;
  description?: string;
  type?: string;
}

export async function insertUserGroup(
  db: Db,
  group: Required<UserGroupWrite> & { id: string; tenantId: string; isUnmodifiable: boolean; actorId: string | null },
): Promise<UserGroup> {
  const row = await db
    .insertInto('user_groups')
    .values({
      id: group.id,
      tenant_id: group.tenantId,
      name: group.name,
      reference: group.reference,
      description: group.description,
      type: group.type,
      is_unmodifiable: group.isUnmodifiable,
      created_by: group.actorId,
      updated_by: group.actorId,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toUserGroup(row);
}

export async function updateUserGroup(
  db: Db,
  tenantId: string,
  id: string,
  patch: UserGroupWrite,
  actorId: string | null,
  expectedVersion?: number,
): Promise<UserGroup | undefined> {
  let query = db
    .updateTable('user_groups')
    .set({ ...patch, updated_by: actorId, updated_at: sql`now()`, version: sql`version + 1` } as never)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id);
  if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
  const row = await query
    .returningAll()
    .executeTakeFirst();
  return row ? toUserGroup(row) : undefined;
}

export async function deleteUserGroup(db: Db, tenantId: string, id: string, expectedVersion?: number): Promise<boolean> {
  let query = db.deleteFrom('user_groups').where('tenant_id', '=', tenantId).where('id', '=', id);
  if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion);
  const result = await query.executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Registers a group type name on first use, so `userGroupType` has a stable id and timestamps. */
export async function ensureUserGroupType(db: Db, id: string, name: string): Promise<void> {
  await executeCached(sql`insert into user_group_types (id, name) values (${id}, ${name}) on conflict (name) do nothing`, db);
}

export async function findUserGroupTypesByNames(db: Db, names: readonly string[]): Promise<UserGroupType[]> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select * from user_group_types where name = any(${array(names, 'text')})`, db);
  return rows.map(toUserGroupType);
}
