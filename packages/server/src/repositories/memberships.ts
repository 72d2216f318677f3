import { executeCached } from '../db/statement-cache.ts';
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import type { User, UserGroup } from '../domain/types.ts';
import { toUser, toUserGroup } from './mappers.ts';
import { insertAuditOfChangedUsers, type AuditRow } from './audit.ts';
import { userSelection, type GroupRelation } from './users.ts';
import { array } from './sql-conditions.ts';

const table = (r: GroupRelation) => sql.table(r === 'members' ? 'user_group_members' : 'user_group_managers');

/**
 * Adds users to a group in one statement; returns the ids that were not there before. Only users of the group's
 * tenant are added: other ids (unknown, deleted, another tenant's) are left out rather than failing the
 * statement, and the caller finds them among the ids not returned. Ids go in sorted, so two calls over
 * overlapping users take their row locks in the same order instead of deadlocking.
 */
export async function addToGroup(
  db: Db,
  relation: GroupRelation,
  tenantId: string,
  groupId: string,
  userIds: readonly string[],
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const { rows } = await executeCached(sql<{ user_id: string }>`
    insert into ${table(relation)} (tenant_id, group_id, user_id)
    select ${tenantId}::uuid, ${groupId}::uuid, u.id from unnest(${array([...userIds].sort(), 'uuid')}) as t(id)
    join users u on u.tenant_id = ${tenantId}::uuid and u.id = t.id
    order by u.id
    on conflict do nothing
    returning user_id`, db);
  return rows.map((r) => r.user_id);
}

/** Removes users from a group in one statement; returns the ids that were there. */
export async function removeFromGroup(
  db: Db,
  relation: GroupRelation,
  tenantId: string,
  groupId: string,
  userIds: readonly string[],
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const { rows } = await executeCached(sql<{ user_id: string }>`
    delete from ${table(relation)}
    where tenant_id = ${tenantId} and group_id = ${groupId} and user_id = any(${array(userIds, 'uuid')})
    returning user_id`, db);
  return rows.map((r) => r.user_id);
}

export interface AuditedChange {
  readonly relation: GroupRelation;
  readonly change: 'add' | 'remove';
  readonly tenantId: string;
  readonly groupId: string;
  /** Distinct ids. */
  readonly userIds: readonly string[];
  /** All or nothing: unless every id is a user of the tenant, change nothing. */
  readonly requireAll: boolean;
  /** The record to write if anything changed; its `changes` and subjects gain the changed users. */
  readonly audit: AuditRow;
}

export interface AuditedChangeResult {
  /** The ids whose state changed (added, or removed). */
  readonly changed: string[];
  /** `requireAll` only: some id was not a user of the tenant, so nothing changed. */
  readonly heldBack: boolean;
}

/**
 * Adds users to a group, or removes them, and writes the audit record, in one statement: one round trip and no
 * `BEGIN`/`COMMIT`, since PostgreSQL runs a statement atomically. Only users of the group's tenant are touched;
 * with `requireAll` an id that is not one of them holds the whole change back. Ids go in sorted, so two calls over
 * overlapping users take their row locks in the same order instead of deadlocking.
 */
export async function changeAudited(db: Db, c: AuditedChange): Promise<AuditedChangeResult> {
  if (c.userIds.length === 0) return { changed: [], heldBack: false };
  const { rows } = await executeCached(sql<{ changed: string[]; held_back: boolean }>`
    ${changeStatement(c, sql`${c.tenantId}::uuid`, undefined)}`, db);
  const row = rows[0]!;
  return { changed: row.changed, heldBack: row.held_back };
}

/**
 * `changeAudited` for a group named only by its id, when the caller may change any group it finds (the
 * super-admin): the statement reads the group too, so the call is one round trip instead of two. `tenantId`, when
 * given, must be the group's. Undefined when there is no such group; then nothing was written.
 */
export async function changeAuditedInGroup(
  db: Db,
  c: Omit<AuditedChange, 'tenantId'> & { readonly tenantId: string | undefined },
): Promise<(AuditedChangeResult & { group: UserGroup }) | undefined> {
  const group = sql`group_read as (
    select * from user_groups where id = ${c.groupId}::uuid ${c.tenantId === undefined ? sql`` : sql`and tenant_id = ${c.tenantId}::uuid`})`;
  const { rows } = await executeCached(sql<Record<string, unknown> & { changed: string[]; held_back: boolean }>`
    ${changeStatement(c, sql`(select tenant_id from group_read)`, group)}`, db);
  const row = rows[0];
  return row ? { group: toUserGroup(row), changed: row.changed, heldBack: row.held_back } : undefined;
}

/**
 * The statement of a change: `tenant` is the group's tenant (a value, or read by `groupRead`, whose columns the
 * statement then returns, with no row when it finds no group).
 */
