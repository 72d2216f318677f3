import { executeCached } from '../db/statement-cache.ts';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { SortOrder, StringFilter, User, UserFilter, UserSort } from '../domain/types.ts';
import type { KeysetPosition } from '../services/keyset-cursor.ts';
import { toUser } from './mappers.ts';
import {
  and,
  array,
  booleanConditions,
  dateConditions,
  idConditions,
  likeLiteral,
  matchesPattern,
  orderBy,
  planEachCall,
  stringConditions,
  ref,
  type Condition,
} from './sql-conditions.ts';

export interface UserQuery {
  readonly filter: UserFilter;
  /** The fields the caller will read; others are not fetched. Undefined: all. */
  readonly fields?: readonly (keyof User)[] | undefined;
  readonly search?: { key: UserSearchKey; value: string } | undefined;
  readonly sort: UserSort;
  readonly order: SortOrder;
  readonly limit: number;
  readonly offset: number;
  /** Start after this row of the same sort (keyset paging); `offset` is then 0. */
  readonly after?: KeysetPosition | undefined;
}

export type UserSearchKey = 'email' | 'firstName' | 'lastName' | 'locale' | 'phone' | 'timezone' | 'reference';

const userColumns: Record<UserSort | UserSearchKey, string> = {
  active: 'active',
  createdAt: 'created_at',
  email: 'email',
  firstName: 'first_name',
  lastName: 'last_name',
  locale: 'locale',
  phone: 'phone',
  timezone: 'timezone',
  updatedAt: 'updated_at',
  reference: 'reference',
};

const col = (alias: string, name: string) => ref(`${alias}.${name}`);

const u = (c: string) => col('u', c);
const lowerEmail = sql`lower(u.email)`;
/**
 * E-mail equality ignores case, as its uniqueness does (`users__email` and `users__email_any` are on lower(email),
 * so these conditions use them); `like` stays case-sensitive (`iLike` is there for the other).
 */
function emailConditions(f: StringFilter): Condition[] {
  const lowered = (v: string | null | undefined) => (v == null ? v : sql`lower(${v})`);
  const loweredList = (vs: readonly string[] | null | undefined) => (vs == null ? vs : vs.map((v) => v.toLowerCase()));
  const out: Condition[] = [];
  if (f.equalTo === null) out.push(sql`u.email is null`);
  else if (f.equalTo !== undefined) out.push(sql`${lowerEmail} = ${lowered(f.equalTo)}`);
  if (f.notEqualTo === null) out.push(sql`u.email is not null`);
  else if (f.notEqualTo !== undefined) out.push(sql`${lowerEmail} is distinct from ${lowered(f.notEqualTo)}`);
  return [
    ...out,
    ...stringConditions(lowerEmail, { valueIn: loweredList(f.valueIn), valueNotIn: loweredList(f.valueNotIn) }),
    ...stringConditions(u('email'), { like: f.like, iLike: f.iLike }),
  ];
}

/** The filters on the user's own columns, in the order their conditions are written. */
const columnFilters = {
  id: (f: UserFilter) => idConditions(u('id'), f.id),
  reference: (f: UserFilter) => stringConditions(u('reference'), f.reference),
  email: (f: UserFilter) => emailConditions(f.email!),
  firstName: (f: UserFilter) => stringConditions(u('first_name'), f.firstName),
  lastName: (f: UserFilter) => stringConditions(u('last_name'), f.lastName),
  phone: (f: UserFilter) => stringConditions(u('phone'), f.phone),
  locale: (f: UserFilter) => stringConditions(u('locale'), f.locale),
  timezone: (f: UserFilter) => stringConditions(u('timezone'), f.timezone),
  active: (f: UserFilter) => booleanConditions(u('active'), f.active),
  tenantId: (f: UserFilter) => idConditions(u('tenant_id'), f.tenantId),
  createdAt: (f: UserFilter) => dateConditions(u('created_at'), f.createdAt),
  updatedAt: (f: UserFilter) => dateConditions(u('updated_at'), f.updatedAt),
} satisfies Partial<Record<keyof UserFilter, (f: UserFilter) => Condition[]>>;
const COLUMN_FILTER_KEYS = Object.keys(columnFilters) as (keyof typeof columnFilters)[];
const COLUMN_FILTER_CONDITIONS = Object.values(columnFilters) as ((f: UserFilter) => Condition[])[];

