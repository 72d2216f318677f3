import { AppError, Errors } from '../errors.ts';
import { retrying, run } from '../db/transaction.ts';
import type { Page, RequestContext, User, UserFilter, UserListArgs, UserSort } from '../domain/types.ts';
import * as repo from '../repositories/users.ts';
import { pseudonymizeSubject } from '../repositories/audit.ts';
import { auditActor, writeAudited } from './audit.ts';
import type { UserQuery, UserSearchKey } from '../repositories/users.ts';
import type { ServiceDeps } from './deps.ts';
import { paging } from './lists.ts';
import { actorTenant, isSuperAdmin, Policy, requireSuperAdmin, visibleToActor } from './policy.ts';
import type { TenantService } from './tenants.ts';
import type { AccessService } from './access.ts';
import type { TokenRevocations } from './token-revocations.ts';
import { revokeTokens } from '../repositories/token-revocations.ts';
import * as v from './validate.ts';
import { decodeKeyset, encodeKeyset, listDigest, type KeysetPosition } from './keyset-cursor.ts';

/** A cursor's sort value must read back as the sort column's type: a forged one is a 400, not a failed cast. */
function checkSortValue(sort: UserSort, value: string | null): void {
  const type = repo.userSortType(sort);
  const ok = value === null || (type === 'timestamptz' ? v.isPgTimestamp(value) : type === 'boolean' ? value === 'true' || value === 'false' : true);
  if (!ok) throw Errors.invalid('after', 'is not a cursor returned by this API');
}

export interface UserInput {
  reference?: string | null;
  email?: string | null;
  phone?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  locale?: string | null;
  timezone?: string | null;
  avatarUrl?: string | null;
  isOptedIn?: boolean | null;
  active?: boolean | null;
  tenantId?: string | null;
  customData?: unknown;
  twoFactorEnabled?: boolean | null;
}

/** updateOrCreateUser reads the user again when it was deleted between the read and the update, at most this often. */
const UPSERT_ATTEMPTS = 3;

export const USER_SORTS: readonly UserSort[] = ['active', 'createdAt', 'email', 'firstName', 'lastName', 'locale', 'phone', 'timezone', 'updatedAt'];
const SEARCH_KEYS: readonly UserSearchKey[] = ['email', 'firstName', 'lastName', 'locale', 'phone', 'timezone', 'reference'];

