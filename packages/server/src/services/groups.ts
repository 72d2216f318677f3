import { v5 as uuidv5 } from 'uuid';
import { Errors } from '../errors.ts';
import { run } from '../db/transaction.ts';
import type { NestedQuery, Page, RequestContext, User, UserGroup, UserGroupListArgs, UserGroupSort, UserGroupType, UserListArgs } from '../domain/types.ts';
import * as repo from '../repositories/groups.ts';
import * as memberships from '../repositories/memberships.ts';
import * as usersRepo from '../repositories/users.ts';
import type { UserGroupQuery, UserGroupSearchKey } from '../repositories/groups.ts';
import type { GroupRelation } from '../repositories/users.ts';
import type { ServiceDeps } from './deps.ts';
import { paging } from './lists.ts';
import { Policy, actorTenant, visibleToActor, type PolicyAction } from './policy.ts';
import type { TenantService } from './tenants.ts';
import type { UserService } from './users.ts';
import type { AccessService } from './access.ts';
import * as v from './validate.ts';
import { diff, writeAudited } from './audit.ts';

export interface UserGroupInput {
  name?: string | null;
  reference?: string | null;
  description?: string | null;
  type?: string | null;
  tenantId?: string | null;
}

const AUDITED_FIELDS = ['name', 'reference', 'description', 'type'] as const satisfies readonly (keyof UserGroup)[];
const GROUP_SORTS: readonly UserGroupSort[] = ['createdAt', 'name', 'reference', 'type', 'updatedAt'];
const SEARCH_KEYS: readonly UserGroupSearchKey[] = ['name', 'reference', 'type'];
export const DEFAULT_GROUP_TYPE = 'default';
/** Group type ids are UUIDv5 of the type name in this namespace, so every node and database agrees on them. */
export const GROUP_TYPE_NAMESPACE = '6f1b7c5e-2d43-4f7a-9f57-3f0c1c7d2a10';

/** Selects a group by id or by reference (within a tenant); both given must name the same group. */
export interface GroupSelector {
  id?: string | null;
  ref?: string | null;
  tenantId?: string | null;
  /** How the caller named the id argument, for error messages (ROQ: `userGroupId`). */
  idField?: string;
}

