import { Errors } from '../errors.ts';
import { inTransaction, run } from '../db/transaction.ts';
import type { Page, RequestContext, Tenant, TenantListArgs } from '../domain/types.ts';
import * as repo from '../repositories/tenants.ts';
import * as usersRepo from '../repositories/users.ts';
import type { ServiceDeps } from './deps.ts';
import { paging } from './lists.ts';
import { actorTenant, requireSuperAdmin } from './policy.ts';
import * as v from './validate.ts';

export interface TenantInput {
  name?: string | null;
  reference?: string | null;
}

export class TenantService {
  #defaultTenant: Tenant | undefined;

  constructor(private readonly deps: ServiceDeps) {}

  /** The tenant that users and groups created without `tenantId` belong to; created at first start. */
  async defaultTenant(): Promise<Tenant> {
    this.#defaultTenant ??= await run(() => repo.ensureDefaultTenant(this.deps.db, this.deps.newId()));
    return this.#defaultTenant;
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

  async list(ctx: RequestContext, args: TenantListArgs): Promise<Page<Tenant>> {
    requireSuperAdmin(ctx, 'list tenants');
    const q = { filter: args.filter ?? {}, ...paging(this.deps.config, args, ['createdAt', 'name', 'updatedAt'], 'createdAt') };
    const data = await run(() => repo.listTenants(this.deps.db, q));
    return { data, count: () => run(() => repo.countTenants(this.deps.db, q.filter)) };
  }

  async byIds(ids: readonly string[]): Promise<Tenant[]> {
    return run(() => repo.findTenantsByIds(this.deps.db, ids));
  }

  async countUsers(tenantIds: readonly string[]): Promise<Map<string, number>> {
    return run(() => usersRepo.countUsersOfTenants(this.deps.db, tenantIds, true));
  }

  async create(ctx: RequestContext, input: TenantInput): Promise<Tenant> {
    requireSuperAdmin(ctx, 'create tenants');
    const name = v.text('tenant.name', input.name ?? '', { min: 1, max: 255 });
    const reference = input.reference == null ? null : v.text('tenant.reference', input.reference, { min: 1, max: 255 });
    return inTransaction(this.deps.db, (tx) => repo.insertTenant(tx, { id: this.deps.newId(), name, reference, isDefault: false }));
  }

  async update(ctx: RequestContext, id: string, input: TenantInput): Promise<Tenant> {
    requireSuperAdmin(ctx, 'update tenants');
    v.uuid('id', id);
    const patch: { name?: string; reference?: string | null } = {};
    if (input.name != null) patch.name = v.text('tenant.name', input.name, { min: 1, max: 255 });
    if (input.reference !== undefined) {
      patch.reference = input.reference === null ? null : v.text('tenant.reference', input.reference, { min: 1, max: 255 });
    }
    const updated = await inTransaction(this.deps.db, (tx) => repo.updateTenant(tx, id, patch));
    if (!updated) throw Errors.notFound('Tenant', 'id', id);
    if (updated.isDefault) this.#defaultTenant = updated;
    return updated;
  }
}
