import { Errors } from '../errors.ts';
import { run } from '../db/transaction.ts';
import type { EffectivePermission, NestedQuery, Page, PermissionGrant, RoleScope, RequestContext, Role, RoleListArgs, RoleSort, User } from '../domain/types.ts';
import * as repo from '../repositories/roles.ts';
import * as usersRepo from '../repositories/users.ts';
import type { RoleHolder, RoleQuery } from '../repositories/roles.ts';
import type { ServiceDeps } from './deps.ts';
import { paging } from './lists.ts';
import { Policy, actorTenant, refusal, requireSuperAdmin } from './policy.ts';
import { Delegation, requireGrantable } from './delegation.ts';
import type { TenantService } from './tenants.ts';
import type { UserService } from './users.ts';
import type { GroupService } from './groups.ts';
import { ACTIONS, PERMISSIONS, type AccessService } from './access.ts';
import * as v from './validate.ts';
import { writeAudited } from './audit.ts';

const ROLE_SORTS: readonly RoleSort[] = ['createdAt', 'description', 'id', 'isSystemManaged', 'key', 'name', 'updatedAt'];
const KEY_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]*$/;

export interface RoleInput {
  key?: string | null;
  name?: string | null;
  description?: string | null;
  reference?: string | null;
  tenantId?: string | null;
  permissions?: readonly PermissionGrant[] | null;
}

/** How a page of a group's roles is asked for (REST's searchText, sortParams and pagination). */
export interface GroupRoleListing {
  readonly searchText?: string | undefined;
  readonly sort?: 'name' | 'createdAt' | undefined;
  readonly order?: 'ASC' | 'DESC' | undefined;
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
}

