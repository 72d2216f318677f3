import type { GraphQLResolveInfo } from 'graphql';
import type { IResolvers, MercuriusContext } from 'mercurius';
import { requestedUserFields } from './selection.ts';
import type {
  RequestContext,
  Role,
  RoleListArgs,
  Tenant,
  TenantListArgs,
  User,
  UserGroup,
  UserGroupListArgs,
  UserListArgs,
} from '../../domain/types.ts';
import { encodeCursor } from '../../services/groups.ts';
import type { Services } from '../../services/index.ts';
import type { MembershipOutcome } from '../../services/memberships.ts';
import type { MembershipEntry } from '../../repositories/memberships.ts';
import type { UserGroupInput } from '../../services/groups.ts';
import type { UserInput } from '../../services/users.ts';
import type { RoleInput } from '../../services/roles.ts';
import type { TenantInput } from '../../services/tenants.ts';
import type { AuditListArgs } from '../../services/audit.ts';
import type { GroupRelation } from '../../repositories/users.ts';
import type { PageResult, RequestLoaders } from './loaders.ts';
import { DateScalar, JsonObjectScalar, UUIDScalar } from './scalars.ts';

export interface RosterGraphqlContext {
  readonly roster: RequestContext;
  readonly loaders: RequestLoaders;
}

type Ctx = MercuriusContext & RosterGraphqlContext;
interface PluvoMembershipArgs {
  groupId?: string | null;
  groupRef?: string | null;
  userIds?: string[] | null;
  userRefs?: string[] | null;
  tenantId?: string | null;
}