/**
 * Members of every group in `ids`, found from the groups' side once per statement (their memberships by primary key,
 * counted per user) rather than per user: one EXISTS per id took PGlite seconds for 150 ids, and probing each
 * user's memberships for every id 107 s for 1,000 ids over 3,000 users. A user belongs to groups of its own tenant
 * only, so the first group's tenant is the one to look in: ids of another tenant never all match.
 */
function memberOfEvery(ids: readonly string[]): Condition {
  const distinct = [...new Set(ids.map((id) => id.toLowerCase()))];
  return sql`(u.tenant_id, u.id) in (
    select m.tenant_id, m.user_id from user_group_members m
    where m.tenant_id = (select g.tenant_id from user_groups g where g.id = ${distinct[0]}::uuid) and m.group_id = any(${array(distinct, 'uuid')})
    group by m.tenant_id, m.user_id having count(*) = ${distinct.length})`;
}

/** Members of a group of each name in `names`, found from the groups' side as in `memberOfEvery`. */
function inGroupsNamedEvery(names: readonly string[]): Condition {
  const distinct = [...new Set(names)];
  return sql`(u.tenant_id, u.id) in (
    select m.tenant_id, m.user_id from user_groups ug
    join user_group_members m on m.tenant_id = ug.tenant_id and m.group_id = ug.id
    where ug.name = any(${array(distinct, 'text')})
    group by m.tenant_id, m.user_id having count(distinct ug.name) = ${distinct.length})`;
}

/** The WHERE conditions of a user filter, over the `users` row aliased `u`. */
export function userConditions(filter: UserFilter, search: UserQuery['search']): Condition[] {
  const out: Condition[] = [];
  // In a fixed order, so one filter shape is one statement text; absent filters cost a property read.
  // An indexed loop over two arrays: on the lookup path, destructuring iteration over the entries showed up in profiles.
  for (let i = 0; i < COLUMN_FILTER_KEYS.length; i++) {
    if (filter[COLUMN_FILTER_KEYS[i]!] == null) continue;
    for (const condition of COLUMN_FILTER_CONDITIONS[i]!(filter)) out.push(condition);
  }
  const g = filter.userGroupId;
  if (g) {
    const memberOf = (ids: readonly string[]) =>
      sql`exists (select 1 from user_group_members m where m.tenant_id = u.tenant_id and m.user_id = u.id and m.group_id = any(${array(ids, 'uuid')}))`;
    // One group: its tenant, read first (an InitPlan), lets the membership primary key (tenant_id, group_id,
    // user_id) serve both a count and the probe of each user; without it a count over 10M memberships scanned
    // them all (0.8 s for a 4-member group at 1M users, 17 ms with it).
    const memberOfOne = (id: string) =>
      sql`exists (select 1 from user_group_members m where m.tenant_id = u.tenant_id and m.user_id = u.id
        and m.tenant_id = (select g.tenant_id from user_groups g where g.id = ${id} limit 1) and m.group_id = ${id})`;
    if (g.equalTo != null) out.push(memberOfOne(g.equalTo));
    if (g.valueIn) out.push(memberOf(g.valueIn));
    if (g.notEqualTo != null) out.push(sql`not ${memberOfOne(g.notEqualTo)}`);
    if (g.valueNotIn) out.push(sql`not ${memberOf(g.valueNotIn)}`);
    if (g.all && g.all.length > 0) out.push(memberOfEvery(g.all));
  }
  const gn = filter.userGroupName;
  if (gn) {
    const inGroupNamed = (cond: Condition) =>
      sql`exists (select 1 from user_group_members m join user_groups ug on ug.tenant_id = m.tenant_id and ug.id = m.group_id
                  where m.tenant_id = u.tenant_id and m.user_id = u.id and ${cond})`;
    const { all, ...rest } = gn;
    const nameConds = stringConditions(ref('ug.name'), rest);
    if (nameConds.length > 0) out.push(inGroupNamed(and(nameConds)));
    if (all && all.length > 0) out.push(inGroupsNamedEvery(all));
  }
  const roleConds = [
    ...idConditions(ref('r.id'), filter.roleId),
    ...stringConditions(ref('r.key'), filter.roleKey),
  ];
  if (roleConds.length > 0) {
    // A user holds a role directly or through any of their groups.
    out.push(sql`(
      exists (select 1 from user_roles ur join roles r on r.id = ur.role_id
              where ur.tenant_id = u.tenant_id and ur.user_id = u.id and ${and(roleConds)})
      or exists (select 1 from user_group_members m join group_roles gr on gr.tenant_id = m.tenant_id and gr.group_id = m.group_id
                 join roles r on r.id = gr.role_id
                 where m.tenant_id = u.tenant_id and m.user_id = u.id and ${and(roleConds)}))`);
  }
  if (filter.search) {
    const pattern = `%${likeLiteral(filter.search)}%`;
    out.push(sql`(u.first_name ilike ${pattern} or u.last_name ilike ${pattern} or u.email ilike ${pattern} or u.reference ilike ${pattern})`);
  }
  if (search) out.push(sql`${u(userColumns[search.key])} ilike ${`%${likeLiteral(search.value)}%`}`);
  // Written with the operators (not jsonb_contains()/jsonb_exists()) so the GIN index on custom_data serves them.
  const cd = filter.customData;
  if (cd?.contains) out.push(sql`u.custom_data @> ${JSON.stringify(cd.contains)}::jsonb`);
  if (cd?.hasKey != null) out.push(sql`u.custom_data ? ${cd.hasKey}`);
  return out;
}

