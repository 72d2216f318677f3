/**
 * What a user token (POST /v01/authorize) may do: read itself, the groups it participates in or manages, and,
 * as a group manager, change that group's participants; nothing else, and never across tenants.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import {
  addManagers,
  addMembers,
  createGroup,
  createTenant,
  createUsers,
  expectError,
  gql,
  gqlOk,
  managerIds,
  memberIds,
  userToken,
  type CreatedGroup,
  type CreatedUser,
} from './helpers/roster.ts';

const ROQ_ADD = 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }';
const ROQ_REMOVE = 'mutation($g: ID!, $u: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $u) }';
const PLUVO_ADD = 'mutation($g: UUID, $r: String, $u: [UUID!], $refs: [String!]) { addUsersToGroup(groupId: $g, groupRef: $r, userIds: $u, userRefs: $refs) { addedIds alreadyAddedIds failedIds failures { input code } } }';
const PLUVO_REMOVE = 'mutation($g: UUID, $u: [UUID!]) { removeUsersFromGroup(groupId: $g, userIds: $u) { removedIds alreadyRemovedIds failedIds } }';
const ADD_MANAGERS = 'mutation($g: UUID, $u: [UUID!]) { addManagersToGroup(groupId: $g, userIds: $u) { response { succeededIds } } }';
const REMOVE_MANAGERS = 'mutation($g: UUID, $u: [UUID!]) { removeManagersFromGroup(groupId: $g, userIds: $u) { response { succeededIds } } }';

describe('user tokens', () => {
  let server: TestServer;
  // In tenant A: `me` participates in `memberOf`, manages `managed`, and has nothing to do with `unrelated`.
  let me: CreatedUser;
  let peer: CreatedUser;
  let outsider: CreatedUser;
  let foreign: CreatedUser;
  let memberOf: CreatedGroup;
  let managed: CreatedGroup;
  let unrelated: CreatedGroup;
  let foreignGroup: CreatedGroup;
  let myToken: string;
  let peerToken: string;

  before(async () => {
    server = await startServer();
    const tenantA = await createTenant(server);
    const tenantB = await createTenant(server);
    [me, peer, outsider] = (await createUsers(server, 3, tenantA)) as [CreatedUser, CreatedUser, CreatedUser];
    [foreign] = (await createUsers(server, 1, tenantB)) as [CreatedUser];
    memberOf = await createGroup(server, { tenantId: tenantA });
    managed = await createGroup(server, { tenantId: tenantA });
    unrelated = await createGroup(server, { tenantId: tenantA });
    foreignGroup = await createGroup(server, { tenantId: tenantB });
    await addMembers(server, memberOf.id, [me.id, peer.id]);
    await addManagers(server, managed.id, [me.id]);
    await addMembers(server, managed.id, [peer.id]);
    await addMembers(server, foreignGroup.id, [foreign.id]);
    myToken = await userToken(server, me.id);
    peerToken = await userToken(server, peer.id);
  });
  after(() => server.close());

  it('reads its own user record, with its groups', async () => {
    const data = await gqlOk<{ user: { id: string; email: string; userGroups: { data: { id: string }[] } } }>(
      server,
      `{ user(id: "${me.id}") { id email userGroups { data { id } } } }`,
      undefined,
      { token: myToken },
    );
    assert.equal(data.user.id, me.id);
    assert.equal(data.user.email, me.email);
    assert.deepEqual(data.user.userGroups.data.map((g) => g.id), [memberOf.id]);
  });

  it("another user's record is FORBIDDEN, in its tenant or another", async () => {
    for (const other of [peer, foreign]) {
      const res = await gql(server, `{ user(id: "${other.id}") { id email } }`, undefined, { token: myToken });
      expectError(res, 'FORBIDDEN');
      assert.equal(res.status, 403);
    }
  });

  it('listing users is FORBIDDEN', async () => {
    const res = await gql(server, '{ users { data { id } totalCount } }', undefined, { token: myToken });
    expectError(res, 'FORBIDDEN');
    assert.equal(res.status, 403);
  });

  it('userGroups lists exactly the groups it participates in or manages', async () => {
    const data = await gqlOk<{ userGroups: { data: { id: string }[]; totalCount: number } }>(
      server,
      '{ userGroups { data { id } totalCount } }',
      undefined,
      { token: myToken },
    );
    assert.deepEqual(data.userGroups.data.map((g) => g.id).sort(), [memberOf.id, managed.id].sort());
    assert.equal(data.userGroups.totalCount, 2);
    // Asking for another tenant explicitly changes nothing.
    const filtered = await gqlOk<{ userGroups: { totalCount: number } }>(
      server,
      `{ userGroups(filter: { tenantId: { equalTo: "${foreignGroup.tenantId}" } }) { totalCount } }`,
      undefined,
      { token: myToken },
    );
    assert.equal(filtered.userGroups.totalCount, 0);
  });

  it('userGroup of a group of another tenant is NOT_FOUND; of an unrelated group, refused', async () => {
    const res = await gql(server, `{ userGroup(id: "${foreignGroup.id}") { id name } }`, undefined, { token: myToken });
    expectError(res, 'NOT_FOUND');
    assert.equal(res.status, 404);
    const unrelatedRes = await gql(server, `{ userGroup(id: "${unrelated.id}") { id name } }`, undefined, { token: myToken });
    assert.ok(['FORBIDDEN', 'NOT_FOUND'].includes(unrelatedRes.errors?.[0]?.extensions.code ?? ''), JSON.stringify(unrelatedRes));
    assert.equal(unrelatedRes.data, null);
    const ok = await gqlOk<{ userGroup: { id: string } }>(server, `{ userGroup(id: "${managed.id}") { id } }`, undefined, { token: myToken });
    assert.equal(ok.userGroup.id, managed.id);
  });

  it('a manager adds and removes participants of its group (ROQ)', async () => {
    assert.deepEqual((await gql(server, ROQ_ADD, { g: managed.id, u: [outsider.id] }, { token: myToken })).data, { addUsersToUserGroup: true });
    assert.deepEqual(await memberIds(server, managed.id), [peer.id, outsider.id].sort());
    assert.deepEqual((await gql(server, ROQ_REMOVE, { g: managed.id, u: [outsider.id] }, { token: myToken })).data, { removeUsersFromUserGroup: true });
    assert.deepEqual(await memberIds(server, managed.id), [peer.id]);
  });

  it('a manager adds and removes participants of its group (Pluvo), by id or by ref in its own tenant', async () => {
    const added = await gqlOk<{ addUsersToGroup: { addedIds: string[] } }>(server, PLUVO_ADD, { r: managed.reference, refs: [outsider.reference] }, { token: myToken });
    assert.deepEqual(added.addUsersToGroup.addedIds, [outsider.id]);
    const removed = await gqlOk<{ removeUsersFromGroup: { removedIds: string[] } }>(server, PLUVO_REMOVE, { g: managed.id, u: [outsider.id] }, { token: myToken });
    assert.deepEqual(removed.removeUsersFromGroup.removedIds, [outsider.id]);
    assert.deepEqual(await memberIds(server, managed.id), [peer.id]);
  });

  it("a manager cannot add a user of another tenant: NOT_FOUND, nothing added, the tenant not revealed", async () => {
    expectError(await gql(server, ROQ_ADD, { g: managed.id, u: [foreign.id] }, { token: myToken }), 'NOT_FOUND');
    const pluvo = await gqlOk<{ addUsersToGroup: { addedIds: string[]; failures: { input: string; code: string }[] } }>(
      server,
      PLUVO_ADD,
      { g: managed.id, u: [foreign.id] },
      { token: myToken },
    );
    assert.deepEqual(pluvo.addUsersToGroup.addedIds, []);
    assert.deepEqual(pluvo.addUsersToGroup.failures, [{ input: foreign.id, code: 'NOT_FOUND' }]);
    assert.deepEqual(await memberIds(server, managed.id), [peer.id]);
    // Nor reach a group of another tenant.
    expectError(await gql(server, ROQ_ADD, { g: foreignGroup.id, u: [me.id] }, { token: myToken }), 'NOT_FOUND');
    assert.deepEqual(await memberIds(server, foreignGroup.id), [foreign.id]);
  });

  it('a non-manager is FORBIDDEN to change participants, and nothing changes', async () => {
    // peer participates in `managed` but does not manage it; nobody manages `memberOf`.
    for (const [query, vars] of [
      [ROQ_ADD, { g: managed.id, u: [outsider.id] }],
      [ROQ_REMOVE, { g: managed.id, u: [peer.id] }],
      [PLUVO_ADD, { g: managed.id, u: [outsider.id] }],
      [PLUVO_REMOVE, { g: managed.id, u: [peer.id] }],
      [ROQ_ADD, { g: memberOf.id, u: [outsider.id] }],
    ] as const) {
      const res = await gql(server, query, vars, { token: peerToken });
      expectError(res, 'FORBIDDEN');
    }
    expectError(await gql(server, ROQ_ADD, { g: memberOf.id, u: [outsider.id] }, { token: myToken }), 'FORBIDDEN');
    assert.deepEqual(await memberIds(server, managed.id), [peer.id]);
    assert.deepEqual(await memberIds(server, memberOf.id), [me.id, peer.id].sort());
  });

  it('managers cannot be changed with a user token, not even by a manager', async () => {
    for (const [query, vars] of [
      [ADD_MANAGERS, { g: managed.id, u: [peer.id] }],
      [REMOVE_MANAGERS, { g: managed.id, u: [me.id] }],
    ] as const) {
      expectError(await gql(server, query, vars, { token: myToken }), 'FORBIDDEN');
      expectError(await gql(server, query, vars, { token: peerToken }), 'FORBIDDEN');
    }
    assert.deepEqual(await managerIds(server, managed.id), [me.id]);
  });

  it('writes reserved to the super-admin are FORBIDDEN', async () => {
    for (const query of [
      'mutation { createUser(user: { reference: "tok-x", email: "tok-x@example.test" }) { id } }',
      `mutation { updateUser(id: "${me.id}", user: { firstName: "Self" }) { id } }`,
      `mutation { deleteUser(id: "${peer.id}") }`,
      'mutation { createUserGroup(userGroup: { name: "tok", reference: "tok" }) { id } }',
      `mutation { deleteUserGroup(id: "${managed.id}") }`,
      'mutation { createTenant(tenant: { name: "tok" }) { id } }',
    ]) {
      expectError(await gql(server, query, undefined, { token: myToken }), 'FORBIDDEN');
    }
    const still = await gqlOk<{ user: { firstName: string | null } }>(server, `{ user(id: "${me.id}") { firstName } }`);
    assert.equal(still.user.firstName, null);
  });
});
