/** Domain records as services hand them to transports; transports pick the fields their wire format has. */

export interface Tenant {
  id: string;
  name: string;
  reference: string | null;
  isDefault: boolean;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface User {
  id: string;
  tenantId: string;
  reference: string;
  email: string;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  locale: string | null;
  timezone: string | null;
  avatarUrl: string | null;
  isOptedIn: boolean;
  active: boolean;
  synced: boolean;
  customData: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface UserGroup {
  id: string;
  tenantId: string;
  name: string;
  reference: string;
  description: string;
  type: string;
  isUnmodifiable: boolean;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
  version: number;
}

export interface UserGroupType {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Role {
  id: string;
  tenantId: string | null;
  key: string;
  name: string;
  description: string | null;
  reference: string | null;
  isSystemManaged: boolean;
  /** What the role allows: a resource and its actions, e.g. ACCESS_MANAGEMENT: [READ, WRITE]. */
  permissions: PermissionGrant[];
  createdAt: Date;
  updatedAt: Date;
}

export interface PermissionGrant {
  permission: string;
  actions: string[];
}

/** Where a role assignment applies; no audiences means the whole company. */
export interface RoleScope {
  audiences: { predicates: unknown[] }[];
}

/** One permission a user holds, and every assignment it comes from. */
export interface EffectivePermission {
  permission: string;
  actions: string[];
  sources: { roleId: string; roleName: string; via: 'direct' | 'group'; groupId: string | null; groupName: string | null; actions: string[] }[];
}

/** Who is calling. The super-admin key may do everything; a user token acts as one user of one tenant. */
export type Actor =
  | { readonly kind: 'superAdmin'; readonly keyId?: string }
  | { readonly kind: 'user'; readonly userId: string; readonly tenantId: string };

export interface RequestContext {
  readonly actor: Actor;
  /** The server's id of the request (never the caller's): in logs, the `x-request-id` answer and the audit log. */
  readonly requestId: string;
  /** The caller's own `x-request-id`, when it sent a well-formed one: kept beside the server's, never instead of it. */
  readonly clientRequestId?: string | null;
}

/** A page of results; `count` runs only when the caller asks for the total. */
export interface Page<T> {
  readonly data: T[];
  count(): Promise<number>;
  /** Lists with keyset cursors: the cursor of the last row, and whether more rows follow. */
  readonly pageInfo?: PageInfo;
}

export interface PageInfo {
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

/** Children of many parents (e.g. the users of each group on a page), loaded in one statement per level. */
export interface NestedQuery<T> {
  list(parentIds: readonly string[]): Promise<Map<string, T[]>>;
  count(parentIds: readonly string[]): Promise<Map<string, number>>;
}

// ---- list arguments (the ROQ dialect's filter/order/search vocabulary) ----

export interface StringFilter {
  equalTo?: string | null;
  notEqualTo?: string | null;
  valueIn?: readonly string[] | null;
  valueNotIn?: readonly string[] | null;
  like?: string | null;
  iLike?: string | null;
}
export interface IdFilter {
  equalTo?: string | null;
  notEqualTo?: string | null;
  valueIn?: readonly string[] | null;
  valueNotIn?: readonly string[] | null;
}
export interface IdAllFilter extends IdFilter {
  all?: readonly string[] | null;
}
export interface StringAllFilter extends StringFilter {
  all?: readonly string[] | null;
}
export interface BooleanFilter {
  equalTo?: boolean | null;
  notEqualTo?: boolean | null;
}
export interface DateFilter {
  equalTo?: Date | null;
  notEqualTo?: Date | null;
  lessThan?: Date | null;
  lessThanEqual?: Date | null;
  moreThan?: Date | null;
  moreThanEqual?: Date | null;
}

export interface UserFilter {
  id?: IdFilter | null;
  reference?: StringFilter | null;
  email?: StringFilter | null;
  firstName?: StringFilter | null;
  lastName?: StringFilter | null;
  phone?: StringFilter | null;
  locale?: StringFilter | null;
  timezone?: StringFilter | null;
  active?: BooleanFilter | null;
  tenantId?: IdFilter | null;
  roleId?: IdFilter | null;
  roleKey?: StringFilter | null;
  userGroupId?: IdAllFilter | null;
  userGroupName?: StringAllFilter | null;
  withDeactivated?: BooleanFilter | null;
  createdAt?: DateFilter | null;
  updatedAt?: DateFilter | null;
  search?: string | null;
  /** Roster: `contains` keeps users whose customData holds these keys and values (`@>`); `hasKey`, those with the key. */
  customData?: JsonFilter | null;
}

export interface JsonFilter {
  contains?: Record<string, unknown> | null;
  hasKey?: string | null;
}

export interface UserGroupFilter {
  id?: IdFilter | null;
  name?: StringFilter | null;
  reference?: StringFilter | null;
  type?: StringFilter | null;
  tenantId?: IdFilter | null;
  roleId?: IdFilter | null;
  userId?: IdFilter | null;
  createdAt?: DateFilter | null;
  updatedAt?: DateFilter | null;
}

export interface TenantFilter {
  id?: IdFilter | null;
  reference?: StringFilter | null;
  name?: StringFilter | null;
}

export interface RoleFilter {
  id?: IdFilter | null;
  key?: StringFilter | null;
  name?: StringFilter | null;
  description?: StringFilter | null;
  isSystemManaged?: BooleanFilter | null;
  userGroupId?: IdFilter | null;
  userId?: IdFilter | null;
  tenantId?: IdFilter | null;
}

export type SortOrder = 'ASC' | 'DESC';

export interface ListArgs<F, S extends string> {
  filter?: F | null;
  limit?: number | null;
  offset?: number | null;
  order?: { order: SortOrder; sort: S } | null;
  search?: { key: string; value: string } | null;
}

export type UserSort = 'active' | 'createdAt' | 'email' | 'firstName' | 'lastName' | 'locale' | 'phone' | 'timezone' | 'updatedAt';
export type UserGroupSort = 'createdAt' | 'name' | 'reference' | 'type' | 'updatedAt';
export type TenantSort = 'createdAt' | 'name' | 'updatedAt';
export type RoleSort = 'createdAt' | 'description' | 'id' | 'isSystemManaged' | 'key' | 'name' | 'updatedAt';

/** `after`: a cursor from a previous page's `pageInfo.endCursor` (keyset paging, Roster's extension). */
export type UserListArgs = ListArgs<UserFilter, UserSort> & { after?: string | null };
export type UserGroupListArgs = ListArgs<UserGroupFilter, UserGroupSort>;
export type TenantListArgs = ListArgs<TenantFilter, TenantSort>;
export type RoleListArgs = ListArgs<RoleFilter, RoleSort>;