const fieldColumns: Record<keyof User, string> = {
  id: 'id',
  tenantId: 'tenant_id',
  reference: 'reference',
  email: 'email',
  phone: 'phone',
  firstName: 'first_name',
  lastName: 'last_name',
  locale: 'locale',
  timezone: 'timezone',
  avatarUrl: 'avatar_url',
  isOptedIn: 'is_opted_in',
  active: 'active',
  synced: 'synced',
  customData: 'custom_data',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  version: 'version',
};
export const USER_FIELDS = new Set(Object.keys(fieldColumns)) as ReadonlySet<keyof User>;

const selections = new Map<string, Condition>();
/**
 * The columns a list reads: only those behind the requested fields (plus the keys), so a lookup that wants
 * `id` and `email` does not fetch and parse seventeen columns.
 */
export function userSelection(fields: UserQuery['fields']): Condition {
  if (!fields) return sql`u.*`;
  const columns = [...new Set(['id', 'tenant_id', ...fields.map((f) => fieldColumns[f])])].sort();
  const key = columns.join(',');
  let built = selections.get(key);
  if (!built) selections.set(key, (built = sql.join(columns.map((c) => ref(`u.${c}`)))));
  return built;
}

const userOrder = (q: UserQuery) => orderBy(col('u', userColumns[q.sort]), col('u', 'id'), q.order);

/** Sorts whose column may be NULL: PostgreSQL puts NULLs last ascending and first descending. */
const NULLABLE_SORTS: ReadonlySet<UserSort> = new Set(['firstName', 'lastName', 'phone', 'locale', 'timezone']);
const SORT_TYPES: Partial<Record<UserSort, string>> = { createdAt: 'timestamptz', updatedAt: 'timestamptz', active: 'boolean' };

/** The type a sort's cursor value is read back as; text unless listed. */
export const userSortType = (sort: UserSort): 'timestamptz' | 'boolean' | 'text' =>
  (SORT_TYPES[sort] as 'timestamptz' | 'boolean' | undefined) ?? 'text';

/**
 * Rows after `position` in the list's order, written as a row comparison `(sort, id) > (v, i)` so the (sort, id)
 * index is entered at the position rather than scanned from its start. NULL sort values need their own branch.
 */
function afterPosition(q: UserQuery, position: KeysetPosition): Condition {
  const column = col('u', userColumns[q.sort]);
  const id = col('u', 'id');
  const asc = q.order === 'ASC';
  const lastId = sql`${position.id}::uuid`;
  if (position.value === null) {
    return asc ? sql`(${column} is null and ${id} > ${lastId})` : sql`((${column} is null and ${id} < ${lastId}) or ${column} is not null)`;
  }
  const value = sql`${position.value}::${sql.raw(userSortType(q.sort))}`;
  const beyond = asc ? sql`(${column}, ${id}) > (${value}, ${lastId})` : sql`(${column}, ${id}) < (${value}, ${lastId})`;
  return asc && NULLABLE_SORTS.has(q.sort) ? sql`(${beyond} or ${column} is null)` : beyond;
}

