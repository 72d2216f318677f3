import { Errors } from '../errors.ts';
import { inTransaction, run, type Tx } from '../db/transaction.ts';
import * as groupsRepo from '../repositories/groups.ts';
import * as rolesRepo from '../repositories/roles.ts';
import type { Page, RequestContext, Tenant, TenantListArgs } from '../domain/types.ts';
import * as repo from '../repositories/tenants.ts';
import * as usersRepo from '../repositories/users.ts';
import type { ServiceDeps } from './deps.ts';
import { paging } from './lists.ts';
import { actorTenant, requireSuperAdmin, requireSuperAdminAction } from './policy.ts';
import * as v from './validate.ts';
import { diff, writeAudited } from './audit.ts';

const PLATFORM_GROUP_TYPE_ID = '00000000-0000-7000-8000-0000000000a1';
/**
 * The reference of every company's "Company Admins" platform group. A **company admin** is a member of this group
 * of its company (the group is isUnmodifiable: it cannot be renamed, re-referenced, deleted, nor lose its
 * company-admin role). Holding the company-admin role some other way does not make one a company admin.
 */
export const COMPANY_ADMINS_REFERENCE = 'platform:company-admins';
const PLATFORM_GROUPS = [
  {
    reference: COMPANY_ADMINS_REFERENCE,
    name: 'Company Admins',
    description: "Administrators of the company: every permission over its users, groups and roles.",
    roleIds: ['00000000-0000-7000-8000-000000000001'],
  },
];

export interface TenantInput {
  name?: string | null;
  reference?: string | null;
}

export class TenantService {
  #defaultTenant: Tenant | undefined;

  constructor(private readonly deps: ServiceDeps) {}

