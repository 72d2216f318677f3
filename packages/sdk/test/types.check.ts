/**
 * Type tests, checked by `tsc` (`npm run typecheck`), never run: each `@ts-expect-error` line must fail to
 * compile (else tsc reports the directive as unused), and each `expectTypeOf` pins a result type exactly.
 */
import { expectTypeOf } from 'expect-type';
import { RosterClient, RosterError, type JsonObject, type RoleModel, type RosterSession, type UserGroupModel, type UserModel } from '../src/index.ts';

declare const admin: RosterSession;
declare const flag: boolean;

export async function checks(): Promise<void> {
  // ---------------------------------------------------------------------------------------- results
  const created = await admin.createUser({ user: { reference: 'r', email: 'e@example.com' } });
  expectTypeOf(created.createUser.id).toEqualTypeOf<string>();
  expectTypeOf(created.createUser.firstName).toEqualTypeOf<string | null>();
  expectTypeOf(created.createUser.customData).toEqualTypeOf<JsonObject | null>();
  expectTypeOf(created.createUser.version).toEqualTypeOf<number>();
  expectTypeOf(created).not.toHaveProperty('users');
  // Relations are absent unless asked for.
  expectTypeOf(created.createUser).not.toHaveProperty('tenant');

  const page = await admin.users({ filter: { reference: { equalTo: 'r' } } });
  expectTypeOf(page.users.totalCount).toEqualTypeOf<number>();
  expectTypeOf(page.users.data[0]!.email).toEqualTypeOf<string>();
  expectTypeOf(page.users.data[0]!).not.toHaveProperty('tenant');
  expectTypeOf(page.users.data[0]!).not.toHaveProperty('userGroups');

  // A flag set to true adds exactly that relation, typed.
  const withTenant = await admin.users({ withTenant: true, limit: 5 });
  expectTypeOf(withTenant.users.data[0]!.tenant).toEqualTypeOf<{
    id: string; name: string; reference: string | null; isDefault: boolean; createdAt: string; updatedAt: string; version: number;
  } | null>();
  expectTypeOf(withTenant.users.data[0]!).not.toHaveProperty('userGroups');

  const group = await admin.userGroup({ id: 'g', withUsers: true, withManagers: true });
  expectTypeOf(group.userGroup.users).toEqualTypeOf<{
    data: Array<UserModel>; totalCount: number; pageInfo: { endCursor: string | null; hasNextPage: boolean } | null;
  } | null>();
  expectTypeOf(group.userGroup.managers!.data[0]!.reference).toEqualTypeOf<string>();
  expectTypeOf(group.userGroup).not.toHaveProperty('roles');

  // The documented variant: userGroup(id) as well as userGroup({ id }).
  const byId = await admin.userGroup('42103455-1e00-41bf-9714-c70a8c17caf9');
  expectTypeOf(byId.userGroup.name).toEqualTypeOf<string>();
  expectTypeOf(byId.userGroup).not.toHaveProperty('users');

  // A flag only known to be a boolean makes the relation optional.
  const maybe = await admin.user({ id: 'u', withRoles: flag });
  expectTypeOf(maybe.user.roles).toEqualTypeOf<{ data: Array<RoleModel>; totalCount: number } | null | undefined>();

  // A flag set to false selects nothing.
  const without = await admin.user({ id: 'u', withTenant: false });
  expectTypeOf(without.user).not.toHaveProperty('tenant');

  const removed = await admin.removeUsersFromUserGroup({ userGroupId: 'g', userIds: ['u'] });
  expectTypeOf(removed).toEqualTypeOf<{ removeUsersFromUserGroup: boolean }>();

  const added = await admin.addUsersToGroup({ groupRef: 'group-sales', userRefs: ['EMP-001'] });
  expectTypeOf(added.addUsersToGroup.addedIds).toEqualTypeOf<Array<string | null> | null>();
  expectTypeOf(added.addUsersToGroup.failures).toEqualTypeOf<Array<{ input: string; code: string; message: string }>>();

  const managers = await admin.addManagersToGroup({ groupId: 'g', userIds: ['u'] });
  expectTypeOf(managers.addManagersToGroup.response).toEqualTypeOf<{
    succeededIds: Array<string | null> | null; failedIds: Array<string | null> | null; failures: Array<{ input: string; code: string; message: string }>;
  } | null>();

  const upsert = await admin.updateOrCreateUser({ ref: 'r', user: { firstName: 'A' }, withTenant: true });
  expectTypeOf(upsert.updateOrCreateUser.created).toEqualTypeOf<boolean>();
  expectTypeOf(upsert.updateOrCreateUser.user).toHaveProperty('tenant');

  const tenant = await admin.tenant({ id: 't', withUserCount: true });
  expectTypeOf(tenant.tenant.users).toEqualTypeOf<{ totalCount: number }>();

  // Iterators yield the items, with the relations the flags select.
  for await (const user of admin.iterateUsers({ filter: { active: { equalTo: true } }, withUserGroups: true, pageSize: 500 })) {
    expectTypeOf(user.userGroups).toEqualTypeOf<{ data: Array<UserGroupModel>; totalCount: number } | null>();
  }
  for await (const edge of admin.iterateUserGroupMembers({ groupId: 'g', relation: 'MANAGERS' })) {
    expectTypeOf(edge.addedAt).toEqualTypeOf<string>();
    expectTypeOf(edge.node.id).toEqualTypeOf<string>();
  }
  for await (const event of admin.iterateAuditEvents({ filter: { operation: 'user.create' } })) {
    expectTypeOf(event.changes).toEqualTypeOf<JsonObject>();
  }

  // REST: inputs and outputs from the OpenAPI document.
  const groups = await admin.rest.listUserGroups({ companyId: 'c', body: { pagination: { offset: 0, limit: 10 }, searchText: 'sales' } });
  expectTypeOf(groups.pagination.totalNumResults).toEqualTypeOf<number>();
  expectTypeOf(groups.userGroups[0]!.id).toEqualTypeOf<string>();
  const read = await admin.rest.call('getUserGroup', { companyId: 'c', groupId: 'g' });
  expectTypeOf(read.etag).toEqualTypeOf<string | undefined>();
  expectTypeOf(read.data.isUnmodifiable).toEqualTypeOf<boolean>();
  for await (const member of admin.rest.paginate('listUserGroupMembers', { companyId: 'c', groupId: 'g', pageSize: 1000 })) {
    expectTypeOf(member.userId).toEqualTypeOf<string>();
  }
  // Inputs with nothing required may be left out.
  await admin.rest.call('listPermissions');
  await admin.rest.listUserGroupRoles({ companyId: 'c', groupId: 'g' });
  const permissions = await admin.rest.listPermissions();
  expectTypeOf(permissions).not.toBeAny();

  const data = await admin.graphqlRequest<{ isTenantsActive: boolean }>('{ isTenantsActive }');
  expectTypeOf(data.isTenantsActive).toEqualTypeOf<boolean>();

  // ---------------------------------------------------------------------------------------- wrong shapes
  // @ts-expect-error a misspelt top-level argument
  await admin.users({ limit: 1, lmit: 2 });
  // @ts-expect-error a misspelt filter field, nested
  await admin.users({ filter: { reference: { equalTo: 'x' }, emial: { equalTo: 'y' } } });
  // @ts-expect-error a misspelt operator
  await admin.users({ filter: { reference: { equals: 'x' } } });
  // @ts-expect-error a wrong type
  await admin.users({ limit: '10' });
  // @ts-expect-error a flag of another entity
  await admin.users({ withUsers: true });
  // @ts-expect-error the required argument is missing
  await admin.createUser({});
  // @ts-expect-error a required field of the input is missing
  await admin.createUser({ user: { reference: 'r' } });
  // @ts-expect-error an unknown field of the input (not generic: ordinary excess property check)
  await admin.addUsersToUserGroup({ userGroupId: 'g', userIds: ['u'], userRefs: [] });
  // @ts-expect-error an enum value that does not exist
  await admin.users({ order: { order: 'UP', sort: 'email' } });
  // @ts-expect-error userGroup takes an id or { id }, not a number
  await admin.userGroup(42);
  // @ts-expect-error the iterator sets the page itself
  admin.iterateUsers({ offset: 10 });
  // @ts-expect-error a path parameter is missing
  await admin.rest.getUserGroup({ companyId: 'c' });
  // @ts-expect-error the body does not fit the operation's schema
  await admin.rest.updateUserGroupMembers({ companyId: 'c', groupId: 'g', body: { userIdsToAdd: 'u' } });
  // @ts-expect-error not an operation
  await admin.rest.call('dropDatabase', {});
  // @ts-expect-error not a list operation
  admin.rest.paginate('getUserGroup', { companyId: 'c', groupId: 'g' });
  // @ts-expect-error the client needs a URL
  new RosterClient({ apiKey: 'k' });

  // Errors carry the server's code.
  try {
    await admin.user('missing');
  } catch (e) {
    if (e instanceof RosterError) {
      expectTypeOf(e.code).toEqualTypeOf<string>();
      expectTypeOf(e.status).toEqualTypeOf<number>();
      expectTypeOf(e.field).toEqualTypeOf<string | undefined>();
      expectTypeOf(e.requestId).toEqualTypeOf<string | undefined>();
    }
  }
}