/**
 * Whether the best plan of a users query depends on its values: which groups or roles (their sizes vary from one
 * member to a whole tenant), which pattern, which JSON. A query pinned to one user by id or reference has one
 * best plan, the index probe, whatever the values; so has a plain list of a tenant (its index walk).
 */
function usersValueSensitive(filter: UserFilter, search: UserQuery['search']): boolean {
  if (filter.id?.equalTo != null || filter.reference?.equalTo != null) return false;
  return (
    search != null ||
    filter.search != null ||
    filter.userGroupId != null ||
    filter.userGroupName != null ||
    filter.roleId != null ||
    filter.roleKey != null ||
    filter.customData != null ||
    [filter.reference, filter.email, filter.firstName, filter.lastName, filter.phone, filter.locale, filter.timezone].some(matchesPattern)
  );
}

export interface UserListPage {
  readonly users: User[];
  /** Where each row stands in the list's order: what a cursor to the page after it holds. */
  readonly positions: KeysetPosition[];
}

export async function listUsers(db: Db, q: UserQuery): Promise<UserListPage> {
  const conditions = userConditions(q.filter, q.search);
  if (q.after) conditions.push(afterPosition(q, q.after));
  const { rows } = await executeCached(sql<Record<string, unknown>>`${planEachCall(usersValueSensitive(q.filter, q.search))}
    select ${userSelection(q.fields)}, ${col('u', userColumns[q.sort])}::text as keyset_value
    from users u where ${and(conditions)}
    order by ${userOrder(q)} limit ${q.limit} offset ${q.offset}`, db);
  return {
    users: rows.map(toUser),
    positions: rows.map((r) => ({ value: r.keyset_value == null ? null : String(r.keyset_value), id: String(r.id) })),
  };
}

export async function countUsers(db: Db, q: Pick<UserQuery, 'filter' | 'search'>): Promise<number> {
  const { rows } = await executeCached(sql<{ n: number }>`${planEachCall(usersValueSensitive(q.filter, q.search))}
    select count(*)::int as n from users u where ${and(userConditions(q.filter, q.search))}`, db);
  return rows[0]?.n ?? 0;
}

export type GroupRelation = 'members' | 'managers';
const relationTable = (r: GroupRelation) => sql.table(r === 'members' ? 'user_group_members' : 'user_group_managers');

/** From this many members on, a group's page of users walks the tenant's users instead of probing each member. */
const BIG_GROUP = 10_000;

/**
 * One statement for the users of many groups: a LATERAL page per group, so each parent gets its own limit. The
 * parent's tenant is joined in so the (tenant_id, group_id, ...) indexes apply. Each page is found first by keys
 * alone (a deferred join): with the default filter and order the members are matched and sorted from the
 * covering index `users__tenant_id_covering` without reading their rows, and only the page's rows are read.
 *
 * A group of fewer than BIG_GROUP members (counted up to that many) has each member's user probed on its own (the
 * `offset 0` keeps PostgreSQL from merging that subquery into a join): the planner knows neither the group's size
 * nor its tenant's here, only averages, and a merge join that reads the whole tenant looked cheaper than probing
 * ~100 members. At 1M users that read 200,000 users per small group of the biggest tenant: 506 ms for 10 groups of
 * ~90 members, 9 ms with the probe. A bigger group walks the tenant's users in the page's order instead and probes
 * each one's membership, stopping when the page is full: probing every member of the 233,805-member group before
 * sorting took 1.4 s for a page of 100, the walk 5 ms. Only one of the two branches runs for a group (each is
 * gated on the count).
 */
