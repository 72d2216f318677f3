/**
 * Tenant isolation for the super-admin: a user of tenant A never joins (or manages) a group of tenant B, never
 * shows in B's group, in a userGroupId filter on B's group, or in B's user count.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import {
  addMembers,
  createGroup,
  createTenant,
  createUsers,
  expectError,
  gql,
  gqlOk,
  managerIds,
  memberIds,
  type CreatedGroup,
  type CreatedUser,
} from './helpers/roster.ts';

describe('tenant isolation', () => {
  let server: TestServer;
  let tenantA: string;
  let tenantB: string;
  let usersA: CreatedUser[];
  let usersB: CreatedUser[];
  let groupA: CreatedGroup;
  let groupB: CreatedGroup;

  before(async () => {
    server = await startServer();
    tenantA = await createTenant(server, 'Tenant A');
    tenantB = await createTenant(server, 'Tenant B');
    usersA = await createUsers(server, 3, tenantA);
    usersB = await createUsers(server, 2, tenantB);
    groupA = await createGroup(server, { tenantId: tenantA });
    groupB = await createGroup(server, { tenantId: tenantB });
    await addMembers(server, groupA.id, usersA.map((u) => u.id));
    await addMembers(server, groupB.id, [usersB[0]!.id]);
  });
  after(() => server.close());

  it('users and groups belong to the tenant they were created in', async () => {
    assert.ok(usersA.every((u) => u.tenantId === tenantA));
    assert.ok(usersB.every((u) => u.tenantId === tenantB));
    assert.equal(groupA.tenantId, tenantA);
    assert.equal(groupB.tenantId, tenantB);
  });

  it('ROQ: adding a user of A to a group of B is NOT_FOUND and writes nothing', async () => {
    const res = await gql(server, 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }', {
      g: groupB.id,
      u: [usersB[1]!.id, usersA[0]!.id],
    });
    expectError(res, 'NOT_FOUND', usersA[0]!.id);
    assert.deepEqual(await memberIds(server, groupB.id), [usersB[0]!.id]);
  });

  it('Pluvo: a user of A fails with OTHER_TENANT for the super-admin; B users are still added', async () => {
    const data = await gqlOk<{ addUsersToGroup: { addedIds: string[]; failedIds: string[]; failures: { input: string; code: string }[] } }>(
      server,
      'mutation($g: UUID, $u: [UUID!]) { addUsersToGroup(groupId: $g, userIds: $u) { addedIds failedIds failures { input code } } }',
      { g: groupB.id, u: [usersA[1]!.id, usersB[1]!.id] },
    );
    assert.deepEqual(data.addUsersToGroup.addedIds, [usersB[1]!.id]);
    assert.deepEqual(data.addUsersToGroup.failedIds, [usersA[1]!.id]);
    assert.deepEqual(data.addUsersToGroup.failures, [{ input: usersA[1]!.id, code: 'OTHER_TENANT' }]);
    const managers = await gqlOk<{ addManagersToGroup: { response: { succeededIds: string[]; failures: { code: string }[] } } }>(
      server,
      'mutation($g: UUID, $u: [UUID!]) { addManagersToGroup(groupId: $g, userIds: $u) { response { succeededIds failures { code } } } }',
      { g: groupB.id, u: [usersA[2]!.id] },
    );
    assert.deepEqual(managers.addManagersToGroup.response, { succeededIds: [], failures: [{ code: 'OTHER_TENANT' }] });
    assert.deepEqual(await managerIds(server, groupB.id), []);
    // Refs are resolved in B, where A's reference does not exist.
    const byRef = await gqlOk<{ addUsersToGroup: { addedIds: string[]; failures: { code: string }[] } }>(
      server,
      'mutation($g: String, $t: UUID, $r: [String!]) { addUsersToGroup(groupRef: $g, tenantId: $t, userRefs: $r) { addedIds failures { code } } }',
      { g: groupB.reference, t: tenantB, r: [usersA[2]!.reference] },
    );
    assert.deepEqual(byRef.addUsersToGroup, { addedIds: [], failures: [{ code: 'NOT_FOUND' }] });
    // Clean up so later tests see groupB with its one original member.
    await gqlOk(server, 'mutation($g: ID!, $u: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $u) }', { g: groupB.id, u: [usersB[1]!.id] });
  });

  it("A's users never appear in B's group, in a userGroupId filter on it, or in B's user count", async () => {
    const view = await gqlOk<{ userGroup: { users: { data: { id: string; tenantId: string }[]; totalCount: number }; tenant: { id: string; users: { totalCount: number } } } }>(
      server,
      `{ userGroup(id: "${groupB.id}") { users { data { id tenantId } totalCount } tenant { id users { totalCount } } } }`,
    );
    assert.deepEqual(view.userGroup.users.data, [{ id: usersB[0]!.id, tenantId: tenantB }]);
    assert.equal(view.userGroup.users.totalCount, 1);
    assert.equal(view.userGroup.tenant.id, tenantB);
    assert.equal(view.userGroup.tenant.users.totalCount, usersB.length);

    const filtered = await gqlOk<{ users: { data: { id: string }[]; totalCount: number } }>(
      server,
      `{ users(filter: { userGroupId: { equalTo: "${groupB.id}" } }) { data { id } totalCount } }`,
    );
    assert.deepEqual(filtered.users.data.map((u) => u.id), [usersB[0]!.id]);
    assert.equal(filtered.users.totalCount, 1);

    const tenants = await gqlOk<{ a: { users: { totalCount: number } }; b: { users: { totalCount: number } } }>(
      server,
      `{ a: tenant(id: "${tenantA}") { users { totalCount } } b: tenant(id: "${tenantB}") { users { totalCount } } }`,
    );
    assert.equal(tenants.a.users.totalCount, usersA.length);
    assert.equal(tenants.b.users.totalCount, usersB.length);
  });

  it('tenantId filters split users and groups by tenant', async () => {
    const users = await gqlOk<{ users: { data: { id: string }[]; totalCount: number } }>(
      server,
      `{ users(filter: { tenantId: { equalTo: "${tenantB}" } }) { data { id } totalCount } }`,
    );
    assert.deepEqual(users.users.data.map((u) => u.id).sort(), usersB.map((u) => u.id).sort());
    assert.equal(users.users.totalCount, usersB.length);
    const groups = await gqlOk<{ userGroups: { data: { id: string }[] } }>(
      server,
      `{ userGroups(filter: { tenantId: { equalTo: "${tenantA}" }, type: { notEqualTo: "platform" } }) { data { id } } }`,
    );
    assert.deepEqual(groups.userGroups.data.map((g) => g.id), [groupA.id]);
  });

  it('the groups of a user of A list only A groups', async () => {
    const data = await gqlOk<{ user: { userGroups: { data: { id: string }[]; totalCount: number } } }>(
      server,
      `{ user(id: "${usersA[0]!.id}") { userGroups { data { id } totalCount } } }`,
    );
    assert.deepEqual(data.user.userGroups.data.map((g) => g.id), [groupA.id]);
    assert.equal(data.user.userGroups.totalCount, 1);
  });

  it('a user cannot be moved to another tenant', async () => {
    const res = await gql(server, `mutation($id: ID!, $u: UserUpdateDto!) { updateUser(id: $id, user: $u) { id } }`, {
      id: usersA[0]!.id,
      u: { tenantId: tenantB },
    });
    expectError(res, 'BAD_USER_INPUT', 'user.tenantId');
    const still = await gqlOk<{ user: { tenantId: string } }>(server, `{ user(id: "${usersA[0]!.id}") { tenantId } }`);
    assert.equal(still.user.tenantId, tenantA);
    assert.deepEqual(await memberIds(server, groupA.id), usersA.map((u) => u.id).sort());
  });
});