export class UserService {
  private readonly policy: Policy;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly tenants: TenantService,
    access: AccessService,
    private readonly revocations: TokenRevocations,
  ) {
    this.policy = new Policy(deps, access);
  }

  /** Validates the writable fields present in `input`, naming each field as the caller sent it. */
  private validate(input: UserInput, prefix: string): repo.UserWrite {
    const { limits } = this.deps.config;
    const f = (name: string) => `${prefix}.${name}`;
    const out: repo.UserWrite = {};
    if (input.reference != null) out.reference = v.text(f('reference'), input.reference, { min: 1, max: limits.stringLength });
    if (input.email != null) out.email = v.email(f('email'), input.email);
    const optionalText = (key: 'firstName' | 'lastName', value: string | null | undefined) => {
      if (value !== undefined) out[key] = value === null ? null : v.text(f(key), value, { max: limits.stringLength });
    };
    optionalText('firstName', input.firstName);
    optionalText('lastName', input.lastName);
    if (input.phone !== undefined) out.phone = input.phone === null || input.phone === '' ? null : v.phone(f('phone'), input.phone);
    if (input.locale !== undefined) out.locale = input.locale === null ? null : v.locale(f('locale'), input.locale);
    if (input.timezone !== undefined) out.timezone = input.timezone === null ? null : v.timezone(f('timezone'), input.timezone);
    if (input.avatarUrl !== undefined) out.avatarUrl = input.avatarUrl === null ? null : v.url(f('avatarUrl'), input.avatarUrl);
    if (input.isOptedIn != null) out.isOptedIn = input.isOptedIn;
    if (input.twoFactorEnabled === true) throw Errors.invalid(f('twoFactorEnabled'), 'Roster does not manage two-factor authentication');
    if (input.active != null) out.active = input.active;
    if (input.customData !== undefined && input.customData !== null) {
      out.customData = v.jsonObject(f('customData'), input.customData, limits.customDataBytes);
    }
    return out;
  }

  async create(ctx: RequestContext, input: UserInput): Promise<User> {
    requireSuperAdmin(ctx, 'create users');
    if (input.reference == null) throw Errors.invalid('user.reference', 'is required');
    if (input.email == null) throw Errors.invalid('user.email', 'is required');
    const write = this.validate(input, 'user');
    const tenant = await this.tenants.resolve(ctx, input.tenantId, 'user.tenantId');
    // The hot path of bulk imports: the user and its audit record in one statement, no explicit transaction.
    return run(() =>
      repo.insertUserAudited(this.deps.db, { ...write, id: this.deps.newId(), tenantId: tenant.id, reference: write.reference!, email: write.email! }, this.stamp(ctx)),
    );
  }

  /** With `expectedVersion`, the update applies only if the user is still at that version (else CONFLICT). */
  async update(ctx: RequestContext, id: string, input: UserInput, expectedVersion?: number | null): Promise<User> {
    requireSuperAdmin(ctx, 'update users');
    const expected = expectedVersion == null ? undefined : v.version('expectedVersion', expectedVersion);
    const current = await this.get(ctx, id);
    if (input.tenantId != null && v.uuid('user.tenantId', input.tenantId) !== current.tenantId) {
      throw Errors.invalid('user.tenantId', 'a user cannot move to another tenant; create the user in the other tenant instead');
    }
    const write = this.validate(input, 'user');
    const updated = await this.updateEndingGrants(this.deps.db, current.tenantId, current.id, write, expected, ctx);
    if (updated) return updated;
    const now = await run(() => repo.findUserById(this.deps.db, current.id));
    if (now && expected !== undefined) throw Errors.staleVersion('User', 'expectedVersion', expected, now.version);
    throw Errors.notFound('User', 'id', id);
  }

  /**
   * The update and its audit record in one statement; a deactivation revokes the user's tokens in that statement
   * too, and on this node at once (the others read it within ROSTER_KEY_REFRESH_SECONDS).
   */
  private async updateEndingGrants(db: ServiceDeps['db'], tenantId: string, id: string, write: repo.UserWrite, expected: number | undefined, ctx: RequestContext): Promise<User | undefined> {
    const revokedAt = write.active === false ? new Date() : undefined;
    const updated = await retrying(() => repo.updateUserAudited(db, tenantId, id, write, expected, this.stamp(ctx), revokedAt));
    if (updated && revokedAt && !updated.active) this.revocations.note(updated.id, revokedAt);
    return updated;
  }

  /**
   * Ends every token issued to the user so far (they answer UNAUTHENTICATED from now on, on every node within
   * ROSTER_KEY_REFRESH_SECONDS); tokens issued later work. The super-admin, or who may write users in the user's
   * company (USER_MANAGEMENT: WRITE, which company admins hold).
   */
  async revokeTokens(ctx: RequestContext, userId: string, field = 'userId'): Promise<{ userId: string; revokedAt: Date }> {
    v.uuid(field, userId);
    const user = await run(() => repo.findUserById(this.deps.db, userId, ['id', 'tenantId']));
    if (!user || !visibleToActor(ctx, user.tenantId)) throw Errors.notFound('User', field, userId);
    await this.policy.require(ctx, 'user.tokens.revoke', { tenantId: user.tenantId });
    const revokedAt = new Date();
    await writeAudited(this.deps, ctx, async (tx, audit) => {
      await revokeTokens(tx, user.id, revokedAt);
      audit({ tenantId: user.tenantId, operation: 'user.revokeTokens', targetType: 'user', targetId: user.id, changes: { revokedAt: revokedAt.toISOString() } });
    });
    this.revocations.note(user.id, revokedAt);
    return { userId: user.id, revokedAt };
  }

  /** Who is writing, for the audit record a one-statement write makes with its change. */
  private stamp(ctx: RequestContext): repo.AuditStamp {
    const actor = auditActor(ctx);
    return { id: this.deps.newId(), actorKind: actor.kind, actorId: actor.id, requestId: ctx.requestId, clientRequestId: ctx.clientRequestId ?? null };
  }

  /**
   * Pluvo's `updateOrCreateUser`: finds the user by `ref`, else by `email`, in the given tenant (or the caller's,
   * or the default), updates it, or creates it with `ref` as its reference.
   */
  async updateOrCreate(
    ctx: RequestContext,
    args: { ref?: string | null; email?: string | null; tenantId?: string | null; user: Omit<UserInput, 'reference' | 'tenantId'> },
  ): Promise<{ created: boolean; user: User }> {
    requireSuperAdmin(ctx, 'create users');
    if (args.ref == null && args.email == null) throw Errors.invalid('ref', 'ref or email is required');
    const ref = args.ref == null ? undefined : v.text('ref', args.ref, { min: 1, max: this.deps.config.limits.stringLength });
    const lookupEmail = args.email == null ? undefined : v.email('email', args.email);
    const write = this.validate(args.user, 'user');
    const tenant = await this.tenants.resolve(ctx, args.tenantId, 'tenantId');
    const { db } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const existing =
        (ref !== undefined ? await run(() => repo.findUserByReference(db, tenant.id, ref)) : undefined) ??
        (lookupEmail !== undefined ? await run(() => repo.findUserByEmail(db, tenant.id, lookupEmail)) : undefined);
      if (!existing) {
        const email = write.email ?? lookupEmail;
        if (email === undefined) throw Errors.invalid('user.email', 'is required when the user is created');
        const user = await run(() =>
          repo.insertUserAudited(db, { ...write, id: this.deps.newId(), tenantId: tenant.id, reference: ref ?? this.deps.newId(), email }, this.stamp(ctx)),
        );
        return { created: true, user };
      }
      const user = await this.updateEndingGrants(db, tenant.id, existing.id, write, undefined, ctx);
      if (user) return { created: false, user };
      // Deleted since it was read: look again (and create it).
      if (attempt === UPSERT_ATTEMPTS) throw new AppError('CONFLICT', 'ref: the user changed while the call ran; send it again', { field: 'ref' });
    }
  }

  /**
   * Deleting a user erases it: its memberships and role assignments go with it, and the audit log keeps only a
   * pseudonym in its place (see repositories/audit.ts), all in one transaction.
   */
  async delete(ctx: RequestContext, id: string): Promise<boolean> {
    requireSuperAdmin(ctx, 'delete users');
    const user = await this.get(ctx, id);
    const revokedAt = new Date();
    const deleted = await writeAudited(this.deps, ctx, async (tx, audit) => {
      const deleted = await repo.deleteUser(tx, user.tenantId, user.id);
      if (!deleted) return false;
      const pseudonym = `erased:${this.deps.newId()}`;
      await pseudonymizeSubject(tx, user.id, pseudonym);
      await revokeTokens(tx, user.id, revokedAt);
      audit({ tenantId: user.tenantId, operation: 'user.delete', targetType: 'user', targetId: pseudonym });
      return true;
    });
    if (deleted) this.revocations.note(user.id, revokedAt);
    return deleted;
  }

  /** A user token may read its own record only. */
  /** `fields`: what the caller will read of the user (all when absent). */
  async get(ctx: RequestContext, id: string, field = 'id', fields?: readonly (keyof User)[]): Promise<User> {
    v.uuid(field, id);
    if (ctx.actor.kind === 'user' && ctx.actor.userId !== id.toLowerCase()) {
      throw Errors.forbidden('A user token may read only its own user record');
    }
    const user = await run(() => repo.findUserById(this.deps.db, id, fields));
    if (!user || !visibleToActor(ctx, user.tenantId)) throw Errors.notFound('User', field, id);
    return user;
  }

  /** `fields`: what the caller will read of each user (all when absent). */
  async list(ctx: RequestContext, args: UserListArgs, fields?: readonly (keyof User)[]): Promise<Page<User>> {
    if (!isSuperAdmin(ctx.actor)) throw Errors.forbidden('A user token may not list users');
    const query = this.query(args);
    // Hashed only when a cursor is read or handed out: a lookup asks for neither.
    let digest: string | undefined;
    const digestOf = () => (digest ??= listDigest([query.filter, query.search, query.sort, query.order]));
    let after: KeysetPosition | undefined;
    if (args.after != null) {
      if (query.offset > 0) throw Errors.invalid('offset', 'cannot be combined with after; a cursor already says where the page starts');
      after = decodeKeyset(v.text('after', args.after, { max: 2048 }), digestOf());
      checkSortValue(query.sort, after.value);
    }
    // One row more than asked tells whether another page follows, without a count.
    const q = { ...query, fields, after, limit: query.limit + 1 };
    const page = await run(() => repo.listUsers(this.deps.db, q));
    const data = page.users.slice(0, query.limit);
    const last = page.positions[data.length - 1];
    return {
      data,
      count: () => run(() => repo.countUsers(this.deps.db, query)),
      pageInfo: {
        get endCursor() {
          return last ? encodeKeyset(digestOf(), last) : (args.after ?? null);
        },
        hasNextPage: page.users.length > query.limit,
      },
    };
  }

  /** Validated list query. Deactivated users are left out unless the filter asks for them. */
  query(args: UserListArgs): UserQuery {
    const p = paging(this.deps.config, args, USER_SORTS, 'createdAt');
    const filter: UserFilter = { ...(args.filter ?? {}) };
    // Accepted by the ROQ schema for compatibility, but Roster keeps no such data: refuse rather than ignore.
    const raw = filter as Record<string, unknown>;
    for (const key of ['optedInAt', 'userProviderId']) {
      if (raw[key] != null) throw Errors.invalid(`filter.${key}`, 'is not supported by Roster');
    }
    v.idFilters(filter, ['id', 'tenantId', 'roleId', 'userGroupId']);
    if (filter.customData) {
      const { contains, hasKey } = filter.customData;
      filter.customData = {
        contains: contains == null ? null : v.jsonObject('filter.customData.contains', contains, this.deps.config.limits.customDataBytes),
        hasKey: hasKey == null ? null : v.text('filter.customData.hasKey', hasKey, { max: 255 }),
      };
    }
    if (!filter.active && filter.withDeactivated?.equalTo !== true) filter.active = { equalTo: true };
    let search: UserQuery['search'];
    if (args.search) {
      if (!SEARCH_KEYS.includes(args.search.key as UserSearchKey)) throw Errors.invalid('search.key', `must be one of ${SEARCH_KEYS.join(', ')}`);
      search = { key: args.search.key as UserSearchKey, value: v.text('search.value', args.search.value, { max: 255 }) };
    }
    return { filter, search, ...p };
  }

  /** Tenant ids a user actor may see; the super-admin sees all. */
  scope(ctx: RequestContext): string | undefined {
    return actorTenant(ctx);
  }
}