export class RoleService {
  private readonly policy: Policy;
  private readonly delegation: Delegation;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly tenants: TenantService,
    private readonly users: UserService,
    private readonly groups: GroupService,
    private readonly access: AccessService,
  ) {
    this.policy = new Policy(deps, access);
    this.delegation = new Delegation(deps, access);
  }

  query(ctx: RequestContext, args: RoleListArgs): RoleQuery {
    const p = paging(this.deps.config, args, ROLE_SORTS, 'createdAt');
    const filter = { ...(args.filter ?? {}) };
    const raw = filter as Record<string, unknown>;
    for (const key of ['invite', 'permissionId']) {
      if (raw[key] != null) throw Errors.invalid(`filter.${key}`, 'is not supported by Roster yet');
    }
    v.idFilters(filter, ['id', 'userGroupId', 'userId', 'tenantId']);
    const own = actorTenant(ctx);
    return { filter, tenantIds: own ? [own] : undefined, ...p };
  }

  async list(ctx: RequestContext, args: RoleListArgs): Promise<Page<Role>> {
    requireSuperAdmin(ctx, 'list roles');
    const q = this.query(ctx, args);
    const data = await run(() => repo.listRoles(this.deps.db, q));
    return { data, count: () => run(() => repo.countRoles(this.deps.db, q)) };
  }

  async get(ctx: RequestContext, id: string): Promise<Role> {
    requireSuperAdmin(ctx, 'read roles');
    v.uuid('id', id);
    const role = await run(() => repo.findRoleById(this.deps.db, id));
    if (!role) throw Errors.notFound('Role', 'id', id);
    return role;
  }

  async create(ctx: RequestContext, input: RoleInput): Promise<Role> {
    const key = v.text('role.key', input.key ?? '', { min: 1, max: 100 });
    if (!KEY_RE.test(key)) throw Errors.invalid('role.key', 'may contain letters, digits and _ . : - only');
    const name = v.text('role.name', input.name ?? '', { min: 1, max: 255 });
    const description = input.description == null ? null : v.text('role.description', input.description, { max: 1000 });
    const reference = input.reference == null ? null : v.text('role.reference', input.reference, { min: 1, max: 255 });
    // A user token creates roles of its own company (with ACCESS_MANAGEMENT: WRITE); platform roles are the super-admin's.
    const tenantId = input.tenantId == null && ctx.actor.kind === 'superAdmin' ? null : (await this.tenants.resolve(ctx, input.tenantId, 'role.tenantId')).id;
    if (tenantId !== null) await this.policy.require(ctx, 'role.create', { tenantId });
    const permissions = validatePermissions(input.permissions ?? [], 'role.permissions');
    // No escalation: a role carries nothing its creator does not hold (delegation.ts).
    if (tenantId !== null) requireGrantable(await this.delegation.held(ctx, tenantId), [{ name, permissions }], `Creating role "${name}"`);
    return writeAudited(this.deps, ctx, async (tx, audit) => {
      const role = await repo.insertRole(tx, { id: this.deps.newId(), tenantId, key, name, description, reference, isSystemManaged: false, permissions });
      audit({ tenantId, operation: 'role.create', targetType: 'role', targetId: role.id, changes: { key, name, description, reference, permissions } });
      return role;
    });
  }

  /** Assigns or unassigns roles, named by key, directly to a user. Unknown keys reject the whole call. */
  async setUserRoles(ctx: RequestContext, userId: string, roleKeys: readonly string[], assign: boolean): Promise<boolean> {
    requireSuperAdmin(ctx, 'assign roles');
    v.list('roleKeys', roleKeys, 1000);
    const user = await this.users.get(ctx, userId, 'userId');
    const keys = v.unique(roleKeys.map((k) => v.text('roleKeys', k, { min: 1, max: 100 })));
    const held = assign ? await this.delegation.held(ctx, user.tenantId) : 'everything';
    return writeAudited(this.deps, ctx, async (tx, audit) => {
      const roles = await repo.findRolesByKeys(tx, user.tenantId, keys);
      // A tenant role shadows a platform role of the same key.
      const byKey = new Map<string, Role>();
      for (const role of roles) if (!byKey.has(role.key) || role.tenantId) byKey.set(role.key, role);
      const missing = keys.find((k) => !byKey.has(k));
      if (missing !== undefined) throw Errors.notFound('Role', 'roleKeys', missing);
      // No escalation: whoever assigns a role holds all it carries (delegation.ts).
      for (const role of byKey.values()) requireGrantable(held, [role], `Granting role "${role.name}"`);
      const ids = [...byKey.values()].map((r) => r.id);
      if (assign) await repo.assignRolesToUser(tx, user.tenantId, user.id, ids);
      else await repo.unassignRolesFromUser(tx, user.tenantId, user.id, ids);
      audit({ tenantId: user.tenantId, operation: assign ? 'user.roles.assign' : 'user.roles.unassign', targetType: 'user', targetId: user.id, changes: { roleIds: ids } });
      return true;
    });
  }

  /** The roles assigned to a group, each with its scope: `group.roles.read`, as nested `userGroup { roles }`. */
  async groupRoles(ctx: RequestContext, groupId: string): Promise<repo.GroupRoleRow[]> {
    const group = await this.groups.get(ctx, groupId, 'groupId', 'group.roles.read');
    return run(() => repo.listGroupRoles(this.deps.db, group.tenantId, group.id));
  }

  /**
   * A page of a group's roles, like every other listing: a case-insensitive substring of the name, an order (by
   * name unless `createdAt`, ascending by default) and limit/offset, with the number of matches. A group holds few
   * roles (at most the company's), so they are read whole and paged here.
   */
  async groupRolesPage(ctx: RequestContext, groupId: string, listing: GroupRoleListing): Promise<{ rows: repo.GroupRoleRow[]; total: number }> {
    const p = paging(this.deps.config, { limit: listing.limit, offset: listing.offset, order: { sort: listing.sort ?? 'name', order: listing.order ?? 'ASC' } }, ['name', 'createdAt'], 'name');
    const needle = listing.searchText == null ? undefined : v.text('searchText', listing.searchText, { max: this.deps.config.limits.stringLength }).toLowerCase();
    const rows = (await this.groupRoles(ctx, groupId)).filter((r) => needle === undefined || r.role.name.toLowerCase().includes(needle));
    const key = (r: repo.GroupRoleRow) => (p.sort === 'createdAt' ? r.role.createdAt.toISOString() : r.role.name.toLowerCase());
    const direction = p.order === 'ASC' ? 1 : -1;
    rows.sort((a, b) => (key(a) < key(b) ? -direction : key(a) > key(b) ? direction : a.role.id < b.role.id ? -direction : direction));
    return { rows: rows.slice(p.offset, p.offset + p.limit), total: rows.length };
  }

  /**
   * Adds (or re-scopes) and removes a group's roles in one transaction. Platform groups refuse; roles must be
   * platform roles or the group's company's own; the caller needs ACCESS_MANAGEMENT: WRITE, and to hold every
   * permission of every role it adds (delegation.ts).
   */
  async changeGroupRoles(
    ctx: RequestContext,
    groupId: string,
    change: { add: readonly { roleId: string; scope?: RoleScope | null }[]; remove: readonly string[] },
  ): Promise<repo.GroupRoleRow[]> {
    const group = await this.groups.get(ctx, groupId, 'groupId', 'group.roles.change');
    if (group.isUnmodifiable) throw Errors.unmodifiable('roles');
    const add = change.add.map((a, i) => ({ roleId: v.uuid(`rolesToAdd.${i}.roleId`, a.roleId), scope: validateScope(a.scope, `rolesToAdd.${i}.scope`) }));
    const remove = change.remove.map((id, i) => v.uuid(`rolesToDelete.${i}.roleId`, id));
    v.list('rolesToAdd', add, 1000);
    v.list('rolesToDelete', remove, 1000);
    const removeSet = new Set(remove);
    const both = add.find((a) => removeSet.has(a.roleId));
    if (both) throw Errors.invalid('rolesToDelete', `role ${both.roleId} is in both rolesToAdd and rolesToDelete`);
    const held = add.length > 0 ? await this.delegation.held(ctx, group.tenantId) : 'everything';
    return writeAudited(this.deps, ctx, async (tx, audit) => {
      const found = new Map((await repo.findRolesVisibleToTenant(tx, group.tenantId, add.map((a) => a.roleId))).map((r) => [r.id, r]));
      const unknown = add.find((a) => !found.has(a.roleId));
      if (unknown) throw Errors.invalid('rolesToAdd', `role ${unknown.roleId} does not exist for this company`, { value: unknown.roleId });
      // No escalation: a group's members get its roles, so whoever adds a role holds all it carries.
      for (const a of add) {
        const role = found.get(a.roleId)!;
        requireGrantable(held, [role], `Granting role "${role.name}"`);
      }
      await repo.addGroupRoles(tx, group.tenantId, group.id, add);
      await repo.removeGroupRoles(tx, group.tenantId, group.id, remove);
      audit({ tenantId: group.tenantId, operation: 'userGroup.roles.change', targetType: 'userGroup', targetId: group.id, changes: { rolesAdded: add, rolesRemoved: remove } });
      return repo.listGroupRoles(tx, group.tenantId, group.id);
    });
  }

  /** A user's effective permissions with their sources. A user may read its own; others need ACCESS_MANAGEMENT: READ. */
  async effectivePermissions(ctx: RequestContext, userId: string): Promise<EffectivePermission[]> {
    v.uuid('userId', userId);
    const self = ctx.actor.kind === 'user' && ctx.actor.userId === userId.toLowerCase();
    const user = self ? await this.users.get(ctx, userId, 'userId') : await this.users.get({ ...ctx, actor: { kind: 'superAdmin' } }, userId, 'userId').catch(() => undefined);
    // Another tenant's user is simply not found.
    if (!user || (ctx.actor.kind === 'user' && ctx.actor.tenantId !== user.tenantId)) throw Errors.notFound('User', 'userId', userId);
    await this.policy.require(ctx, 'user.permissions.read', { tenantId: user.tenantId, userIds: [user.id] });
    return this.access.effective(user.tenantId, user.id);
  }

  /**
   * Effective permissions of users a parent field already returned (so already visible to the caller), in one
   * statement: what `effectivePermissions` answers per user, with the same rule. A user the caller may not read
   * the permissions of gets its FORBIDDEN error in place of a list.
   */
  async effectivePermissionsOfUsers(ctx: RequestContext, users: readonly User[]): Promise<(EffectivePermission[] | Error)[]> {
    const allowedTenants = new Map<string, boolean>();
    for (const u of users) {
      if (!allowedTenants.has(u.tenantId)) {
        const others = users.filter((o) => o.tenantId === u.tenantId).map((o) => o.id);
        allowedTenants.set(u.tenantId, await this.policy.permits(ctx, 'user.permissions.read', { tenantId: u.tenantId, userIds: others }));
      }
    }
    const self = (u: User) => ctx.actor.kind === 'user' && ctx.actor.userId === u.id;
    const readable = users.filter((u) => self(u) || allowedTenants.get(u.tenantId) === true);
    const found = await this.access.effectiveOfUsers(readable);
    return users.map((u) => found.get(u.id) ?? refusal('user.permissions.read'));
  }

  /** The roles a company can assign: the platform roles and its own (REST `POST /v3/companies/{id}/roles`). */
  async listForCompany(
    ctx: RequestContext,
    tenantId: string,
    q: { searchText?: string | undefined; roleIds?: string[] | undefined; providedBy?: ('PLATFORM' | 'COMPANY')[] | undefined; sort: 'name' | 'createdAt'; order: 'ASC' | 'DESC'; limit: number; offset: number },
  ): Promise<Page<Role>> {
    await this.policy.require(ctx, 'company.roles.list', { tenantId });
    const providers = new Set(q.providedBy ?? []);
    const filter: RoleListArgs['filter'] = {
      ...(q.roleIds && q.roleIds.length > 0 ? { id: { valueIn: q.roleIds } } : {}),
      ...(providers.size === 1 ? { tenantId: { equalTo: providers.has('PLATFORM') ? null : tenantId } } : {}),
    };
    const query: RoleQuery = {
      filter: filter ?? {},
      tenantIds: [tenantId],
      search: q.searchText ? { key: 'name', value: q.searchText } : undefined,
      sort: q.sort,
      order: q.order,
      limit: q.limit,
      offset: q.offset,
    };
    const data = await run(() => repo.listRoles(this.deps.db, query));
    return { data, count: () => run(() => repo.countRoles(this.deps.db, query)) };
  }

  /** The permission catalog. */
  permissionCatalog(): readonly { name: string; description: string }[] {
    return PERMISSIONS;
  }

  /** Roles assigned directly to each of many users or groups, one statement per level. */
  rolesOf(ctx: RequestContext, holder: RoleHolder, args: RoleListArgs): NestedQuery<Role> {
    const q = this.query(ctx, args);
    // The rules of the REST equivalents (the holders a token can see at all are of its own company): a user's
    // roles are its own or need ACCESS_MANAGEMENT: READ; a group's, those of `POST .../user-groups/{id}/roles`.
    const check = (ids: readonly string[]) =>
      holder === 'user' ? this.policy.require(ctx, 'user.roles.read', { userIds: ids }) : this.policy.require(ctx, 'group.roles.read', { groupIds: ids });
    return {
      list: async (ids) => (await check(ids), run(() => repo.listRolesOf(this.deps.db, holder, ids, q))),
      count: async (ids) => (await check(ids), run(() => repo.countRolesOf(this.deps.db, holder, ids, q))),
    };
  }

  /** Holders of each role; a user token with ACCESS_MANAGEMENT: READ counts those of its own company. */
  async countUsers(ctx: RequestContext, roleIds: readonly string[]): Promise<Map<string, number>> {
    await this.policy.require(ctx, 'role.holders.count');
    return run(() => usersRepo.countUsersOfRoles(this.deps.db, roleIds, actorTenant(ctx)));
  }
}