export async function listUsersOfGroups(
  db: Db,
  relation: GroupRelation,
  groupIds: readonly string[],
  q: UserQuery,
): Promise<Map<string, User[]>> {
  const members = relationTable(relation);
  const sortKey = col('u', userColumns[q.sort]);
  const conditions = and(userConditions(q.filter, q.search));
  // Planned per call: the groups' sizes decide between walking the members and walking the tenant's users.
  const { rows } = await executeCached(sql<Record<string, unknown>>`${planEachCall(true)}
    select p.parent_id, x.* from unnest(${array(groupIds, 'uuid')}) as p(parent_id)
    join user_groups pg on pg.id = p.parent_id
    cross join lateral (
      select count(*) >= ${BIG_GROUP} as big from (
        select from ${members} rel where rel.tenant_id = pg.tenant_id and rel.group_id = p.parent_id limit ${BIG_GROUP}
      ) counted
    ) size
    cross join lateral (
      select ${userSelection(q.fields)} from (
        (select u.tenant_id, u.id, ${sortKey} from ${members} rel
        cross join lateral (
          select u.tenant_id, u.id, ${sortKey} from users u
          where u.tenant_id = rel.tenant_id and u.id = rel.user_id and ${conditions}
          offset 0
        ) u
        where not size.big and rel.tenant_id = pg.tenant_id and rel.group_id = p.parent_id
        order by ${userOrder(q)} limit ${q.limit} offset ${q.offset})
        union all
        (select u.tenant_id, u.id, ${sortKey} from users u
        cross join lateral (
          select from ${members} rel where rel.tenant_id = u.tenant_id and rel.group_id = p.parent_id and rel.user_id = u.id
          offset 0
        ) member
        where size.big and u.tenant_id = pg.tenant_id and ${conditions}
        order by ${userOrder(q)} limit ${q.limit} offset ${q.offset})
      ) page
      join users u on u.tenant_id = page.tenant_id and u.id = page.id
      order by ${userOrder(q)}
    ) x`, db);
  return groupRows(rows, toUser);
}

export async function countUsersOfGroups(
  db: Db,
  relation: GroupRelation,
  groupIds: readonly string[],
  q: Pick<UserQuery, 'filter' | 'search'>,
): Promise<Map<string, number>> {
  const { rows } = await executeCached(sql<{ parent_id: string; n: number }>`${planEachCall(true)}
    select rel.group_id as parent_id, count(*)::int as n from user_groups pg
    join ${relationTable(relation)} rel on rel.tenant_id = pg.tenant_id and rel.group_id = pg.id
    join users u on u.tenant_id = rel.tenant_id and u.id = rel.user_id
    where pg.id = any(${array(groupIds, 'uuid')}) and ${and(userConditions(q.filter, q.search))}
    group by rel.group_id`, db);
  return new Map(rows.map((r) => [r.parent_id, r.n]));
}

export async function countUsersOfTenants(db: Db, tenantIds: readonly string[], activeOnly: boolean): Promise<Map<string, number>> {
  const { rows } = await executeCached(sql<{ parent_id: string; n: number }>`
    select u.tenant_id as parent_id, count(*)::int as n from users u
    where u.tenant_id = any(${array(tenantIds, 'uuid')}) ${activeOnly ? sql`and u.active` : sql``}
    group by u.tenant_id`, db);
  return new Map(rows.map((r) => [r.parent_id, r.n]));
}

/** Holders of each role, directly or through a group; within one tenant when `tenantId` is given. */
export async function countUsersOfRoles(db: Db, roleIds: readonly string[], tenantId?: string): Promise<Map<string, number>> {
  const inTenant = (column: string) => (tenantId === undefined ? sql`true` : sql`${sql.ref(column)} = ${tenantId}`);
  const { rows } = await executeCached(sql<{ parent_id: string; n: number }>`
    select x.role_id as parent_id, count(distinct (x.tenant_id, x.user_id))::int as n from (
      select ur.role_id, ur.tenant_id, ur.user_id from user_roles ur where ur.role_id = any(${array(roleIds, 'uuid')}) and ${inTenant('ur.tenant_id')}
      union all
      select gr.role_id, m.tenant_id, m.user_id from group_roles gr
      join user_group_members m on m.tenant_id = gr.tenant_id and m.group_id = gr.group_id
      where gr.role_id = any(${array(roleIds, 'uuid')}) and ${inTenant('gr.tenant_id')}
    ) x group by x.role_id`, db);
  return new Map(rows.map((r) => [r.parent_id, r.n]));
}

export function groupRows<T>(rows: Record<string, unknown>[], map: (r: Record<string, unknown>) => T): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const key = String(row.parent_id);
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(map(row));
  }
  return out;
}

