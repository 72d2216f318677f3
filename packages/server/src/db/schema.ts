import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<Record<string, unknown>, string, string>;

export interface TenantsTable {
  id: string;
  name: string;
  reference: string | null;
  is_default: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

export interface UsersTable {
  tenant_id: string;
  id: string;
  reference: string;
  email: string;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  locale: string | null;
  timezone: string | null;
  avatar_url: string | null;
  is_opted_in: Generated<boolean>;
  active: Generated<boolean>;
  synced: Generated<boolean>;
  custom_data: Json;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

export interface UserGroupsTable {
  tenant_id: string;
  id: string;
  name: string;
  reference: string;
  description: string;
  type: string;
  is_unmodifiable: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  created_by: string | null;
  updated_by: string | null;
  version: Generated<number>;
}

export interface GroupMembershipTable {
  tenant_id: string;
  group_id: string;
  user_id: string;
  added_at: Timestamp;
}

export interface UserGroupTypesTable {
  id: string;
  name: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RolesTable {
  id: string;
  /** null for platform roles, which every tenant sees. */
  tenant_id: string | null;
  key: string;
  name: string;
  description: string | null;
  reference: string | null;
  is_system_managed: Generated<boolean>;
  permissions: ColumnType<PermissionGrant[], string | undefined, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PermissionGrant {
  permission: string;
  actions: string[];
}

export interface UserRolesTable {
  tenant_id: string;
  user_id: string;
  role_id: string;
  scope: ColumnType<RoleScope, string | undefined, string>;
  created_at: Timestamp;
}

export interface GroupRolesTable {
  tenant_id: string;
  group_id: string;
  role_id: string;
  scope: ColumnType<RoleScope, string | undefined, string>;
  created_at: Timestamp;
}

/** Where a role applies: no audiences means the whole company. */
export interface RoleScope {
  audiences: { predicates: unknown[] }[];
}

export interface ApiKeysTable {
  id: string;
  prefix: string;
  hash: string;
  name: string;
  created_at: Timestamp;
  revoked_at: Date | null;
  last_used_at: Date | null;
  expires_at: Date | null;
  replaced_by: string | null;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  private_jwk: Json;
  public_jwk: Json;
  created_at: Timestamp;
  retired_at: Date | null;
}

export interface AuditLogTable {
  id: string;
  tenant_id: string | null;
  occurred_at: Timestamp;
  actor_kind: string;
  actor_id: string | null;
  operation: string;
  target_type: string;
  target_id: string | null;
  changes: Json;
  subjects: ColumnType<string[], string[] | undefined, string[]>;
  request_id: string | null;
  /** The caller's `x-request-id`, when it sent a well-formed one (migration 0009); `request_id` is the server's. */
  client_request_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface IdempotencyKeysTable {
  principal: string;
  key: string;
  request_hash: string;
  state: 'pending' | 'done';
  response_status: number | null;
  response_body: string | null;
  response_type: string | null;
  response_headers: ColumnType<Record<string, string> | null, string | null, string | null>;
  locked_until: Timestamp;
  created_at: Timestamp;
}

export interface TokenRevocationsTable {
  user_id: string;
  not_before: Date;
  recorded_at: Generated<Date>;
}

export interface Database {
  tenants: TenantsTable;
  users: UsersTable;
  user_groups: UserGroupsTable;
  user_group_members: GroupMembershipTable;
  user_group_managers: GroupMembershipTable;
  user_group_types: UserGroupTypesTable;
  roles: RolesTable;
  user_roles: UserRolesTable;
  group_roles: GroupRolesTable;
  api_keys: ApiKeysTable;
  token_revocations: TokenRevocationsTable;
  signing_keys: SigningKeysTable;
  audit_log: AuditLogTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type TenantRow = Selectable<TenantsTable>;
export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserGroupRow = Selectable<UserGroupsTable>;
export type RoleRow = Selectable<RolesTable>;
export type UserGroupTypeRow = Selectable<UserGroupTypesTable>;