export class GroupService {
  private readonly policy: Policy;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly tenants: TenantService,
    private readonly users: UserService,
    access: AccessService,
  ) {
    this.policy = new Policy(deps, access);
  }

  private validate(input: UserGroupInput, prefix: string): repo.UserGroupWrite {
    const { stringLength } = this.deps.config.limits;
    const out: repo.UserGroupWrite = {};
    if (input.name != null) out.name = v.text(`${prefix}.name`, input.name, { min: 1, max: stringLength });
    if (input.reference != null) out.reference = v.text(`${prefix}.reference`, input.reference, { min: 1, max: stringLength });
    if (input.description != null) out.description = v.text(`${prefix}.description`, input.description, { max: 1000 });
    if (input.type != null) out.type = v.text(`${prefix}.type`, input.type, { min: 1, max: stringLength });
    return out;
  }

  async create(ctx: RequestContext, input: UserGroupInput, options: { isUnmodifiable?: boolean } = {}): Promise<UserGroup> {
    if (input.name == null) throw Errors.invalid('userGroup.name', 'is required');
    if (input.reference == null) throw Errors.invalid('userGroup.reference', 'is required');
    const write = this.validate(input, 'userGroup');
    const tenant = await this.tenants.resolve(ctx, input.tenantId, 'userGroup.tenantId');
    await this.policy.require(ctx, 'group.create', { tenantId: tenant.id });
    const type = write.type ?? DEFAULT_GROUP_TYPE;
    return writeAudited(this.deps, ctx, async (tx, audit) => {
      await repo.ensureUserGroupType(tx, uuidv5(type, GROUP_TYPE_NAMESPACE), type);
      const group = await repo.insertUserGroup(tx, {
        id: this.deps.newId(),
        tenantId: tenant.id,
        name: write.name!,
        reference: write.reference!,
        description: write.description ?? '',
        type,
        isUnmodifiable: options.isUnmodifiable ?? false,
        actorId: actorId(ctx),
      });
      audit({ tenantId: group.tenantId, operation: 'userGroup.create', targetType: 'userGroup', targetId: group.id, changes: Object.fromEntries(AUDITED_FIELDS.map((f) => [f, group[f]])) });
      return group;
    });
  }

  /** With `expectedVersion`, the update applies only if the group is still at that version (else CONFLICT). */
  async update(ctx: RequestContext, id: string, input: UserGroupInput, expectedVersion?: number | null, versionField = 'expectedVersion'): Promise<UserGroup> {
    const expected = expectedVersion == null ? undefined : v.version(versionField, expectedVersion);
    const current = await this.get(ctx, id);
    await this.policy.require(ctx, 'group.update', { tenantId: current.tenantId });
    const write = this.validate(input, 'userGroup');
    const fixed = (['name', 'reference', 'description', 'type'] as const).filter((f) => write[f] !== undefined);
    if (current.isUnmodifiable && fixed.length > 0) throw Errors.unmodifiable(fixed.join(', '), fixed[0]);
    return writeAudited(this.deps, ctx, async (tx, audit) => {
      if (write.type) await repo.ensureUserGroupType(tx, uuidv5(write.type, GROUP_TYPE_NAMESPACE), write.type);
      const updated = await repo.updateUserGroup(tx, current.tenantId, current.id, write, actorId(ctx), expected);
      if (!updated) {
        const now = await repo.findUserGroupById(tx, current.id);
        if (now && expected !== undefined) throw Errors.staleVersion('UserGroup', versionField, expected, now.version);
        throw Errors.notFound('UserGroup', 'id', id);
      }
      audit({ tenantId: updated.tenantId, operation: 'userGroup.update', targetType: 'userGroup', targetId: updated.id, changes: diff(current, updated, AUDITED_FIELDS) });
      return updated;
    });
  }

  async delete(ctx: RequestContext, id: string, expectedVersion?: number | null, versionField = 'expectedVersion'): Promise<boolean> {
    const expected = expectedVersion == null ? undefined : v.version(versionField, expectedVersion);
    const group = await this.get(ctx, id);
    await this.policy.require(ctx, 'group.delete', { tenantId: group.tenantId });
    if (group.isUnmodifiable) throw Errors.unmodifiable('existence');
    return writeAudited(this.deps, ctx, async (tx, audit) => {
      const deleted = await repo.deleteUserGroup(tx, group.tenantId, group.id, expected);
      if (!deleted && expected !== undefined) {
        const now = await repo.findUserGroupById(tx, group.id);
        if (now) throw Errors.staleVersion('UserGroup', versionField, expected, now.version);
      }
      if (deleted) audit({ tenantId: group.tenantId, operation: 'userGroup.delete', targetType: 'userGroup', targetId: group.id, changes: { name: group.name, reference: group.reference } });
      return deleted;
    });
  }

  /**
   * A group the caller may see at all (its company's; another company's is NOT_FOUND), checked for `action` on
   * it. `group.read`: a user token reads the groups it participates in or manages, or any with
   * ACCESS_MANAGEMENT: READ.
   */
  async get(ctx: RequestContext, id: string, field = 'id', action: PolicyAction = 'group.read'): Promise<UserGroup> {
    v.uuid(field, id);
    const group = await run(() => repo.findUserGroupById(this.deps.db, id));
    if (!group || !visibleToActor(ctx, group.tenantId)) throw Errors.notFound('UserGroup', field, id);
    await this.policy.require(ctx, action, { tenantId: group.tenantId, groupIds: [group.id] });
    return group;
  }

  /** Resolves a group named by id and/or reference, for membership calls. */
  async select(ctx: RequestContext, sel: GroupSelector): Promise<UserGroup> {
    if (sel.id == null && sel.ref == null) throw Errors.invalid('groupId', 'groupId or groupRef is required');
    let byId: UserGroup | undefined;
    if (sel.id != null) {
      const idField = sel.idField ?? 'groupId';
      v.uuid(idField, sel.id);
      byId = await run(() => repo.findUserGroupById(this.deps.db, sel.id!));
      if (!byId || !visibleToActor(ctx, byId.tenantId)) throw Errors.notFound('UserGroup', idField, sel.id);
      if (sel.tenantId != null && v.uuid('tenantId', sel.tenantId) !== byId.tenantId) throw Errors.notFound('UserGroup', idField, sel.id);
    }
    if (sel.ref == null) return byId!;
    const tenant = byId && sel.tenantId == null ? { id: byId.tenantId } : await this.tenants.resolve(ctx, sel.tenantId, 'tenantId');
    const byRef = await run(() => repo.findUserGroupByReference(this.deps.db, tenant.id, sel.ref!));
    if (!byRef) throw Errors.notFound('UserGroup', 'groupRef', sel.ref);
    if (byId && byId.id !== byRef.id) throw Errors.invalid('groupRef', 'groupId and groupRef name different groups');
    return byRef;
  }

  async list(ctx: RequestContext, args: UserGroupListArgs): Promise<Page<UserGroup>> {
    let q = this.query(ctx, args);
    // With ACCESS_MANAGEMENT: READ (the rule of a company's list) a user token sees every group of its company,
    // not just those it participates in or manages (the rule of reading one group).
    if (ctx.actor.kind === 'user' && (await this.policy.permits(ctx, 'company.groups.list'))) q = { ...q, visibleTo: undefined };
    const data = await run(() => repo.listUserGroups(this.deps.db, q));
    return { data, count: () => run(() => repo.countUserGroups(this.deps.db, q)) };
  }

  /** A company's groups (REST): needs ACCESS_MANAGEMENT: READ in that company; another company is not found. */
  async listForCompany(ctx: RequestContext, companyId: string, args: UserGroupListArgs): Promise<Page<UserGroup>> {
    const company = await this.tenants.get(ctx, companyId);
    await this.policy.require(ctx, 'company.groups.list', { tenantId: company.id });
    const q = { ...this.query(ctx, args), visibleTo: undefined };
    q.filter.tenantId = { equalTo: company.id };
    const data = await run(() => repo.listUserGroups(this.deps.db, q));
    return { data, count: () => run(() => repo.countUserGroups(this.deps.db, q)) };
  }

  /** The groups a user is a member of (REST): one's own, or anyone's of the company with ACCESS_MANAGEMENT: READ. */
  async listForUser(ctx: RequestContext, userId: string, args: UserGroupListArgs): Promise<Page<UserGroup>> {
    v.uuid('userId', userId);
    const user = await run(() => usersRepo.findUserById(this.deps.db, userId));
    if (!user || !visibleToActor(ctx, user.tenantId)) throw Errors.notFound('User', 'userId', userId);
    await this.policy.require(ctx, 'user.groups.read', { tenantId: user.tenantId, userIds: [user.id] });
    const q = { ...this.query(ctx, args), visibleTo: undefined };
    q.filter.tenantId = { equalTo: user.tenantId };
    q.filter.userId = { equalTo: user.id };
    const data = await run(() => repo.listUserGroups(this.deps.db, q));
    return { data, count: () => run(() => repo.countUserGroups(this.deps.db, q)) };
  }

  query(ctx: RequestContext, args: UserGroupListArgs): UserGroupQuery {
    const p = paging(this.deps.config, args, GROUP_SORTS, 'createdAt');
    const filter = { ...(args.filter ?? {}) };
    v.idFilters(filter, ['id', 'tenantId', 'roleId', 'userId']);
    let search: UserGroupQuery['search'];
    if (args.search) {
      if (!SEARCH_KEYS.includes(args.search.key as UserGroupSearchKey)) throw Errors.invalid('search.key', `must be one of ${SEARCH_KEYS.join(', ')}`);
      search = { key: args.search.key as UserGroupSearchKey, value: v.text('search.value', args.search.value, { max: 255 }) };
    }
    const own = actorTenant(ctx);
    if (own) filter.tenantId = { ...(filter.tenantId ?? {}), valueIn: intersect(filter.tenantId?.valueIn, own) };
    return { filter, search, visibleTo: ctx.actor.kind === 'user' ? ctx.actor.userId : undefined, ...p };
  }

  /**
   * The groups of many users at once (one statement per level), for nested `userGroups` fields: the rule of
   * `listForUser` (one's own, or anyone's of the company with ACCESS_MANAGEMENT: READ), and then all of them.
   */
  groupsOfUsers(ctx: RequestContext, args: UserGroupListArgs): NestedQuery<UserGroup> {
    const q = { ...this.query(ctx, args), visibleTo: undefined };
    const check = (userIds: readonly string[]) => this.policy.require(ctx, 'user.groups.read', { userIds });
    return {
      list: async (ids) => (await check(ids), run(() => repo.listGroupsOfUsers(this.deps.db, ids, q))),
      count: async (ids) => (await check(ids), run(() => repo.countGroupsOfUsers(this.deps.db, ids, q))),
    };
  }

  /** The groups holding each of many roles; a user token with ACCESS_MANAGEMENT: READ sees its company's. */
  groupsOfRoles(ctx: RequestContext, args: UserGroupListArgs): NestedQuery<UserGroup> {
    const q = { ...this.query(ctx, args), visibleTo: undefined };
    const check = () => this.policy.require(ctx, 'role.groups.read');
    return {
      list: async (ids) => (await check(), run(() => repo.listGroupsOfRoles(this.deps.db, ids, q))),
      count: async (ids) => (await check(), run(() => repo.countGroupsOfRoles(this.deps.db, ids, q))),
    };
  }

  /**
   * The participants (or managers) of many groups at once (one statement per level): `group.people.read` on every
   * one of them (the groups a token can reach at all are of its own company).
   */
  usersOfGroups(ctx: RequestContext, relation: GroupRelation, args: UserListArgs, fields?: readonly (keyof User)[]): NestedQuery<User> {
    const q = { ...this.users.query(args), fields };
    const check = (groupIds: readonly string[]) => this.policy.require(ctx, 'group.people.read', { groupIds });
    return {
      list: async (ids) => (await check(ids), run(() => usersRepo.listUsersOfGroups(this.deps.db, relation, ids, q))),
      count: async (ids) => (await check(ids), run(() => usersRepo.countUsersOfGroups(this.deps.db, relation, ids, q))),
    };
  }

  /** Offset page of a group's participants with when each was added (REST `POST .../members`): `group.people.read`. */
  async listMemberships(
    ctx: RequestContext,
    groupId: string,
    q: memberships.MembershipListQuery,
  ): Promise<{ data: { userId: string; addedAt: Date }[]; count: () => Promise<number> }> {
    const group = await this.get(ctx, groupId, 'groupId', 'group.people.read');
    if (q.limit > this.deps.config.limits.listMax) throw Errors.invalid('pagination.limit', `must be at most ${this.deps.config.limits.listMax}`);
    for (const f of q.filters) if (f.userIds) v.list('filters.userIds', f.userIds, this.deps.config.limits.batchMax);
    const data = await run(() => memberships.listMemberships(this.deps.db, 'members', group.tenantId, group.id, q));
    return { data, count: () => run(() => memberships.countMemberships(this.deps.db, 'members', group.tenantId, group.id, q.filters)) };
  }

  async types(names: readonly string[]): Promise<UserGroupType[]> {
    return run(() => repo.findUserGroupTypesByNames(this.deps.db, names));
  }

  /** Keyset page over a group's members or managers in the order they were added. */
  async pageMembers(
    ctx: RequestContext,
    relation: GroupRelation,
    groupId: string,
    args: { first?: number | null; after?: string | null },
    /** The user fields the caller reads; undefined: all. */
    fields?: readonly (keyof User)[],
  ): Promise<{ entries: memberships.MembershipEntry[]; hasNextPage: boolean }> {
    const group = await this.get(ctx, groupId, 'groupId', 'group.people.read');
    const first = args.first ?? this.deps.config.limits.listDefault;
    if (!Number.isInteger(first) || first < 1 || first > this.deps.config.limits.listMax) {
      throw Errors.invalid('first', `must be between 1 and ${this.deps.config.limits.listMax}`);
    }
    const after = args.after == null ? undefined : decodeCursor(args.after);
    const rows = await run(() => memberships.pageGroupMembers(this.deps.db, relation, group.tenantId, group.id, after, first + 1, fields));
    return { entries: rows.slice(0, first), hasNextPage: rows.length > first };
  }
}


const intersect = (values: readonly string[] | null | undefined, own: string): string[] =>
  values ? values.filter((x) => x.toLowerCase() === own) : [own];

const actorId = (ctx: RequestContext): string | null => (ctx.actor.kind === 'user' ? ctx.actor.userId : null);

export function encodeCursor(c: memberships.MembershipCursor): string {
  return Buffer.from(JSON.stringify([c.addedAt, c.userId]), 'utf8').toString('base64url');
}

function decodeCursor(raw: string): memberships.MembershipCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string' && v.isUuid(parsed[1]) && v.isPgTimestamp(parsed[0])) {
      return { addedAt: parsed[0], userId: parsed[1] };
    }
  } catch {
    // falls through
  }
  throw Errors.invalid('after', 'is not a cursor returned by this API');
}