/** `fields`: the fields the caller reads (the others are not fetched); undefined: all. */
export async function findUserById(db: Db, id: string, fields?: readonly (keyof User)[]): Promise<User | undefined> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`select ${userSelection(fields)} from users u where u.id = ${id}`, db);
  return rows[0] ? toUser(rows[0]) : undefined;
}

export async function findUsersByIds(db: Db, ids: readonly string[]): Promise<User[]> {
  if (ids.length === 0) return [];
  const { rows } = await executeCached(sql<Record<string, unknown>>`select * from users where id = any(${array(ids, 'uuid')})`, db);
  return rows.map(toUser);
}

export interface UserKey {
  readonly id: string;
  readonly tenantId: string;
  readonly reference: string;
}

/** Just the keys of many users: what membership calls need to check 10,000 ids cheaply. */
export async function findUserKeys(db: Db, by: { ids: readonly string[] } | { tenantId: string; refs: readonly string[] }): Promise<UserKey[]> {
  const where = 'ids' in by
    ? sql`id = any(${array(by.ids, 'uuid')})`
    : sql`tenant_id = ${by.tenantId} and reference = any(${array(by.refs, 'text')})`;
  if (('ids' in by ? by.ids : by.refs).length === 0) return [];
  const { rows } = await executeCached(sql<{ id: string; tenant_id: string; reference: string }>`
    select id, tenant_id, reference from users where ${where}`, db);
  return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, reference: r.reference }));
}

export async function findUsersByReferences(db: Db, tenantId: string, refs: readonly string[]): Promise<User[]> {
  if (refs.length === 0) return [];
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select * from users where tenant_id = ${tenantId} and reference = any(${array(refs, 'text')})`, db);
  return rows.map(toUser);
}

export async function findUserByReference(db: Db, tenantId: string, reference: string): Promise<User | undefined> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`select * from users where tenant_id = ${tenantId} and reference = ${reference}`, db);
  return rows[0] ? toUser(rows[0]) : undefined;
}

export async function findUserByEmail(db: Db, tenantId: string, email: string): Promise<User | undefined> {
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    select * from users where tenant_id = ${tenantId} and lower(email) = lower(${email})`, db);
  return rows[0] ? toUser(rows[0]) : undefined;
}

export interface UserWrite {
  reference?: string;
  email?: string;
  phone?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  locale?: string | null;
  timezone?: string | null;
  avatarUrl?: string | null;
  isOptedIn?: boolean;
  active?: boolean;
  customData?: Record<string, unknown>;
}

function toColumns(w: UserWrite): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (w.reference !== undefined) c.reference = w.reference;
  if (w.email !== undefined) c.email = w.email;
  if (w.phone !== undefined) c.phone = w.phone;
  if (w.firstName !== undefined) c.first_name = w.firstName;
  if (w.lastName !== undefined) c.last_name = w.lastName;
  if (w.locale !== undefined) c.locale = w.locale;
  if (w.timezone !== undefined) c.timezone = w.timezone;
  if (w.avatarUrl !== undefined) c.avatar_url = w.avatarUrl;
  if (w.isOptedIn !== undefined) c.is_opted_in = w.isOptedIn;
  if (w.active !== undefined) c.active = w.active;
  if (w.customData !== undefined) c.custom_data = JSON.stringify(w.customData);
  return c;
}

/** Who made a write and in which request, for the audit record written with it. */
export interface AuditStamp {
  readonly id: string;
  readonly actorKind: string;
  readonly actorId: string | null;
  readonly requestId: string | null;
  /** The caller's own `x-request-id`, kept beside the server's `requestId`. */
  readonly clientRequestId: string | null;
}

/**
 * Inserts a user and its `user.create` audit record in one statement (a data-modifying CTE): atomic on its own,
 * one round trip instead of BEGIN, two inserts and COMMIT. The recorded fields match UserService's audit of
 * creations made in a transaction (`user.create` with the user's fields).
 */
