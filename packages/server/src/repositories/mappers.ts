import type { Role, Tenant, User, UserGroup, UserGroupType } from '../domain/types.ts';

type Row = Record<string, unknown>;

const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const str = (v: unknown): string | null => (v == null ? null : String(v));

export function toTenant(r: Row): Tenant {
  return {
    id: String(r.id),
    name: String(r.name),
    reference: str(r.reference),
    isDefault: Boolean(r.is_default),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
    version: Number(r.version),
  };
}

/** Maps a users row; a projected row (see `userSelection`) leaves the unfetched fields at neutral values. */
export function toUser(r: Row): User {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    reference: String(r.reference ?? ''),
    email: String(r.email ?? ''),
    phone: str(r.phone),
    firstName: str(r.first_name),
    lastName: str(r.last_name),
    locale: str(r.locale),
    timezone: str(r.timezone),
    avatarUrl: str(r.avatar_url),
    isOptedIn: Boolean(r.is_opted_in),
    active: Boolean(r.active),
    synced: Boolean(r.synced),
    customData: (r.custom_data ?? {}) as Record<string, unknown>,
    createdAt: r.created_at === undefined ? EPOCH : date(r.created_at),
    updatedAt: r.updated_at === undefined ? EPOCH : date(r.updated_at),
    version: Number(r.version ?? 0),
  };
}

const EPOCH = new Date(0);

export function toUserGroup(r: Row): UserGroup {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    name: String(r.name),
    reference: String(r.reference),
    description: String(r.description ?? ''),
    type: String(r.type),
    isUnmodifiable: Boolean(r.is_unmodifiable),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
    createdBy: str(r.created_by),
    updatedBy: str(r.updated_by),
    version: Number(r.version),
  };
}

export function toUserGroupType(r: Row): UserGroupType {
  return { id: String(r.id), name: String(r.name), createdAt: date(r.created_at), updatedAt: date(r.updated_at) };
}

export function toRole(r: Row): Role {
  return {
    id: String(r.id),
    tenantId: str(r.tenant_id),
    key: String(r.key),
    name: String(r.name),
    description: str(r.description),
    reference: str(r.reference),
    isSystemManaged: Boolean(r.is_system_managed),
    permissions: (r.permissions ?? []) as Role['permissions'],
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}