function changeStatement(c: Omit<AuditedChange, 'tenantId'>, tenant: RawBuilder<unknown>, groupRead: RawBuilder<unknown> | undefined) {
  const ids = [...c.userIds].sort();
  // A membership row exists only for a user of the group's tenant, so a removal needs the users only to count them.
  const candidate = c.requireAll || c.change === 'add'
    ? sql`select u.id from unnest(${array(ids, 'uuid')}) as t(id) join users u on u.tenant_id = ${tenant} and u.id = t.id`
    : sql`select t.id from unnest(${array(ids, 'uuid')}) as t(id)`;
  const heldBack = c.requireAll ? sql`((select count(*) from candidate) <> ${ids.length})` : sql`false`;
  const change = c.change === 'add'
    ? sql`insert into ${table(c.relation)} (tenant_id, group_id, user_id)
        select ${tenant}, ${c.groupId}::uuid, id from candidate where not ${heldBack}
        order by id
        on conflict do nothing
        returning user_id`
    : sql`delete from ${table(c.relation)}
        where tenant_id = ${tenant} and group_id = ${c.groupId}::uuid and user_id in (select id from candidate) and not ${heldBack}
        returning user_id`;
  return sql`
    with ${groupRead ? sql`${groupRead}, ` : sql``}candidate as (${candidate}),
    changed as (${change}),
    audited as (${insertAuditOfChangedUsers(c.audit, 'changed', tenant)})
    select ${groupRead ? sql`group_read.*,` : sql``}
      coalesce((select array_agg(user_id::text) from changed), '{}') as changed, ${heldBack} as held_back
    ${groupRead ? sql`from group_read` : sql``}`;
}

export async function isInGroup(db: Db, relation: GroupRelation, tenantId: string, groupId: string, userId: string): Promise<boolean> {
  const { rows } = await executeCached(sql`
    select 1 from ${table(relation)} where tenant_id = ${tenantId} and group_id = ${groupId} and user_id = ${userId}`, db);
  return rows.length > 0;
}

/** Which of `groupIds` the user manages. */
export async function managedAmong(db: Db, tenantId: string, groupIds: readonly string[], userId: string): Promise<string[]> {
  const { rows } = await executeCached(sql<{ group_id: string }>`
    select group_id from user_group_managers
    where tenant_id = ${tenantId} and user_id = ${userId} and group_id = any(${array(groupIds, 'uuid')})`, db);
  return rows.map((r) => r.group_id);
}

export interface MembershipCursor {
  readonly addedAt: string;
  readonly userId: string;
}

export interface MembershipEntry {
  readonly user: User;
  readonly addedAt: Date;
  readonly cursor: MembershipCursor;
}

/**
 * Keyset page of a group's members in (added_at, user_id) order: the index
 * (tenant_id, group_id, added_at, user_id) makes the last page as cheap as the first.
 */
export async function pageGroupMembers(
  db: Db,
  relation: GroupRelation,
  tenantId: string,
  groupId: string,
  after: MembershipCursor | undefined,
  limit: number,
  /** The user fields the caller reads (others are not fetched); undefined: all. */
  fields?: readonly (keyof User)[],
): Promise<MembershipEntry[]> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select ${userSelection(fields)}, rel.added_at as rel_added_at, rel.added_at::text as rel_added_at_text
    from ${table(relation)} rel join users u on u.tenant_id = rel.tenant_id and u.id = rel.user_id
    where rel.tenant_id = ${tenantId} and rel.group_id = ${groupId}
      ${after ? sql`and (rel.added_at, rel.user_id) > (${after.addedAt}::timestamptz, ${after.userId}::uuid)` : sql``}
    order by rel.added_at, rel.user_id
    limit ${limit}`, db);
  return rows.map((r) => ({
    user: toUser(r),
    addedAt: r.rel_added_at as Date,
    cursor: { addedAt: String(r.rel_added_at_text), userId: String(r.id) },
  }));
}

export interface MembershipFilter {
  readonly addedAfter?: Date | undefined;
  readonly addedBefore?: Date | undefined;
  readonly userIds?: readonly string[] | undefined;
}

export interface MembershipListQuery {
  /** Rows matching ANY of the filters are returned; none means all. */
  readonly filters: readonly MembershipFilter[];
  readonly order: 'ASC' | 'DESC';
  readonly limit: number;
  readonly offset: number;
}

function membershipFilterCondition(filters: readonly MembershipFilter[]) {
  if (filters.length === 0) return sql`true`;
  const each = filters.map((f) => {
    const parts = [sql`true`];
    if (f.addedAfter) parts.push(sql`rel.added_at >= ${f.addedAfter.toISOString()}::timestamptz`);
    if (f.addedBefore) parts.push(sql`rel.added_at < ${f.addedBefore.toISOString()}::timestamptz`);
    if (f.userIds) parts.push(sql`rel.user_id = any(${array(f.userIds, 'uuid')})`);
    return sql`(${sql.join(parts, sql` and `)})`;
  });
  return sql`(${sql.join(each, sql` or `)})`;
}

/** Offset page of a group's memberships (user id and when added), in added order. */
export async function listMemberships(
  db: Db,
  relation: GroupRelation,
  tenantId: string,
  groupId: string,
  q: MembershipListQuery,
): Promise<{ userId: string; addedAt: Date }[]> {
  const dir = sql.raw(q.order === 'DESC' ? 'desc' : 'asc');
  const { rows } = await executeCached(sql<{ user_id: string; added_at: Date }>`
    select rel.user_id, rel.added_at from ${table(relation)} rel
    where rel.tenant_id = ${tenantId} and rel.group_id = ${groupId} and ${membershipFilterCondition(q.filters)}
    order by rel.added_at ${dir}, rel.user_id ${dir}
    limit ${q.limit} offset ${q.offset}`, db);
  return rows.map((r) => ({ userId: r.user_id, addedAt: r.added_at }));
}

export async function countMemberships(
  db: Db,
  relation: GroupRelation,
  tenantId: string,
  groupId: string,
  filters: readonly MembershipFilter[],
): Promise<number> {
  const { rows } = await executeCached(sql<{ n: number }>`
    select count(*)::int as n from ${table(relation)} rel
    where rel.tenant_id = ${tenantId} and rel.group_id = ${groupId} and ${membershipFilterCondition(filters)}`, db);
  return rows[0]?.n ?? 0;
}