export async function insertUserAudited(
  db: Db,
  user: UserWrite & { id: string; tenantId: string; reference: string; email: string },
  stamp: AuditStamp,
): Promise<User> {
  const insert = db
    .insertInto('users')
    .values({ custom_data: '{}', ...toColumns(user), id: user.id, tenant_id: user.tenantId, reference: user.reference, email: user.email } as never)
    .returningAll();
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    with u as (${insert}),
    a as (
      insert into audit_log (id, tenant_id, actor_kind, actor_id, operation, target_type, target_id, changes, subjects, request_id, client_request_id)
      select ${stamp.id}::uuid, u.tenant_id, ${stamp.actorKind}, ${stamp.actorId}, 'user.create', 'user', u.id::text,
        ${auditedFieldsOf('u')}, array[u.id::text], ${stamp.requestId}, ${stamp.clientRequestId}::text
      from u
    )
    select * from u`, db);
  return toUser(rows[0]!);
}

/**
 * Updates a user (bumping its version) and writes its `user.update` audit record in one statement; with
 * `tokensRevokedAt` (a deactivation), the user's tokens issued before it are revoked in the same statement: one round trip
 * instead of BEGIN, the update, the record and COMMIT. The record's changes are the audited fields whose value
 * differs between the row the update replaced and the row it wrote (`{ field: { from, to } }`); a record is written
 * even when nothing differs, as for any update. With `expectedVersion` the row is updated only at that version.
 * Undefined when no row was updated.
 */
export async function updateUserAudited(
  db: Db,
  tenantId: string,
  id: string,
  patch: UserWrite,
  expectedVersion: number | undefined,
  stamp: AuditStamp,
  tokensRevokedAt?: Date,
): Promise<User | undefined> {
  let update = db
    .updateTable('users')
    .set({ ...toColumns(patch), updated_at: sql`now()`, version: sql`version + 1` } as never)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    // Evaluated first (an InitPlan), so the row is locked before the update reads it.
    .where(sql<boolean>`exists (select from old_row)`);
  if (expectedVersion !== undefined) update = update.where('version', '=', expectedVersion);
  // `old_row` locks the row and reads its newest version, which a concurrent update may have made after this
  // statement's snapshot: the values this update replaces, so the record's changes are this update's own.
  const { rows } = await executeCached(sql<Record<string, unknown>>`
    with old_row as (select * from users where tenant_id = ${tenantId}::uuid and id = ${id}::uuid for update),
    u as (${update.returningAll()}),
    a as (
      insert into audit_log (id, tenant_id, actor_kind, actor_id, operation, target_type, target_id, changes, subjects, request_id, client_request_id)
      select ${stamp.id}::uuid, u.tenant_id, ${stamp.actorKind}, ${stamp.actorId}, 'user.update', 'user', u.id::text,
        ${changedFields('old_row', 'u')},
        array[u.id::text], ${stamp.requestId}, ${stamp.clientRequestId}::text
      from u cross join old_row
    )${tokensRevokedAt === undefined ? sql`` : sql`,
    r as (
      insert into token_revocations (user_id, not_before)
      select u.id, ${tokensRevokedAt}::timestamptz from u where not u.active
      on conflict (user_id) do update set not_before = excluded.not_before, recorded_at = now()
    )`}
    select * from u`, db);
  return rows[0] ? toUser(rows[0]) : undefined;
}

/** What the audit log records of a user, by API name and column (`synced` and the timestamps are bookkeeping). */
const AUDITED_COLUMNS = [
  ['reference', 'reference'], ['email', 'email'], ['phone', 'phone'], ['firstName', 'first_name'], ['lastName', 'last_name'],
  ['locale', 'locale'], ['timezone', 'timezone'], ['avatarUrl', 'avatar_url'], ['isOptedIn', 'is_opted_in'], ['active', 'active'],
  ['customData', 'custom_data'],
] as const;

/** The audited fields of the users row `alias` as one jsonb object, keyed as the API names them. */
function auditedFieldsOf(alias: string) {
  return sql.raw(`jsonb_build_object(${AUDITED_COLUMNS.map(([name, column]) => `'${name}', ${alias}.${column}`).join(', ')})`);
}

/** `{ field: { from, to } }` for each audited field whose value differs between the rows `before` and `after`. */
function changedFields(before: string, after: string) {
  return sql.raw(AUDITED_COLUMNS.map(([name, column]) =>
    `(case when ${before}.${column} is distinct from ${after}.${column} ` +
    `then jsonb_build_object('${name}', jsonb_build_object('from', ${before}.${column}, 'to', ${after}.${column})) else '{}'::jsonb end)`,
  ).join(' || '));
}

export async function deleteUser(db: Db, tenantId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