const PERMISSION_NAMES = new Set<string>(PERMISSIONS.map((p) => p.name));
const ACTION_NAMES = new Set<string>(ACTIONS);

function validatePermissions(grants: readonly PermissionGrant[], field: string): PermissionGrant[] {
  v.list(field, grants, 100);
  return grants.map((g, i) => {
    if (!PERMISSION_NAMES.has(g.permission)) throw Errors.invalid(`${field}.${i}.permission`, `must be one of ${[...PERMISSION_NAMES].join(', ')}`);
    v.list(`${field}.${i}.actions`, g.actions, ACTION_NAMES.size);
    for (const a of g.actions) if (!ACTION_NAMES.has(a)) throw Errors.invalid(`${field}.${i}.actions`, `must be among ${[...ACTION_NAMES].join(', ')}`);
    return { permission: g.permission, actions: [...new Set(g.actions)] };
  });
}

/** A scope is `{ audiences: [{ predicates: [...] }] }`; none or an empty list means the whole company. */
function validateScope(scope: RoleScope | null | undefined, field: string): RoleScope {
  if (scope == null) return { audiences: [] };
  if (!Array.isArray(scope.audiences)) throw Errors.invalid(`${field}.audiences`, 'must be a list');
  v.list(`${field}.audiences`, scope.audiences, 100);
  if (JSON.stringify(scope).length > 16 * 1024) throw Errors.invalid(field, 'must be at most 16 KiB as JSON');
  return { audiences: scope.audiences.map((a) => ({ predicates: Array.isArray(a?.predicates) ? a.predicates : [] })) };
}
