/**
 * deleteUser removes the user's memberships, manager links and role assignments; deleteUserGroup removes the
 * group and its memberships. Both are NOT_FOUND afterwards, and nothing else is touched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import {
  addManagers,
  addMembers,
  countGroups,
  countUsers,
  createGroup,
  createTenant,
  createUsers,
  expectError,
  gql,
  gqlOk,
  managerIds,
  memberIds,
  unique,
  type CreatedUser,
} from './helpers/roster.ts';

describe('deletion', () => {
  let server: TestServer;
  let tenantId: string;

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
  });
  after(() => server.close());

  it('deleteUser drops its memberships and manager links; group counts fall', async () => {
    const [doomed, keeper] = (await createUsers(server, 2, tenantId)) as [CreatedUser, CreatedUser];
    const g1 = await createGroup(server, { tenantId });
    const g2 = await createGroup(server, { tenantId });
    await addMembers(server, g1.id, [doomed.id, keeper.id]);
    await addMembers(server, g2.id, [doomed.id]);
    await addManagers(server, g2.id, [doomed.id, keeper.id]);
    const key = unique('role');
    const role = await gqlOk<{ createRole: { id: string } }>(server, 'mutation($r: RoleCreateDto!) { createRole(role: $r) { id } }', {
      r: { key, name: 'Doomed role', tenantId },
    });
    await gqlOk(server, 'mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }', { u: doomed.id, k: [key] });
    const usersBefore = await countUsers(server, tenantId);

    const deleted = await gqlOk<{ deleteUser: boolean }>(server, `mutation { deleteUser(id: "${doomed.id}") }`);
    assert.equal(deleted.deleteUser, true);

    expectError(await gql(server, `{ user(id: "${doomed.id}") { id } }`), 'NOT_FOUND');
    expectError(await gql(server, `mutation { deleteUser(id: "${doomed.id}") }`), 'NOT_FOUND');
    expectError(await gql(server, `mutation { updateUser(id: "${doomed.id}", user: { firstName: "x" }) { id } }`), 'NOT_FOUND');
    assert.equal(await countUsers(server, tenantId), usersBefore - 1);

    const counts = await gqlOk<{ a: { users: { totalCount: number } }; b: { users: { totalCount: number }; managers: { totalCount: number } } }>(
      server,
      `{ a: userGroup(id: "${g1.id}") { users { totalCount } } b: userGroup(id: "${g2.id}") { users { totalCount } managers { totalCount } } }`,
    );
    assert.deepEqual(counts, { a: { users: { totalCount: 1 } }, b: { users: { totalCount: 0 }, managers: { totalCount: 1 } } });
    assert.deepEqual(await memberIds(server, g1.id), [keeper.id]);
    assert.deepEqual(await managerIds(server, g2.id), [keeper.id]);
    const filtered = await gqlOk<{ users: { totalCount: number } }>(server, `{ users(filter: { userGroupId: { equalTo: "${g2.id}" } }) { totalCount } }`);
    assert.equal(filtered.users.totalCount, 0);
    const roleUsers = await gqlOk<{ role: { users: { totalCount: number } } }>(server, `{ role(id: "${role.createRole.id}") { users { totalCount } } }`);
    assert.equal(roleUsers.role.users.totalCount, 0);

    // The other user's memberships are untouched.
    const keeperGroups = await gqlOk<{ user: { userGroups: { totalCount: number } } }>(server, `{ user(id: "${keeper.id}") { userGroups { totalCount } } }`);
    assert.equal(keeperGroups.user.userGroups.totalCount, 1);
  });

  it('a deleted user can no longer be added to a group, nor get a token', async () => {
    const [user] = await createUsers(server, 1, tenantId);
    const group = await createGroup(server, { tenantId });
    await gqlOk(server, `mutation { deleteUser(id: "${user!.id}") }`);
    expectError(
      await gql(server, 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }', { g: group.id, u: [user!.id] }),
      'NOT_FOUND',
    );
    assert.deepEqual(await memberIds(server, group.id), []);
    const token = await fetch(`${server.url}/v01/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body: JSON.stringify({ userId: user!.id }),
    });
    assert.equal(token.status, 404);
  });

  it('the reference and email of a deleted user are free again', async () => {
    const [user] = await createUsers(server, 1, tenantId);
    await gqlOk(server, `mutation { deleteUser(id: "${user!.id}") }`);
    const again = await gqlOk<{ createUser: { id: string } }>(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', {
      u: { reference: user!.reference, email: user!.email, tenantId },
    });
    assert.notEqual(again.createUser.id, user!.id);
  });

  it('deleteUserGroup removes the group and its memberships, not its users', async () => {
    const users = await createUsers(server, 2, tenantId);
    const group = await createGroup(server, { tenantId });
    const other = await createGroup(server, { tenantId });
    await addMembers(server, group.id, users.map((u) => u.id));
    await addMembers(server, other.id, [users[0]!.id]);
    await addManagers(server, group.id, [users[1]!.id]);
    const groupsBefore = await countGroups(server, tenantId);
    const usersBefore = await countUsers(server, tenantId);

    assert.deepEqual(await gqlOk(server, `mutation { deleteUserGroup(id: "${group.id}") }`), { deleteUserGroup: true });

    expectError(await gql(server, `{ userGroup(id: "${group.id}") { id } }`), 'NOT_FOUND');
    expectError(await gql(server, `mutation { deleteUserGroup(id: "${group.id}") }`), 'NOT_FOUND');
    expectError(await gql(server, `{ userGroupMembers(groupId: "${group.id}") { edges { cursor } } }`), 'NOT_FOUND');
    expectError(
      await gql(server, 'mutation($g: UUID, $u: [UUID!]) { addUsersToGroup(groupId: $g, userIds: $u) { addedIds } }', { g: group.id, u: [users[0]!.id] }),
      'NOT_FOUND',
    );
    assert.equal(await countGroups(server, tenantId), groupsBefore - 1);
    assert.equal(await countUsers(server, tenantId), usersBefore);

    const groupsOf = await gqlOk<{ users: { data: { id: string; userGroups: { data: { id: string }[] } }[] } }>(
      server,
      `query($ids: [ID!]) { users(filter: { id: { valueIn: $ids } }, order: { order: ASC, sort: createdAt }) { data { id userGroups { data { id } } } } }`,
      { ids: users.map((u) => u.id) },
    );
    assert.deepEqual(
      groupsOf.users.data.map((u) => u.userGroups.data.map((g) => g.id)),
      [[other.id], []],
    );
    const byGroup = await gqlOk<{ users: { totalCount: number } }>(server, `{ users(filter: { userGroupId: { equalTo: "${group.id}" } }) { totalCount } }`);
    assert.equal(byGroup.users.totalCount, 0);
  });
});
