/**
 * Every example of the seed API documents (seeds/000–004) through `@roster/client` against a real Roster: the
 * ROQ call shapes of 000–002 (user groups, users, deactivation), the Pluvo membership mutations of 003 (by id and
 * by ref, managers apart from participants), and the Spotnana REST walkthrough of 004 under `session.rest`; then
 * `asUser` (a user sees its tenant only) and `withToken`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RosterClient, RosterError, type RosterSession } from '../src/index.ts';
import { startServer, unique, type TestServer } from '../../server/test/helpers/server.ts';

const NIL = '00000000-0000-4000-8000-000000000000';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Asserts that `promise` rejects with a RosterError of `code` and `status`; returns it. */
async function rejectsWith(promise: Promise<unknown>, code: string, status: number): Promise<RosterError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RosterError, `expected a RosterError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status, error.message);
    return error;
  }
  assert.fail(`expected ${code} (${status}), but the call succeeded`);
}

const sorted = (ids: readonly (string | null)[]): string[] => ids.filter((id): id is string => id !== null).sort();

describe('seed examples through @roster/client', () => {
  let server: TestServer;
  let client: RosterClient;
  let admin: RosterSession;

  const createTenant = async (name = unique('Company')) => (await admin.createTenant({ tenant: { name } })).createTenant.id;
  const createUser = async (fields: { tenantId?: string; reference?: string } = {}) => {
    const reference = fields.reference ?? unique('user');
    const { createUser: user } = await admin.createUser({ user: { reference, email: `${reference}@example.com`, ...(fields.tenantId ? { tenantId: fields.tenantId } : {}) } });
    return user;
  };
  /** A user token as a back end would obtain it for its browser: `POST /v01/authorize` with the API key. */
  const issueToken = async (userId: string): Promise<string> => {
    const res = await fetch(`${server.url}/v01/authorize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { accessToken: string }).accessToken;
  };

  before(async () => {
    server = await startServer();
    client = new RosterClient({ url: server.url, apiKey: server.apiKey });
    admin = client.asSuperAdmin();
  });
  after(() => server.close());

  describe('000 user groups (ROQ)', () => {
    it('createUserGroup, addUsersToUserGroup, updateUserGroup, userGroups with users, users by group, userGroup, removeUsersFromUserGroup', async () => {
      const [first, second] = [await createUser(), await createUser()];
      const name = unique('xyz789');
      const created = await admin.createUserGroup({ userGroup: { name, reference: name } });
      assert.equal(created.createUserGroup.name, name);
      assert.equal(created.createUserGroup.reference, name);
      assert.match(created.createUserGroup.id, UUID);
      const groupId = created.createUserGroup.id;

      assert.deepEqual(await admin.addUsersToUserGroup({ userGroupId: groupId, userIds: [first.id, second.id] }), { addUsersToUserGroup: true });

      const updateGroup = await admin.updateUserGroup({ id: groupId, userGroup: { name: `Video Creator ${name}`, reference: `video-creator-group-${name}` } });
      assert.equal(updateGroup.updateUserGroup.id, groupId);
      assert.equal(updateGroup.updateUserGroup.name, `Video Creator ${name}`);
      assert.equal(updateGroup.updateUserGroup.reference, `video-creator-group-${name}`);

      // `like` takes the caller's wildcards; without any it is an exact, case-sensitive match.
      const groups = await admin.userGroups({ filter: { name: { like: `Video Creator ${name}` } }, withUsers: true });
      assert.equal(groups.userGroups.totalCount, 1);
      const [group] = groups.userGroups.data;
      assert.ok(group);
      assert.equal(group.id, groupId);
      assert.equal(group.users?.totalCount, 2);
      assert.deepEqual(sorted(group.users?.data.map((u) => u.id) ?? []), sorted([first.id, second.id]));
      const wildcard = await admin.userGroups({ filter: { name: { like: `Video Creator ${name.slice(0, -3)}%` } } });
      assert.deepEqual(wildcard.userGroups.data.map((g) => g.id), [groupId]);
      assert.equal((await admin.userGroups({ filter: { name: { like: `video creator ${name}` } } })).userGroups.totalCount, 0);

      const byGroup = await admin.users({ filter: { userGroupId: { equalTo: groupId } } });
      assert.equal(byGroup.users.totalCount, 2);
      assert.deepEqual(sorted(byGroup.users.data.map((u) => u.id)), sorted([first.id, second.id]));

      // The seed writes userGroup(groupId) with the bare id; the ROQ SDK takes { id }. Both work.
      const mygroup = await admin.userGroup(groupId);
      assert.equal(mygroup.userGroup.id, groupId);
      assert.equal(mygroup.userGroup.name, `Video Creator ${name}`);
      const withId = await admin.userGroup({ id: groupId, withUsers: true, withUserGroupType: true });
      assert.equal(withId.userGroup.id, groupId);
      assert.equal(withId.userGroup.users?.totalCount, 2);

      const removeStatus = await admin.removeUsersFromUserGroup({ userGroupId: groupId, userIds: [first.id] });
      assert.deepEqual(removeStatus, { removeUsersFromUserGroup: true });
      const after = await admin.users({ filter: { userGroupId: { equalTo: groupId } } });
      assert.deepEqual(after.users.data.map((u) => u.id), [second.id]);
      // Removing a non-member is a no-op that still answers true.
      assert.deepEqual(await admin.removeUsersFromUserGroup({ userGroupId: groupId, userIds: [first.id] }), { removeUsersFromUserGroup: true });
    });

    it('the iterators page through a group’s members and through every group', async () => {
      const members = [await createUser(), await createUser(), await createUser()];
      const ref = unique('paged');
      const { createUserGroup } = await admin.createUserGroup({ userGroup: { name: ref, reference: ref } });
      await admin.addUsersToUserGroup({ userGroupId: createUserGroup.id, userIds: members.map((u) => u.id) });
      const seen: string[] = [];
      for await (const edge of admin.iterateUserGroupMembers({ groupId: createUserGroup.id, pageSize: 2 })) seen.push(edge.node.id);
      assert.deepEqual(seen, members.map((u) => u.id), 'in the order they were added');
      const byGroup: string[] = [];
      for await (const user of admin.iterateUsers({ filter: { userGroupId: { equalTo: createUserGroup.id } }, pageSize: 1 })) byGroup.push(user.id);
      assert.deepEqual(byGroup.sort(), members.map((u) => u.id).sort());
    });
  });

  describe('001/002 users (ROQ)', () => {
    it('createUser with the documented fields returns the id; users filtered by reference has the documented shape; user({ id })', async () => {
      const reference = unique('8d04d09a-8ff8-4393-840d-c69f3f1f7dfa');
      const tenantId = await createTenant();
      const created = await admin.createUser({
        user: {
          reference,
          email: `${reference}@gmail.com`,
          phone: '+15550001234',
          firstName: 'Anna',
          lastName: 'W',
          locale: 'en-Us',
          timezone: 'Asia/Bangkok',
          isOptedIn: false,
          active: true,
          tenantId,
        },
      });
      // "It's important to save the returned user ID".
      const id = created.createUser.id;
      assert.match(id, UUID);
      assert.equal(created.createUser.locale, 'en-US');

      const usersResponse = await admin.users({ filter: { reference: { equalTo: reference } } });
      assert.equal(usersResponse.users.totalCount, 1);
      const [user] = usersResponse.users.data;
      assert.ok(user);
      for (const key of ['id', 'reference', 'firstName', 'lastName', 'active', 'email', 'phone', 'locale', 'isOptedIn', 'synced', 'tenantId', 'customData', 'timezone', 'avatarUrl', 'createdAt', 'updatedAt']) {
        assert.ok(key in user, `users().data[0] has ${key}`);
      }
      assert.equal(user.id, id);
      assert.equal(user.reference, reference);
      assert.equal(user.firstName, 'Anna');
      assert.equal(user.lastName, 'W');
      assert.equal(user.active, true);
      assert.equal(user.email, `${reference}@gmail.com`);
      assert.equal(user.phone, '+15550001234');
      assert.equal(user.locale, 'en-US');
      assert.equal(user.isOptedIn, false);
      assert.equal(user.synced, true);
      assert.equal(user.tenantId, tenantId);
      assert.deepEqual(user.customData, {});
      assert.equal(user.timezone, 'Asia/Bangkok');
      assert.match(user.createdAt, ISO);
      assert.match(user.updatedAt, ISO);

      const single = await admin.user({ id });
      assert.deepEqual(single.user, user);
      assert.equal((await admin.user(id)).user.reference, reference);

      const limited = await admin.users({ limit: 10 });
      assert.ok(limited.users.data.length >= 1 && limited.users.data.length <= 10);
      assert.ok(limited.users.totalCount >= limited.users.data.length);
    });

    it('updateUser changes the given fields; active: false deactivates (left out of users() unless asked for)', async () => {
      const reference = unique('deactivate');
      const created = await createUser({ reference });
      const updateUser = await admin.updateUser({ id: created.id, user: { firstName: 'Changed', timezone: 'Europe/Amsterdam' } });
      assert.equal(updateUser.updateUser.firstName, 'Changed');
      assert.equal(updateUser.updateUser.timezone, 'Europe/Amsterdam');
      assert.equal(updateUser.updateUser.email, created.email, 'fields not given are unchanged');
      assert.equal(updateUser.updateUser.version, created.version + 1);

      const deactivated = await admin.updateUser({ id: created.id, user: { active: false } });
      assert.equal(deactivated.updateUser.active, false);
      assert.equal((await admin.users({ filter: { reference: { equalTo: reference } } })).users.totalCount, 0);
      const shown = await admin.users({ filter: { reference: { equalTo: reference }, withDeactivated: { equalTo: true } } });
      assert.equal(shown.users.totalCount, 1);
      assert.equal(shown.users.data[0]?.active, false);
      // Deactivation keeps the user: still readable by id.
      assert.equal((await admin.user(created.id)).user.active, false);
    });
  });

  describe('003 group users and managers (Pluvo)', () => {
    let groupId: string;
    let groupRef: string;
    let userIds: string[];
    let userRefs: string[];

    before(async () => {
      groupRef = unique('group-sales');
      groupId = (await admin.createUserGroup({ userGroup: { name: 'Sales', reference: groupRef } })).createUserGroup.id;
      userRefs = [unique('EMP-001'), unique('EMP-002')];
      userIds = [];
      // The bulk-sync recipe: updateOrCreateUser by ref, then addUsersToGroup by refs.
      for (const ref of userRefs) {
        const { updateOrCreateUser } = await admin.updateOrCreateUser({ ref, user: { email: `${ref}@example.com`, firstName: 'Emp' } });
        assert.equal(updateOrCreateUser.created, true);
        assert.equal(updateOrCreateUser.user.reference, ref);
        userIds.push(updateOrCreateUser.user.id);
      }
      const again = await admin.updateOrCreateUser({ ref: userRefs[0]!, user: { lastName: 'Updated' } });
      assert.equal(again.updateOrCreateUser.created, false);
      assert.equal(again.updateOrCreateUser.user.id, userIds[0]);
    });

    it('addUsersToGroup by ids reports addedIds, then alreadyAddedIds', async () => {
      const first = await admin.addUsersToGroup({ groupId, userIds });
      assert.deepEqual(sorted(first.addUsersToGroup.addedIds ?? []), sorted(userIds));
      assert.deepEqual(first.addUsersToGroup.alreadyAddedIds, []);
      assert.deepEqual(first.addUsersToGroup.failedIds, []);
      const again = await admin.addUsersToGroup({ groupId, userIds });
      assert.deepEqual(again.addUsersToGroup.addedIds, []);
      assert.deepEqual(sorted(again.addUsersToGroup.alreadyAddedIds ?? []), sorted(userIds));
      assert.deepEqual(again.addUsersToGroup.failedIds, []);
    });

    it('removeUsersFromGroup reports removedIds, then alreadyRemovedIds; an unknown user under failedIds', async () => {
      const first = await admin.removeUsersFromGroup({ groupId, userIds: [userIds[0]!] });
      assert.deepEqual(first.removeUsersFromGroup.removedIds, [userIds[0]]);
      assert.deepEqual(first.removeUsersFromGroup.alreadyRemovedIds, []);
      assert.deepEqual(first.removeUsersFromGroup.failedIds, []);
      const again = await admin.removeUsersFromGroup({ groupId, userIds: [userIds[0]!, NIL] });
      assert.deepEqual(again.removeUsersFromGroup.removedIds, []);
      assert.deepEqual(again.removeUsersFromGroup.alreadyRemovedIds, [userIds[0]]);
      assert.deepEqual(again.removeUsersFromGroup.failedIds, [NIL]);
      assert.deepEqual(again.removeUsersFromGroup.failures.map((f) => [f.input, f.code]), [[NIL, 'NOT_FOUND']]);
    });

    it('addUsersToGroup by groupRef and userRefs; an unknown ref is reported under failedIds as given', async () => {
      const res = await admin.addUsersToGroup({ groupRef, userRefs: [...userRefs, 'EMP-404-nobody'] });
      assert.deepEqual(res.addUsersToGroup.addedIds, [userIds[0]]);
      assert.deepEqual(res.addUsersToGroup.alreadyAddedIds, [userIds[1]]);
      assert.deepEqual(res.addUsersToGroup.failedIds, ['EMP-404-nobody']);
      assert.deepEqual(res.addUsersToGroup.failures.map((f) => [f.input, f.code]), [['EMP-404-nobody', 'NOT_FOUND']]);
      const removed = await admin.removeUsersFromGroup({ groupRef, userRefs: [userRefs[0]!] });
      assert.deepEqual(removed.removeUsersFromGroup.removedIds, [userIds[0]]);
    });

    it('managers are kept apart from participants: add and remove managers by id and by ref', async () => {
      // userIds[1] participates; make it a manager as well, and userIds[0] (not a participant) a manager by ref.
      const add = await admin.addManagersToGroup({ groupId, userIds: [userIds[1]!] });
      assert.deepEqual(add.addManagersToGroup.response?.succeededIds, [userIds[1]]);
      assert.deepEqual(add.addManagersToGroup.response?.failedIds, []);
      const byRef = await admin.addManagersToGroup({ groupRef, userRefs: [userRefs[0]!, 'EMP-404-nobody'] });
      assert.deepEqual(byRef.addManagersToGroup.response?.succeededIds, [userIds[0]]);
      assert.deepEqual(byRef.addManagersToGroup.response?.failedIds, ['EMP-404-nobody']);

      const both = await admin.userGroup({ id: groupId, withUsers: true, withManagers: true });
      assert.deepEqual(both.userGroup.users?.data.map((u) => u.id), [userIds[1]]);
      assert.deepEqual(sorted(both.userGroup.managers?.data.map((u) => u.id) ?? []), sorted(userIds));
      assert.equal(both.userGroup.managers?.totalCount, 2);
      const managers: string[] = [];
      for await (const edge of admin.iterateUserGroupMembers({ groupId, relation: 'MANAGERS', pageSize: 1 })) managers.push(edge.node.id);
      assert.deepEqual(managers, [userIds[1], userIds[0]]);

      const remove = await admin.removeManagersFromGroup({ groupId, userIds: [userIds[1]!] });
      assert.deepEqual(remove.removeManagersFromGroup.response?.succeededIds, [userIds[1]]);
      assert.deepEqual(remove.removeManagersFromGroup.response?.failedIds, []);
      const removeByRef = await admin.removeManagersFromGroup({ groupRef, userRefs: [userRefs[0]!] });
      assert.deepEqual(removeByRef.removeManagersFromGroup.response?.succeededIds, [userIds[0]]);

      // Removing the managers left the participant alone.
      const after = await admin.userGroup({ id: groupId, withUsers: true, withManagers: true });
      assert.deepEqual(after.userGroup.users?.data.map((u) => u.id), [userIds[1]]);
      assert.equal(after.userGroup.managers?.totalCount, 0);
    });

    it('neither groupId nor groupRef is BAD_USER_INPUT; a malformed user id fails the whole call', async () => {
      await rejectsWith(admin.addUsersToGroup({ userIds }), 'BAD_USER_INPUT', 400);
      await rejectsWith(admin.addUsersToGroup({ groupId, userIds: [userIds[0]!, 'not-a-uuid'] }), 'BAD_USER_INPUT', 400);
      const { userGroup } = await admin.userGroup({ id: groupId, withUsers: true });
      assert.deepEqual(userGroup.users?.data.map((u) => u.id), [userIds[1]], 'nothing written');
    });
  });

  describe('004 REST v3 (Spotnana)', () => {
    let companyId: string;
    let otherCompanyId: string;
    let alice: string;
    let bob: string;
    let mallory: string;
    let adminsGroupId: string;

    before(async () => {
      companyId = await createTenant('Company A');
      otherCompanyId = await createTenant('Company B');
      alice = (await createUser({ tenantId: companyId })).id;
      bob = (await createUser({ tenantId: companyId })).id;
      mallory = (await createUser({ tenantId: otherCompanyId })).id;
    });

    it('walks through the seed: list the groups, read one, list its members and roles, add a user, list the user’s groups', async () => {
      for (const name of ['Travel Arrangers', 'Finance']) {
        const created = await admin.rest.createUserGroup({ companyId, body: { name, description: `Group ${name}` } });
        assert.match(created.id, UUID);
      }
      // Step 0: a REST-only client finds its companyId.
      const companies = await admin.rest.listCompanies({ body: { searchText: 'company a', pagination: { offset: 0, limit: 10 }, sortParams: { sortBy: 'NAME', sortOrder: 'ASC' } } });
      assert.deepEqual(companies.companies.map((c) => c.id), [companyId]);
      assert.equal(companies.pagination.totalNumResults, 1);
      assert.equal((await admin.rest.getCompany({ companyId })).id, companyId);
      // Step 1: the groups of the company, by case-insensitive search text, sorted.
      const list = await admin.rest.listUserGroups({
        companyId,
        body: { searchText: 'company admins', pagination: { offset: 0, limit: 100 }, sortParams: { sortBy: 'NAME', sortOrder: 'DESC' } },
      });
      assert.equal(list.pagination.totalNumResults, 1);
      const [admins] = list.userGroups;
      assert.ok(admins);
      assert.equal(admins.name, 'Company Admins');
      assert.equal(admins.companyId, companyId);
      assert.equal(typeof admins.description, 'string');
      adminsGroupId = admins.id;

      const byName = await admin.rest.listUserGroups({ companyId, body: { pagination: { offset: 0, limit: 2 }, sortParams: { sortBy: 'NAME', sortOrder: 'ASC' } } });
      assert.deepEqual(byName.userGroups.map((g) => g.name), ['Company Admins', 'Finance']);
      assert.equal(byName.pagination.totalNumResults, 3);
      const nextPage = await admin.rest.listUserGroups({ companyId, body: { pagination: { offset: 2, limit: 2 }, sortParams: { sortBy: 'NAME', sortOrder: 'ASC' } } });
      assert.deepEqual(nextPage.userGroups.map((g) => g.name), ['Travel Arrangers']);
      const filtered = await admin.rest.listUserGroups({ companyId, body: { pagination: { offset: 0, limit: 10 }, filters: [{ userGroupIds: [adminsGroupId] }] } });
      assert.deepEqual(filtered.userGroups.map((g) => g.id), [adminsGroupId]);
      const every: string[] = [];
      for await (const group of admin.rest.paginate('listUserGroups', { companyId, body: { sortParams: { sortBy: 'NAME', sortOrder: 'ASC' } }, pageSize: 1 })) every.push(group.name);
      assert.deepEqual(every, ['Company Admins', 'Finance', 'Travel Arrangers']);

      // Step 2: the full group, with whether it is modifiable.
      const group = await admin.rest.getUserGroup({ companyId, groupId: adminsGroupId });
      assert.deepEqual(Object.keys(group).sort(), ['companyId', 'createdAt', 'createdBy', 'description', 'id', 'isUnmodifiable', 'name', 'updatedAt', 'updatedBy']);
      assert.equal(group.id, adminsGroupId);
      assert.equal(group.isUnmodifiable, true);
      assert.match(group.createdAt.iso8601, /^\d{4}-\d{2}-\d{2}T/);
      assert.match(group.updatedAt.iso8601, /^\d{4}-\d{2}-\d{2}T/);
      assert.equal(typeof group.createdBy.id, 'string');

      // Step 3: the members, none yet.
      const before = await admin.rest.listUserGroupMembers({ companyId, groupId: adminsGroupId, body: { pagination: { offset: 0, limit: 100 } } });
      assert.deepEqual(before, { members: [], pagination: { totalNumResults: 0 } });

      // Step 4: the roles the new member will inherit.
      const roles = await admin.rest.listUserGroupRoles({ companyId, groupId: adminsGroupId, body: { pagination: { offset: 0, limit: 100 } } });
      assert.ok(roles.roles.length >= 1);
      assert.equal(roles.pagination?.totalNumResults, roles.roles.length);
      const [first] = roles.roles;
      assert.ok(first);
      assert.equal(first.role.isPlatformRole, true);
      assert.equal(typeof first.role.name, 'string');
      assert.equal(typeof first.role.description, 'string');
      assert.ok(first.role.permissions.some((p) => p.permission === 'ACCESS_MANAGEMENT'));
      assert.ok(Array.isArray(first.scope.audiences));

      // Step 5: add users; a 200 confirms it.
      const patched = await admin.rest.call('updateUserGroupMembers', { companyId, groupId: adminsGroupId, body: { userIdsToAdd: [alice, bob] } });
      assert.equal(patched.status, 200);
      const members = await admin.rest.listUserGroupMembers({ companyId, groupId: adminsGroupId, body: { pagination: { offset: 0, limit: 100 } } });
      assert.equal(members.pagination.totalNumResults, 2);
      assert.deepEqual(members.members.map((m) => m.userId).sort(), [alice, bob].sort());
      for (const m of members.members) assert.match(m.addedAt.iso8601, /^\d{4}-\d{2}-\d{2}T/);
      const onlyAlice = await admin.rest.listUserGroupMembers({ companyId, groupId: adminsGroupId, body: { pagination: { offset: 0, limit: 100 }, filters: [{ userIds: [alice] }] } });
      assert.deepEqual(onlyAlice.members.map((m) => m.userId), [alice]);
      const paged: string[] = [];
      for await (const m of admin.rest.paginate('listUserGroupMembers', { companyId, groupId: adminsGroupId, pageSize: 1 })) paged.push(m.userId);
      assert.deepEqual(paged.sort(), [alice, bob].sort());

      // Step 6: the user's groups now include it.
      const mine = await admin.rest.listUserGroupsForUser({ userId: alice, body: { pagination: { offset: 0, limit: 100 } } });
      assert.deepEqual(mine.userGroups.map((g) => g.id), [adminsGroupId]);

      // Removal through the same endpoint.
      await admin.rest.updateUserGroupMembers({ companyId, groupId: adminsGroupId, body: { userIdsToRemove: [bob] } });
      const left = await admin.rest.listUserGroupMembers({ companyId, groupId: adminsGroupId, body: { pagination: { offset: 0, limit: 100 } } });
      assert.deepEqual(left.members.map((m) => m.userId), [alice]);
    });

    it('a user of another company cannot be added: 400, nothing written', async () => {
      const { id } = await admin.rest.createUserGroup({ companyId, body: { name: unique('Strict'), description: '' } });
      const error = await rejectsWith(admin.rest.updateUserGroupMembers({ companyId, groupId: id, body: { userIdsToAdd: [alice, mallory] } }), 'BAD_USER_INPUT', 400);
      assert.equal(error.field, 'userIdsToAdd');
      const members = await admin.rest.listUserGroupMembers({ companyId, groupId: id, body: { pagination: { offset: 0, limit: 10 } } });
      assert.equal(members.pagination.totalNumResults, 0);
      // And another company's group is a 404.
      await rejectsWith(admin.rest.getUserGroup({ companyId: otherCompanyId, groupId: id }), 'NOT_FOUND', 404);
    });

    it('updateUserGroup renames a custom group; deleteUserGroup removes it', async () => {
      const { id } = await admin.rest.createUserGroup({ companyId, body: { name: unique('Temp'), description: 'd' } });
      const renamed = await admin.rest.updateUserGroup({ companyId, groupId: id, body: { name: 'Renamed', description: 'new' } });
      assert.equal(renamed.id, id);
      assert.equal(renamed.name, 'Renamed');
      assert.equal(renamed.description, 'new');
      assert.equal(renamed.isUnmodifiable, false);
      assert.equal((await admin.rest.getUserGroup({ companyId, groupId: id })).name, 'Renamed');
      await admin.rest.deleteUserGroup({ companyId, groupId: id });
      await rejectsWith(admin.rest.getUserGroup({ companyId, groupId: id }), 'NOT_FOUND', 404);
    });

    it('a platform group (isUnmodifiable) refuses renames, deletion and role changes with 403, and accepts member changes', async () => {
      const groupId = (await admin.rest.listUserGroups({ companyId, body: { pagination: { offset: 0, limit: 100 } } })).userGroups.find((g) => g.isUnmodifiable)?.id;
      assert.ok(groupId);
      await rejectsWith(admin.rest.updateUserGroup({ companyId, groupId, body: { name: 'Renamed' } }), 'FORBIDDEN', 403);
      await rejectsWith(admin.rest.updateUserGroup({ companyId, groupId, body: { description: 'x' } }), 'FORBIDDEN', 403);
      await rejectsWith(admin.rest.deleteUserGroup({ companyId, groupId }), 'FORBIDDEN', 403);
      const roles = await admin.rest.listUserGroupRoles({ companyId, groupId, body: { pagination: { offset: 0, limit: 100 } } });
      const roleId = roles.roles[0]?.role.id;
      assert.ok(roleId);
      await rejectsWith(admin.rest.updateUserGroupRoles({ companyId, groupId, body: { rolesToDelete: [{ roleId }] } }), 'FORBIDDEN', 403);
      assert.equal((await admin.rest.getUserGroup({ companyId, groupId })).name, 'Company Admins');
      assert.equal((await admin.rest.listUserGroupRoles({ companyId, groupId, body: { pagination: { offset: 0, limit: 100 } } })).roles.length, roles.roles.length);
      assert.equal((await admin.rest.call('updateUserGroupMembers', { companyId, groupId, body: { userIdsToAdd: [bob] } })).status, 200);
      assert.equal((await admin.rest.call('updateUserGroupMembers', { companyId, groupId, body: { userIdsToRemove: [bob] } })).status, 200);
    });

    it('roles and permissions: a member inherits the group’s roles (rbac-info, with the source) and loses them when removed', async () => {
      const catalog = await admin.rest.listPermissions();
      assert.ok(catalog.permissions.some((p) => p.name === 'ACCESS_MANAGEMENT' && typeof p.description === 'string'));
      assert.deepEqual(await admin.rest.listCompanyPermissions({ companyId }), catalog);

      const platform = await admin.rest.listRoles({ companyId, body: { pagination: { offset: 0, limit: 100 }, filters: [{ roleProvidedBy: ['PLATFORM'] }] } });
      assert.ok(platform.roles.every((r) => r.isPlatformRole));
      const viewer = platform.roles.find((r) => r.name === 'Viewer');
      assert.ok(viewer);

      const member = (await createUser({ tenantId: companyId })).id;
      assert.deepEqual(await admin.rest.getRbacInfo({ userId: member }), { hasOthersTripAccess: false, permissions: [] });

      const { id: groupId } = await admin.rest.createUserGroup({ companyId, body: { name: unique('Viewers'), description: 'Read-only' } });
      const patched = await admin.rest.updateUserGroupRoles({ companyId, groupId, body: { rolesToAdd: [{ roleId: viewer.id, scope: { audiences: [] } }] } });
      assert.deepEqual(patched.roles.map((r) => r.role.id), [viewer.id]);
      await admin.rest.updateUserGroupMembers({ companyId, groupId, body: { userIdsToAdd: [member] } });

      const gained = await admin.rest.getRbacInfo({ userId: member });
      const access = gained.permissions.find((p) => p.permission === 'ACCESS_MANAGEMENT');
      assert.deepEqual(access?.actions, ['READ']);
      assert.deepEqual(access?.grantedBy.map((s) => [s.roleName, s.via, s.groupId]), [['Viewer', 'group', groupId]]);
      const groupsOfMember = await admin.rest.listUserGroupsForUser({ userId: member, body: { pagination: { offset: 0, limit: 10 } } });
      assert.deepEqual(groupsOfMember.userGroups.map((g) => g.id), [groupId]);

      // A company role, created over REST, assigned the same way.
      const role = await admin.rest.createRole({ companyId, body: { name: unique('Report Reader'), permissions: [{ permission: 'REPORT_MANAGEMENT', actions: ['READ'] }] } });
      assert.equal(role.isPlatformRole, false);
      assert.equal(role.companyId, companyId);
      const companyRoles = await admin.rest.listRoles({ companyId, body: { pagination: { offset: 0, limit: 100 }, filters: [{ roleProvidedBy: ['COMPANY'] }] } });
      assert.deepEqual(companyRoles.roles.map((r) => r.id), [role.id]);
      await admin.rest.updateUserGroupRoles({ companyId, groupId, body: { rolesToAdd: [{ roleId: role.id }] } });
      const both = await admin.rest.getRbacInfo({ userId: member });
      assert.deepEqual(both.permissions.map((p) => p.permission).sort(), ['ACCESS_MANAGEMENT', 'REPORT_MANAGEMENT', 'USER_MANAGEMENT']);

      await admin.rest.updateUserGroupMembers({ companyId, groupId, body: { userIdsToRemove: [member] } });
      assert.deepEqual((await admin.rest.getRbacInfo({ userId: member })).permissions, []);
    });
  });

  describe('asUser and withToken', () => {
    let tenantA: string;
    let tenantB: string;
    let adminOfA: string;
    let plainOfA: string;
    let groupOfA: string;
    let groupOfB: string;

    before(async () => {
      tenantA = await createTenant('Tenant A');
      tenantB = await createTenant('Tenant B');
      adminOfA = (await createUser({ tenantId: tenantA })).id;
      plainOfA = (await createUser({ tenantId: tenantA })).id;
      await createUser({ tenantId: tenantB });
      const ref = unique('a-group');
      groupOfA = (await admin.createUserGroup({ userGroup: { name: ref, reference: ref, tenantId: tenantA } })).createUserGroup.id;
      const refB = unique('b-group');
      groupOfB = (await admin.createUserGroup({ userGroup: { name: refB, reference: refB, tenantId: tenantB } })).createUserGroup.id;
      // adminOfA administers tenant A through its platform group.
      const adminsOfA = (await admin.rest.listUserGroups({ companyId: tenantA, body: { searchText: 'Company Admins', pagination: { offset: 0, limit: 10 } } })).userGroups[0]?.id;
      assert.ok(adminsOfA);
      await admin.addUsersToUserGroup({ userGroupId: adminsOfA, userIds: [adminOfA] });
      await admin.addUsersToUserGroup({ userGroupId: groupOfA, userIds: [plainOfA] });
    });

    it('asUser(userId): a user of tenant A reads itself and sees tenant A only', async () => {
      const me = client.asUser(adminOfA);
      const { user } = await me.user({ id: adminOfA, withTenant: true, withUserGroups: true });
      assert.equal(user.id, adminOfA);
      assert.equal(user.tenant?.id, tenantA);

      const groups = await me.userGroups();
      assert.ok(groups.userGroups.data.length >= 2);
      assert.ok(groups.userGroups.data.every((g) => g.tenantId === tenantA), 'only tenant A groups');
      assert.ok(groups.userGroups.data.some((g) => g.id === groupOfA));
      assert.ok(!groups.userGroups.data.some((g) => g.id === groupOfB));
      // Another tenant's group and company are not found, never a hint that they exist.
      await rejectsWith(me.userGroup(groupOfB), 'NOT_FOUND', 404);
      await rejectsWith(me.rest.listUserGroups({ companyId: tenantB, body: { pagination: { offset: 0, limit: 10 } } }), 'NOT_FOUND', 404);
      const restGroups = await me.rest.listUserGroups({ companyId: tenantA, body: { pagination: { offset: 0, limit: 100 } } });
      assert.ok(restGroups.userGroups.every((g) => g.companyId === tenantA));
      assert.ok(restGroups.userGroups.some((g) => g.id === groupOfA));

      // A plain member sees only the groups it belongs to, and may not list users.
      const plain = client.asUser(plainOfA);
      assert.deepEqual((await plain.userGroups()).userGroups.data.map((g) => g.id), [groupOfA]);
      await rejectsWith(plain.users(), 'FORBIDDEN', 403);
      await rejectsWith(plain.user(adminOfA), 'FORBIDDEN', 403);
    });

    it('withToken(jwt): a token the application holds acts as its user, also on a client without the API key', async () => {
      const token = await issueToken(plainOfA);
      const session = client.withToken(token);
      assert.equal((await session.user(plainOfA)).user.id, plainOfA);
      assert.deepEqual((await session.userGroups()).userGroups.data.map((g) => g.id), [groupOfA]);

      const browser = new RosterClient({ url: server.url });
      assert.throws(() => browser.asSuperAdmin(), TypeError);
      assert.throws(() => browser.asUser(plainOfA), TypeError);
      const fromBrowser = browser.withToken(token);
      const { user } = await fromBrowser.user({ id: plainOfA, withUserGroups: true });
      assert.deepEqual(user.userGroups?.data.map((g) => g.id), [groupOfA]);
      const mine = await fromBrowser.rest.listUserGroupsForUser({ userId: plainOfA, body: { pagination: { offset: 0, limit: 10 } } });
      assert.deepEqual(mine.userGroups.map((g) => g.id), [groupOfA]);
      await rejectsWith(fromBrowser.users(), 'FORBIDDEN', 403);
    });
  });
});
