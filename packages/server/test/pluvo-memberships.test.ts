/**
 * The Pluvo dialect (seed 003): addUsersToGroup / removeUsersFromGroup / addManagersToGroup /
 * removeManagersFromGroup report per user what changed, what already was so and what failed, instead of
 * rejecting the call. Ids and refs are unioned and de-duplicated; managers are independent of participants.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { createGroup, createTenant, createUser, createUsers, expectError, gql, gqlOk, managerIds, memberIds, type CreatedUser } from './helpers/roster.ts';

interface Failure { input: string; code: string; message: string }
interface AddResult { addedIds: string[]; alreadyAddedIds: string[]; failedIds: string[]; failures: Failure[] }
interface RemoveResult { removedIds: string[]; alreadyRemovedIds: string[]; failedIds: string[]; failures: Failure[] }
interface BulkResult { response: { succeededIds: string[]; failedIds: string[]; failures: Failure[] } }

const ARGS = '$groupId: UUID, $groupRef: String, $userIds: [UUID!], $userRefs: [String!], $tenantId: UUID';
const PASS = 'groupId: $groupId, groupRef: $groupRef, userIds: $userIds, userRefs: $userRefs, tenantId: $tenantId';
const FAILURES = 'failures { input code message }';
const ADD = `mutation(${ARGS}) { addUsersToGroup(${PASS}) { addedIds alreadyAddedIds failedIds ${FAILURES} } }`;
const REMOVE = `mutation(${ARGS}) { removeUsersFromGroup(${PASS}) { removedIds alreadyRemovedIds failedIds ${FAILURES} } }`;
const ADD_MANAGERS = `mutation(${ARGS}) { addManagersToGroup(${PASS}) { response { succeededIds failedIds ${FAILURES} } } }`;
const REMOVE_MANAGERS = `mutation(${ARGS}) { removeManagersFromGroup(${PASS}) { response { succeededIds failedIds ${FAILURES} } } }`;
const UNKNOWN = '00000000-0000-4000-8000-0000000000ff';

type Vars = { groupId?: string; groupRef?: string; userIds?: string[]; userRefs?: string[]; tenantId?: string };

const sorted = (ids: readonly (string | null)[] | null | undefined) => [...(ids ?? [])].sort();

describe('Pluvo membership mutations', () => {
  let server: TestServer;
  let tenantId: string;
  let otherTenantId: string;

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
    otherTenantId = await createTenant(server);
  });
  after(() => server.close());

  const addUsers = async (v: Vars) => (await gqlOk<{ addUsersToGroup: AddResult }>(server, ADD, v)).addUsersToGroup;
  const removeUsers = async (v: Vars) => (await gqlOk<{ removeUsersFromGroup: RemoveResult }>(server, REMOVE, v)).removeUsersFromGroup;
  const addManagers = async (v: Vars) => (await gqlOk<{ addManagersToGroup: BulkResult }>(server, ADD_MANAGERS, v)).addManagersToGroup.response;
  const removeManagers = async (v: Vars) =>
    (await gqlOk<{ removeManagersFromGroup: BulkResult }>(server, REMOVE_MANAGERS, v)).removeManagersFromGroup.response;

  it('addUsersToGroup unions ids and refs, de-duplicated, and reports already-added users', async () => {
    const group = await createGroup(server, { tenantId });
    const [a, b, c] = (await createUsers(server, 3, tenantId)) as [CreatedUser, CreatedUser, CreatedUser];
    const first = await addUsers({ groupId: group.id, userIds: [a.id, a.id, b.id], userRefs: [b.reference, c.reference, c.reference] });
    assert.deepEqual(sorted(first.addedIds), sorted([a.id, b.id, c.id]));
    assert.equal(first.addedIds.length, 3);
    assert.deepEqual(first.alreadyAddedIds, []);
    assert.deepEqual(first.failedIds, []);
    assert.deepEqual(first.failures, []);
    assert.deepEqual(await memberIds(server, group.id), sorted([a.id, b.id, c.id]));

    const again = await addUsers({ groupId: group.id, userIds: [a.id], userRefs: [c.reference] });
    assert.deepEqual(again.addedIds, []);
    assert.deepEqual(sorted(again.alreadyAddedIds), sorted([a.id, c.id]));
    assert.deepEqual(again.failedIds, []);
  });

  it('ids in upper case name the same group, tenant and user', async () => {
    const group = await createGroup(server, { tenantId });
    const user = await createUser(server, { tenantId });
    const result = await addUsers({ groupId: group.id.toUpperCase(), tenantId: tenantId.toUpperCase(), userIds: [user.id.toUpperCase(), user.id] });
    assert.deepEqual(result.addedIds, [user.id]);
    assert.deepEqual(result.failedIds, []);
    assert.deepEqual(await memberIds(server, group.id), [user.id]);
    const byRef = await removeUsers({ groupRef: group.reference, tenantId: tenantId.toUpperCase(), userIds: [user.id.toUpperCase()] });
    assert.deepEqual(byRef.removedIds, [user.id]);
  });

  it('unknown users fail one by one with NOT_FOUND, inputs exactly as given; the others are added', async () => {
    const group = await createGroup(server, { tenantId });
    const user = await createUser(server, { tenantId });
    const unknownUpper = UNKNOWN.replace(/f/g, 'F');
    const result = await addUsers({ groupId: group.id, userIds: [user.id, unknownUpper], userRefs: ['No-Such-Ref'] });
    assert.deepEqual(result.addedIds, [user.id]);
    assert.deepEqual(result.alreadyAddedIds, []);
    assert.deepEqual(sorted(result.failedIds), sorted([unknownUpper, 'No-Such-Ref']));
    assert.deepEqual(
      result.failures.map((f) => [f.input, f.code]).sort(),
      [[unknownUpper, 'NOT_FOUND'], ['No-Such-Ref', 'NOT_FOUND']].sort(),
    );
    for (const failure of result.failures) assert.ok(failure.message.length > 0);
    assert.deepEqual(await memberIds(server, group.id), [user.id]);
  });

  it('a user of another tenant fails with OTHER_TENANT for the super-admin, and is not added', async () => {
    const group = await createGroup(server, { tenantId });
    const mine = await createUser(server, { tenantId });
    const foreign = await createUser(server, { tenantId: otherTenantId });
    const result = await addUsers({ groupId: group.id, userIds: [mine.id, foreign.id] });
    assert.deepEqual(result.addedIds, [mine.id]);
    assert.deepEqual(result.failedIds, [foreign.id]);
    assert.deepEqual(result.failures.map((f) => [f.input, f.code]), [[foreign.id, 'OTHER_TENANT']]);
    assert.deepEqual(await memberIds(server, group.id), [mine.id]);
    // By reference, the foreign user is simply not in the group's tenant.
    const byRef = await addUsers({ groupId: group.id, userRefs: [foreign.reference] });
    assert.deepEqual(byRef.failures.map((f) => [f.input, f.code]), [[foreign.reference, 'NOT_FOUND']]);
    assert.deepEqual(await memberIds(server, group.id), [mine.id]);
    const managers = await addManagers({ groupId: group.id, userIds: [foreign.id] });
    assert.deepEqual(managers.failures.map((f) => [f.input, f.code]), [[foreign.id, 'OTHER_TENANT']]);
    assert.deepEqual(await managerIds(server, group.id), []);
  });

  it('groupRef and user refs are looked up in the tenantId argument', async () => {
    const groupA = await createGroup(server, { tenantId });
    // The same group reference and user reference exist in the other tenant too.
    const groupB = await createGroup(server, { tenantId: otherTenantId, reference: groupA.reference, name: 'B' });
    const userA = await createUser(server, { tenantId });
    const userB = await createUser(server, { tenantId: otherTenantId, reference: userA.reference });
    const result = await addUsers({ groupRef: groupA.reference, tenantId: otherTenantId, userRefs: [userA.reference] });
    assert.deepEqual(result.addedIds, [userB.id]);
    assert.deepEqual(await memberIds(server, groupB.id), [userB.id]);
    assert.deepEqual(await memberIds(server, groupA.id), []);
  });

  it('without tenantId, the super-admin addresses the default tenant by ref', async () => {
    const group = await createGroup(server);
    const user = await createUser(server);
    const result = await addUsers({ groupRef: group.reference, userRefs: [user.reference] });
    assert.deepEqual(result.addedIds, [user.id]);
    // A group of another tenant is not found by ref without its tenantId.
    const tenantGroup = await createGroup(server, { tenantId });
    const res = await gql(server, ADD, { groupRef: tenantGroup.reference, userRefs: [user.reference] });
    expectError(res, 'NOT_FOUND', 'groupRef');
  });

  it('groupId and groupRef must name the same group; one of them is required', async () => {
    const group = await createGroup(server, { tenantId });
    const other = await createGroup(server, { tenantId });
    const user = await createUser(server, { tenantId });
    const same = await addUsers({ groupId: group.id, groupRef: group.reference, tenantId, userIds: [user.id] });
    assert.deepEqual(same.addedIds, [user.id]);

    const mismatch = await gql(server, ADD, { groupId: group.id, groupRef: other.reference, tenantId, userIds: [user.id] });
    expectError(mismatch, 'BAD_USER_INPUT', 'groupRef');
    assert.deepEqual(await memberIds(server, other.id), []);

    const neither = await gql(server, ADD, { userIds: [user.id] });
    expectError(neither, 'BAD_USER_INPUT', 'groupId');
    for (const mutation of [REMOVE, ADD_MANAGERS, REMOVE_MANAGERS]) {
      expectError(await gql(server, mutation, { userIds: [user.id] }), 'BAD_USER_INPUT', 'groupId');
    }
  });

  it('a groupId with a tenantId of another tenant is NOT_FOUND', async () => {
    const group = await createGroup(server, { tenantId });
    const user = await createUser(server, { tenantId });
    expectError(await gql(server, ADD, { groupId: group.id, tenantId: otherTenantId, userIds: [user.id] }), 'NOT_FOUND', 'groupId');
    assert.deepEqual(await memberIds(server, group.id), []);
  });

  it('removeUsersFromGroup reports removed, already removed and failed users', async () => {
    const group = await createGroup(server, { tenantId });
    const [a, b, c] = (await createUsers(server, 3, tenantId)) as [CreatedUser, CreatedUser, CreatedUser];
    await addUsers({ groupId: group.id, userIds: [a.id, b.id] });
    const result = await removeUsers({ groupId: group.id, userIds: [a.id, c.id, UNKNOWN], userRefs: [b.reference, a.reference, 'gone-ref'] });
    assert.deepEqual(sorted(result.removedIds), sorted([a.id, b.id]));
    assert.deepEqual(result.alreadyRemovedIds, [c.id]);
    assert.deepEqual(sorted(result.failedIds), sorted([UNKNOWN, 'gone-ref']));
    assert.deepEqual(result.failures.map((f) => f.code), ['NOT_FOUND', 'NOT_FOUND']);
    assert.deepEqual(await memberIds(server, group.id), []);
  });

  it('managers are independent of participants', async () => {
    const group = await createGroup(server, { tenantId });
    const [both, managerOnly, participantOnly] = (await createUsers(server, 3, tenantId)) as [CreatedUser, CreatedUser, CreatedUser];
    await addUsers({ groupId: group.id, userIds: [both.id, participantOnly.id] });
    const added = await addManagers({ groupId: group.id, userIds: [both.id], userRefs: [managerOnly.reference] });
    assert.deepEqual(sorted(added.succeededIds), sorted([both.id, managerOnly.id]));
    assert.deepEqual(added.failedIds, []);
    // Adding again succeeds (already a manager).
    const again = await addManagers({ groupId: group.id, userIds: [both.id, UNKNOWN] });
    assert.deepEqual(again.succeededIds, [both.id]);
    assert.deepEqual(again.failedIds, [UNKNOWN]);
    assert.deepEqual(again.failures.map((f) => f.code), ['NOT_FOUND']);

    const view = await gqlOk<{ userGroup: { users: { data: { id: string }[]; totalCount: number }; managers: { data: { id: string }[]; totalCount: number } } }>(
      server,
      `{ userGroup(id: "${group.id}") { users { data { id } totalCount } managers { data { id } totalCount } } }`,
    );
    assert.deepEqual(sorted(view.userGroup.users.data.map((u) => u.id)), sorted([both.id, participantOnly.id]));
    assert.equal(view.userGroup.users.totalCount, 2);
    assert.deepEqual(sorted(view.userGroup.managers.data.map((u) => u.id)), sorted([both.id, managerOnly.id]));
    assert.equal(view.userGroup.managers.totalCount, 2);

    // Removing as participant keeps the manager link, and vice versa.
    const removed = await removeUsers({ groupId: group.id, userIds: [both.id] });
    assert.deepEqual(removed.removedIds, [both.id]);
    assert.deepEqual(await managerIds(server, group.id), sorted([both.id, managerOnly.id]));
    assert.deepEqual(await memberIds(server, group.id), [participantOnly.id]);

    const unmanaged = await removeManagers({ groupId: group.id, userIds: [managerOnly.id, participantOnly.id] });
    assert.deepEqual(sorted(unmanaged.succeededIds), sorted([managerOnly.id, participantOnly.id]));
    assert.deepEqual(unmanaged.failedIds, []);
    assert.deepEqual(await managerIds(server, group.id), [both.id]);
    assert.deepEqual(await memberIds(server, group.id), [participantOnly.id]);
  });

  it('the userGroupId filter matches participants, not managers', async () => {
    const group = await createGroup(server, { tenantId });
    const manager = await createUser(server, { tenantId });
    await addManagers({ groupId: group.id, userIds: [manager.id] });
    const byGroup = await gqlOk<{ users: { totalCount: number } }>(
      server,
      `{ users(filter: { userGroupId: { equalTo: "${group.id}" } }) { totalCount } }`,
    );
    assert.equal(byGroup.users.totalCount, 0);
  });
});