  /** The tenant that users and groups created without `tenantId` belong to; created at first start. */
  async defaultTenant(): Promise<Tenant> {
    this.#defaultTenant ??= await inTransaction(this.deps.db, async (tx) => {
      const tenant = await repo.ensureDefaultTenant(tx, this.deps.newId());
      await this.createPlatformGroups(tx, tenant.id);
      return tenant;
    });
    return this.#defaultTenant;
  }

  /**
   * Every company starts with its platform groups: "Company Admins", holding the company-admin role. Their name,
   * description and roles cannot change (isUnmodifiable); their members can. Idempotent.
   */
  private async createPlatformGroups(tx: Tx, tenantId: string): Promise<void> {
    for (const platform of PLATFORM_GROUPS) {
      const existing = await groupsRepo.findUserGroupByReference(tx, tenantId, platform.reference);
      if (existing) continue;
      await groupsRepo.ensureUserGroupType(tx, PLATFORM_GROUP_TYPE_ID, 'platform');
      const group = await groupsRepo.insertUserGroup(tx, {
        id: this.deps.newId(),
        tenantId,
        name: platform.name,
        reference: platform.reference,
        description: platform.description,
        type: 'platform',
        isUnmodifiable: true,
        actorId: null,
      });
      await rolesRepo.addGroupRoles(tx, tenantId, group.id, platform.roleIds.map((roleId) => ({ roleId, scope: { audiences: [] } })));
    }
  }

  async get(ctx: RequestContext, id: string): Promise<Tenant> {
    v.uuid('id', id);
    const own = actorTenant(ctx);
    const tenant = own === undefined || own === id ? await run(() => repo.findTenantById(this.deps.db, id)) : undefined;
    if (!tenant) throw Errors.notFound('Tenant', 'id', id);
    return tenant;
  }

  /** Resolves the tenant a write or lookup applies to: the given one, the caller's own, or the default. */
  async resolve(ctx: RequestContext, tenantId: string | null | undefined, field: string): Promise<Tenant> {
    const own = actorTenant(ctx);
    if (tenantId == null) return own ? this.get(ctx, own) : this.defaultTenant();
    const id = v.uuid(field, tenantId);
    const tenant = own === undefined || own === id ? await run(() => repo.findTenantById(this.deps.db, id)) : undefined;
    if (!tenant) throw Errors.notFound('Tenant', field, tenantId);
    return tenant;
  }

  /**
   * The companies the caller may see: every one for the super-admin, its own for a user token (as `get` reads).
   * `search` looks for a case-insensitive substring of the name.
   */
  async list(ctx: RequestContext, args: TenantListArgs): Promise<Page<Tenant>> {
    const p = paging(this.deps.config, args, ['createdAt', 'name', 'updatedAt'], 'createdAt');
    const filter = { ...(args.filter ?? {}) };
    v.idFilters(filter, ['id']);
    const own = actorTenant(ctx);
    if (own !== undefined) filter.id = { ...filter.id, valueIn: filter.id?.valueIn ? filter.id.valueIn.filter((id) => id.toLowerCase() === own) : [own] };
    if (args.search && args.search.key !== 'name') throw Errors.invalid('search.key', 'must be name');
    const q = { filter, nameContains: args.search?.value, ...p };
    const data = await run(() => repo.listTenants(this.deps.db, q));
    return { data, count: () => run(() => repo.countTenants(this.deps.db, q)) };
  }

  async byIds(ids: readonly string[]): Promise<Tenant[]> {
    return run(() => repo.findTenantsByIds(this.deps.db, ids));
  }

  /**
   * Counting a company's users (`tenant { users { totalCount } }`) is listing them (top-level `users`): the
   * super-admin's. Checked by whoever reads `countUsers`.
   */
  requireUserCount(ctx: RequestContext): void {
    requireSuperAdminAction(ctx, 'users.list');
  }

  /** Active users per tenant, unchecked: the caller has called `requireUserCount`. */
  async countUsers(tenantIds: readonly string[]): Promise<Map<string, number>> {
    return run(() => usersRepo.countUsersOfTenants(this.deps.db, tenantIds, true));
  }

  async create(ctx: RequestContext, input: TenantInput): Promise<Tenant> {
    requireSuperAdmin(ctx, 'create tenants');
    const name = v.text('tenant.name', input.name ?? '', { min: 1, max: 255 });
    const reference = input.reference == null ? null : v.text('tenant.reference', input.reference, { min: 1, max: 255 });
    return writeAudited(this.deps, ctx, async (tx, audit) => {
      const tenant = await repo.insertTenant(tx, { id: this.deps.newId(), name, reference, isDefault: false });
      await this.createPlatformGroups(tx, tenant.id);
      audit({ tenantId: tenant.id, operation: 'tenant.create', targetType: 'tenant', targetId: tenant.id, changes: { name, reference } });
      return tenant;
    });
  }

  /** With `expectedVersion`, the update applies only if the tenant is still at that version (else CONFLICT). */
  async update(ctx: RequestContext, id: string, input: TenantInput, expectedVersion?: number | null): Promise<Tenant> {
    requireSuperAdmin(ctx, 'update tenants');
    const expected = expectedVersion == null ? undefined : v.version('expectedVersion', expectedVersion);
    const current = await this.get(ctx, id);
    const patch: { name?: string; reference?: string | null } = {};
    if (input.name != null) patch.name = v.text('tenant.name', input.name, { min: 1, max: 255 });
    if (input.reference !== undefined) {
      patch.reference = input.reference === null ? null : v.text('tenant.reference', input.reference, { min: 1, max: 255 });
    }
    const updated = await writeAudited(this.deps, ctx, async (tx, audit) => {
      const row = await repo.updateTenant(tx, current.id, patch, expected);
      if (!row) {
        const now = await repo.findTenantById(tx, current.id);
        if (now && expected !== undefined) throw Errors.staleVersion('Tenant', 'expectedVersion', expected, now.version);
        throw Errors.notFound('Tenant', 'id', id);
      }
      audit({ tenantId: row.id, operation: 'tenant.update', targetType: 'tenant', targetId: row.id, changes: diff(current, row, ['name', 'reference']) });
      return row;
    });
    if (updated.isDefault) this.#defaultTenant = updated;
    return updated;
  }
}
