import { Errors } from '../errors.ts';
import { inTransaction, run } from '../db/transaction.ts';
import type { NestedQuery, Page, RequestContext, Role, RoleListArgs, RoleSort } from '../domain/types.ts';
import * as repo from '../repositories/roles.ts';
import * as usersRepo from '../repositories/users.ts';
import type { RoleHolder, RoleQuery } from '../repositories/roles.ts';
import type { ServiceDeps } from './deps.ts';
import { paging } from './lists.ts';
import { actorTenant, requireSuperAdmin } from './policy.ts';
import type { TenantService } from './tenants.ts';
import type { UserService } from './users.ts';
import * as v from './validate.ts';

const ROLE_SORTS: readonly RoleSort[] = ['createdAt', 'description', 'id', 'isSystemManaged', 'key', 'name', 'updatedAt'];
const KEY_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]*$/;

export interface RoleInput {
  key?: string | null;
  name?: string | null;
  description?: string | null;
  reference?: string | null;
  tenantId?: string | null;
}

export class RoleService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly tenants: TenantService,
    private readonly users: UserService,
  ) {}

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
    requireSuperAdmin(ctx, 'create roles');
    const key = v.text('role.key', input.key ?? '', { min: 1, max: 100 });
    if (!KEY_RE.test(key)) throw Errors.invalid('role.key', 'may contain letters, digits and _ . : - only');
    const name = v.text('role.name', input.name ?? '', { min: 1, max: 255 });
    const description = input.description == null ? null : v.text('role.description', input.description, { max: 1000 });
    const reference = input.reference == null ? null : v.text('role.reference', input.reference, { min: 1, max: 255 });
    const tenantId = input.tenantId == null ? null : (await this.tenants.resolve(ctx, input.tenantId, 'role.tenantId')).id;
    return inTransaction(this.deps.db, (tx) =>
      repo.insertRole(tx, { id: this.deps.newId(), tenantId, key, name, description, reference, isSystemManaged: false }),
    );
  }

  /** Assigns or unassigns roles, named by key, directly to a user. Unknown keys reject the whole call. */
  async setUserRoles(ctx: RequestContext, userId: string, roleKeys: readonly string[], assign: boolean): Promise<boolean> {
    requireSuperAdmin(ctx, 'assign roles');
    v.list('roleKeys', roleKeys, 1000);
    const user = await this.users.get(ctx, userId, 'userId');
    const keys = v.unique(roleKeys.map((k) => v.text('roleKeys', k, { min: 1, max: 100 })));
    return inTransaction(this.deps.db, async (tx) => {
      const roles = await repo.findRolesByKeys(tx, user.tenantId, keys);
      // A tenant role shadows a platform role of the same key.
      const byKey = new Map<string, string>();
      for (const role of roles) if (!byKey.has(role.key) || role.tenantId) byKey.set(role.key, role.id);
      const missing = keys.find((k) => !byKey.has(k));
      if (missing !== undefined) throw Errors.notFound('Role', 'roleKeys', missing);
      const ids = [...byKey.values()];
      if (assign) await repo.assignRolesToUser(tx, user.tenantId, user.id, ids);
      else await repo.unassignRolesFromUser(tx, user.tenantId, user.id, ids);
      return true;
    });
  }

  /** Roles assigned directly to each of many users or groups, one statement per level. */
  rolesOf(ctx: RequestContext, holder: RoleHolder, args: RoleListArgs): NestedQuery<Role> {
    const q = this.query(ctx, args);
    const check = (ids: readonly string[]) => {
      if (ctx.actor.kind === 'user' && (holder !== 'user' || ids.some((id) => id !== (ctx.actor as { userId: string }).userId))) {
        throw Errors.forbidden("A user token may read only its own user's roles");
      }
    };
    return {
      list: (ids) => (check(ids), run(() => repo.listRolesOf(this.deps.db, holder, ids, q))),
      count: (ids) => (check(ids), run(() => repo.countRolesOf(this.deps.db, holder, ids, q))),
    };
  }

  async countUsers(ctx: RequestContext, roleIds: readonly string[]): Promise<Map<string, number>> {
    requireSuperAdmin(ctx, 'count role holders');
    return run(() => usersRepo.countUsersOfRoles(this.deps.db, roleIds));
  }
}
