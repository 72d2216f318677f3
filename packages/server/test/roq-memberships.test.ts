/**
 * ROQ addUsersToUserGroup / removeUsersFromUserGroup are all or nothing: one unknown or other-tenant user id
 * rejects the whole call with NOT_FOUND and changes nothing; re-adding a member or removing a non-member is a
 * no-op that still answers true.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { createGroup, createTenant, createUsers, expectError, gql, gqlOk, memberIds } from './helpers/roster.ts';

const ADD = 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }';
const REMOVE = 'mutation($g: ID!, $u: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $u) }';
const UNKNOWN = '00000000-0000-4000-8000-00000000abcd';

describe('ROQ membership mutations', () => {
  let server: TestServer;
  let tenantId: string;
  let otherTenantId: string;

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
    otherTenantId = await createTenant(server);
  });
  after(() => server.close());

  const add = (groupId: string, userIds: string[]) => gql<{ addUsersToUserGroup: boolean }>(server, ADD, { g: groupId, u: userIds });
  const remove = (groupId: string, userIds: string[]) => gql<{ removeUsersFromUserGroup: boolean }>(server, REMOVE, { g: groupId, u: userIds });

  it('adds and removes users', async () => {
    const group = await createGroup(server, { tenantId });
    const users = await createUsers(server, 3, tenantId);
    const ids = users.map((u) => u.id);
    assert.deepEqual((await add(group.id, ids)).data, { addUsersToUserGroup: true });
    assert.deepEqual(await memberIds(server, group.id), [...ids].sort());
    assert.deepEqual((await remove(group.id, [ids[0]!, ids[2]!])).data, { removeUsersFromUserGroup: true });
    assert.deepEqual(await memberIds(server, group.id), [ids[1]]);
  });

  it('one unknown user id rejects the whole add: NOT_FOUND naming it, nobody added', async () => {
    const group = await createGroup(server, { tenantId });
    const users = await createUsers(server, 3, tenantId);
    const res = await add(group.id, [users[0]!.id, UNKNOWN, users[1]!.id]);
    const error = expectError(res, 'NOT_FOUND', UNKNOWN);
    assert.match(error.message, /userIds/);
    assert.deepEqual(await memberIds(server, group.id), []);
  });

  it('a user of another tenant rejects the whole add: NOT_FOUND, nobody added', async () => {
    const group = await createGroup(server, { tenantId });
    const [mine] = await createUsers(server, 1, tenantId);
    const [foreign] = await createUsers(server, 1, otherTenantId);
    const res = await add(group.id, [mine!.id, foreign!.id]);
    expectError(res, 'NOT_FOUND', foreign!.id);
    assert.deepEqual(await memberIds(server, group.id), []);
    // Nothing leaks into the other tenant's view of the user either.
    const groupsOfForeign = await gqlOk<{ user: { userGroups: { totalCount: number } } }>(
      server,
      `{ user(id: "${foreign!.id}") { userGroups { totalCount } } }`,
    );
    assert.equal(groupsOfForeign.user.userGroups.totalCount, 0);
  });

  it('a rejected add leaves existing members in place', async () => {
    const group = await createGroup(server, { tenantId });
    const users = await createUsers(server, 3, tenantId);
    await add(group.id, [users[0]!.id]);
    expectError(await add(group.id, [users[1]!.id, UNKNOWN]), 'NOT_FOUND');
    assert.deepEqual(await memberIds(server, group.id), [users[0]!.id]);
  });

  it('one unknown or foreign id rejects the whole remove: nobody removed', async () => {
    const group = await createGroup(server, { tenantId });
    const users = await createUsers(server, 2, tenantId);
    const [foreign] = await createUsers(server, 1, otherTenantId);
    const ids = users.map((u) => u.id);
    await add(group.id, ids);
    expectError(await remove(group.id, [ids[0]!, UNKNOWN]), 'NOT_FOUND', UNKNOWN);
    expectError(await remove(group.id, [ids[0]!, foreign!.id]), 'NOT_FOUND', foreign!.id);
    assert.deepEqual(await memberIds(server, group.id), [...ids].sort());
  });

  it('adding an existing member again is a no-op returning true (its addedAt is kept)', async () => {
    const group = await createGroup(server, { tenantId });
    const users = await createUsers(server, 2, tenantId);
    await add(group.id, [users[0]!.id]);
    const members = `{ userGroupMembers(groupId: "${group.id}") { edges { node { id } addedAt } } }`;
    const first = await gqlOk<{ userGroupMembers: { edges: { node: { id: string }; addedAt: string }[] } }>(server, members);

    assert.deepEqual((await add(group.id, [users[0]!.id, users[0]!.id, users[1]!.id])).data, { addUsersToUserGroup: true });
    assert.deepEqual((await add(group.id, [users[0]!.id])).data, { addUsersToUserGroup: true });
    assert.deepEqual(await memberIds(server, group.id), users.map((u) => u.id).sort());
    const second = await gqlOk<{ userGroupMembers: { edges: { node: { id: string }; addedAt: string }[] } }>(server, members);
    assert.equal(second.userGroupMembers.edges.length, 2);
    assert.deepEqual(second.userGroupMembers.edges[0], first.userGroupMembers.edges[0]);
  });

  it('removing a non-member is a no-op returning true', async () => {
    const group = await createGroup(server, { tenantId });
    const users = await createUsers(server, 2, tenantId);
    await add(group.id, [users[0]!.id]);
    assert.deepEqual((await remove(group.id, [users[1]!.id])).data, { removeUsersFromUserGroup: true });
    assert.deepEqual(await memberIds(server, group.id), [users[0]!.id]);
    assert.deepEqual((await remove(group.id, [users[0]!.id, users[0]!.id])).data, { removeUsersFromUserGroup: true });
    assert.deepEqual((await remove(group.id, [users[0]!.id])).data, { removeUsersFromUserGroup: true });
    assert.deepEqual(await memberIds(server, group.id), []);
  });

  it('an empty list is a no-op; an unknown group is NOT_FOUND', async () => {
    const group = await createGroup(server, { tenantId });
    assert.deepEqual((await add(group.id, [])).data, { addUsersToUserGroup: true });
    const [user] = await createUsers(server, 1, tenantId);
    expectError(await add(UNKNOWN, [user!.id]), 'NOT_FOUND', 'userGroupId');
    expectError(await remove(UNKNOWN, [user!.id]), 'NOT_FOUND');
  });
});