/** An edge of `userGroupMembers`: its cursor is encoded only if the query selects it (most page by `endCursor`). */
class MemberEdge {
  readonly node: User;
  readonly addedAt: Date;
  readonly #entry: MembershipEntry;
  constructor(entry: MembershipEntry) {
    this.node = entry.user;
    this.addedAt = entry.addedAt;
    this.#entry = entry;
  }
  get cursor(): string {
    return encodeCursor(this.#entry.cursor);
  }
}

export function buildResolvers(services: Services): IResolvers {
  const { users, groups, tenants, memberships, roles } = services;

  const pluvo = (relation: GroupRelation, change: 'add' | 'remove') =>
    (ctx: Ctx, a: PluvoMembershipArgs): Promise<MembershipOutcome> =>
      memberships.change(ctx.roster, {
        relation,
        change,
        group: { id: a.groupId, ref: a.groupRef, tenantId: a.tenantId },
        users: { ids: a.userIds, refs: a.userRefs },
        atomic: false,
      });

  const roq = (change: 'add' | 'remove') =>
    async (ctx: Ctx, a: { userGroupId: string; userIds: string[] }): Promise<boolean> => {
      await memberships.change(ctx.roster, {
        relation: 'members',
        change,
        group: { id: a.userGroupId, idField: 'userGroupId' },
        users: { ids: a.userIds },
        atomic: true,
      });
      return true;
    };

  const failedIds = (o: MembershipOutcome) => o.failures.map((f) => f.input);

  // Explicit resolvers: graphql-jit does not await a promise held in a plain property.
  const pageFields = {
    data: <T>(page: PageResult<T>) => page.data,
    totalCount: <T>(page: PageResult<T>) => page.count(),
  };

  return {
    Date: DateScalar,
    UUID: UUIDScalar,
    JsonObject: JsonObjectScalar,
    Query: {
      user: (_p: unknown, a: { id: string }, ctx: Ctx, info: GraphQLResolveInfo) => users.get(ctx.roster, a.id, 'id', requestedUserFields(info, [])),
      users: (_p: unknown, a: UserListArgs, ctx: Ctx, info: GraphQLResolveInfo) => users.list(ctx.roster, a, requestedUserFields(info, ['data'])),
      userProfile: (_p: unknown, a: { id: string }, ctx: Ctx) => users.get(ctx.roster, a.id),
      userProfiles: (_p: unknown, a: UserListArgs, ctx: Ctx) => users.list(ctx.roster, a),
      userGroup: (_p: unknown, a: { id: string }, ctx: Ctx) => groups.get(ctx.roster, a.id),
      userGroups: (_p: unknown, a: UserGroupListArgs, ctx: Ctx) => groups.list(ctx.roster, a),
      userGroupMembers: async (
        _p: unknown,
        a: { groupId: string; relation: 'PARTICIPANTS' | 'MANAGERS'; first?: number; after?: string },
        ctx: Ctx,
        info: GraphQLResolveInfo,
      ) => {
        const relation = a.relation === 'MANAGERS' ? 'managers' : 'members';
        const page = await groups.pageMembers(ctx.roster, relation, a.groupId, a, requestedUserFields(info, ['edges', 'node']));
        const last = page.entries.at(-1);
        return {
          edges: page.entries.map((e) => new MemberEdge(e)),
          pageInfo: { endCursor: last ? encodeCursor(last.cursor) : null, hasNextPage: page.hasNextPage },
        };
      },
      tenant: (_p: unknown, a: { id: string }, ctx: Ctx) => tenants.get(ctx.roster, a.id),
      tenants: (_p: unknown, a: TenantListArgs, ctx: Ctx) => tenants.list(ctx.roster, a),
      role: (_p: unknown, a: { id: string }, ctx: Ctx) => roles.get(ctx.roster, a.id),
      roles: (_p: unknown, a: RoleListArgs, ctx: Ctx) => roles.list(ctx.roster, a),
      isTenantsActive: () => true,
      auditEvents: (_p: unknown, a: { filter?: AuditListArgs | null; first?: number | null; after?: string | null }, ctx: Ctx) =>
        services.audit.list(ctx.roster, { ...(a.filter ?? {}), first: a.first, after: a.after }),
      apiKeys: (_p: unknown, a: { includeRevoked?: boolean | null }, ctx: Ctx) => services.apiKeys.list(ctx.roster, a.includeRevoked === true),
      signingKeys: (_p: unknown, _a: unknown, ctx: Ctx) => services.auth.signingKeys(ctx.roster),
    },
    Mutation: {
      createUser: (_p: unknown, a: { user: UserInput }, ctx: Ctx) => users.create(ctx.roster, a.user),
      updateUser: (_p: unknown, a: { id: string; user: UserInput; expectedVersion?: number | null }, ctx: Ctx) => users.update(ctx.roster, a.id, a.user, a.expectedVersion),
      deleteUser: (_p: unknown, a: { id: string }, ctx: Ctx) => users.delete(ctx.roster, a.id),
      revokeUserTokens: (_p: unknown, a: { userId: string }, ctx: Ctx) => users.revokeTokens(ctx.roster, a.userId),
      createUserGroup: (_p: unknown, a: { userGroup: UserGroupInput }, ctx: Ctx) => groups.create(ctx.roster, a.userGroup),
      updateUserGroup: (_p: unknown, a: { id: string; userGroup: UserGroupInput; expectedVersion?: number | null }, ctx: Ctx) =>
        groups.update(ctx.roster, a.id, a.userGroup, a.expectedVersion),
      deleteUserGroup: (_p: unknown, a: { id: string }, ctx: Ctx) => groups.delete(ctx.roster, a.id),
      addUsersToUserGroup: (_p: unknown, a: { userGroupId: string; userIds: string[] }, ctx: Ctx) => roq('add')(ctx, a),
      removeUsersFromUserGroup: (_p: unknown, a: { userGroupId: string; userIds: string[] }, ctx: Ctx) => roq('remove')(ctx, a),
      createTenant: (_p: unknown, a: { tenant: TenantInput }, ctx: Ctx) => tenants.create(ctx.roster, a.tenant),
      updateTenant: (_p: unknown, a: { id: string; tenant: TenantInput; expectedVersion?: number | null }, ctx: Ctx) =>
        tenants.update(ctx.roster, a.id, a.tenant, a.expectedVersion),
      createRole: (_p: unknown, a: { role: RoleInput }, ctx: Ctx) => roles.create(ctx.roster, a.role),
      assignRolesToUser: (_p: unknown, a: { userId: string; roleKeys: string[] }, ctx: Ctx) => roles.setUserRoles(ctx.roster, a.userId, a.roleKeys, true),
      unassignRolesFromUser: (_p: unknown, a: { userId: string; roleKeys: string[] }, ctx: Ctx) => roles.setUserRoles(ctx.roster, a.userId, a.roleKeys, false),
      addUsersToGroup: async (_p: unknown, a: PluvoMembershipArgs, ctx: Ctx) => {
        const o = await pluvo('members', 'add')(ctx, a);
        return { addedIds: o.changedIds, alreadyAddedIds: o.unchangedIds, failedIds: failedIds(o), failures: o.failures };
      },
      removeUsersFromGroup: async (_p: unknown, a: PluvoMembershipArgs, ctx: Ctx) => {
        const o = await pluvo('members', 'remove')(ctx, a);
        return { removedIds: o.changedIds, alreadyRemovedIds: o.unchangedIds, failedIds: failedIds(o), failures: o.failures };
      },
      addManagersToGroup: async (_p: unknown, a: PluvoMembershipArgs, ctx: Ctx) => {
        const o = await pluvo('managers', 'add')(ctx, a);
        return { response: { succeededIds: [...o.changedIds, ...o.unchangedIds], failedIds: failedIds(o), failures: o.failures } };
      },
      removeManagersFromGroup: async (_p: unknown, a: PluvoMembershipArgs, ctx: Ctx) => {
        const o = await pluvo('managers', 'remove')(ctx, a);
        return { response: { succeededIds: [...o.changedIds, ...o.unchangedIds], failedIds: failedIds(o), failures: o.failures } };
      },
      updateOrCreateUser: (_p: unknown, a: { ref?: string; email?: string; tenantId?: string; user: UserInput }, ctx: Ctx) =>
        users.updateOrCreate(ctx.roster, a),
      createApiKey: async (_p: unknown, a: { name: string; expiresAt?: Date | null }, ctx: Ctx) => {
        const issued = await services.apiKeys.create(ctx.roster, a);
        return { apiKey: issued.record, key: issued.key };
      },
      rotateApiKey: async (_p: unknown, a: { id: string; gracePeriodSeconds?: number | null }, ctx: Ctx) => {
        const issued = await services.apiKeys.rotate(ctx.roster, a.id, a.gracePeriodSeconds ?? 0);
        return { apiKey: issued.record, key: issued.key };
      },
      revokeApiKey: (_p: unknown, a: { id: string }, ctx: Ctx) => services.apiKeys.revoke(ctx.roster, a.id),
      rotateSigningKey: async (_p: unknown, _a: unknown, ctx: Ctx) => {
        const { kid } = await services.auth.rotateSigningKey(ctx.roster);
        return services.auth.signingKeys(ctx.roster).find((k) => k.kid === kid);
      },
    },
    UserModel: {
      tenant: (u: User, _a: unknown, ctx: Ctx) => ctx.loaders.tenantById.load(u.tenantId),
      twoFactorEnabled: () => false,
      userGroups: (u: User, a: UserGroupListArgs, ctx: Ctx) =>
        ctx.loaders.page('User.userGroups', a, u.id, () => groups.groupsOfUsers(ctx.roster, a)),
      roles: (u: User, a: RoleListArgs, ctx: Ctx) => ctx.loaders.page('User.roles', a, u.id, () => roles.rolesOf(ctx.roster, 'user', a)),
      effectivePermissions: (u: User, _a: unknown, ctx: Ctx) => ctx.loaders.effectivePermissions(ctx.roster).load(u),
    },
    UserProfileModel: {
      connectedProviders: () => [],
    },
    UserGroupModel: {
      tenant: (g: UserGroup, _a: unknown, ctx: Ctx) => ctx.loaders.tenantById.load(g.tenantId),
      userGroupType: (g: UserGroup, _a: unknown, ctx: Ctx) => ctx.loaders.groupTypeByName.load(g.type),
      users: (g: UserGroup, a: UserListArgs, ctx: Ctx, info: GraphQLResolveInfo) => {
        const fields = requestedUserFields(info, ['data']);
        return ctx.loaders.page('UserGroup.users', [a, fields], g.id, () => groups.usersOfGroups(ctx.roster, 'members', a, fields));
      },
      managers: (g: UserGroup, a: UserListArgs, ctx: Ctx, info: GraphQLResolveInfo) => {
        const fields = requestedUserFields(info, ['data']);
        return ctx.loaders.page('UserGroup.managers', [a, fields], g.id, () => groups.usersOfGroups(ctx.roster, 'managers', a, fields));
      },
      roles: (g: UserGroup, a: RoleListArgs, ctx: Ctx) => ctx.loaders.page('UserGroup.roles', a, g.id, () => roles.rolesOf(ctx.roster, 'group', a)),
    },
    TenantModel: {
      // Counting a company's users is listing them (top-level `users`): the service's rule, checked before the count.
      users: (t: Tenant, _a: unknown, ctx: Ctx) => (tenants.requireUserCount(ctx.roster), { totalCount: () => ctx.loaders.tenantUserCount.load(t.id) }),
    },
    RoleModel: {
      userGroups: (r: Role, a: UserGroupListArgs, ctx: Ctx) =>
        ctx.loaders.page('Role.userGroups', a, r.id, () => groups.groupsOfRoles(ctx.roster, a)),
      users: (r: Role, _a: unknown, ctx: Ctx) => ({ totalCount: () => ctx.loaders.roleUserCount.load(r.id) }),
    },
    // Nested lists have no pageInfo (null), but are authorized like their rows: the (batched) page is read for that.
    UserPageModel: { ...pageFields, pageInfo: async <T>(page: PageResult<T>) => page.pageInfo ?? (await page.data, null) },
    UserGroupPageModel: pageFields,
    TenantPageModel: pageFields,
    RolePageModel: pageFields,
    UserProfilePageModel: pageFields,
    // Counted only when selected: a count started eagerly and refused would be a rejection nobody awaits.
    UsersCountModel: { totalCount: (c: { totalCount: () => Promise<number> }) => c.totalCount() },
  } as unknown as IResolvers;
}
