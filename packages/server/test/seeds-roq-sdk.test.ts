/**
 * The examples of seeds 000–002, as written there, through the real `@roq/nodejs@1.0.13` SDK against a real
 * Roster: token exchange, the SDK's own GraphQL documents, its headers and its error handling.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Platform } from '@roq/nodejs';
import { startServer, unique, type TestServer } from './helpers/server.ts';

const ENVIRONMENT_ID = 'env-seed-tests';

describe('seed examples through @roq/nodejs@1.0.13', () => {
  let server: TestServer;
  let client: Platform;

  before(async () => {
    server = await startServer({ ROSTER_ENVIRONMENT_ID: ENVIRONMENT_ID });
    client = new Platform({ environmentId: ENVIRONMENT_ID, apiKey: server.apiKey, host: server.url });
  });
  after(() => server.close());

  it('001/002: createUser, then users() filtered by reference returns the documented shape', async () => {
    const reference = unique('8d04d09a');
    const created = await client.asSuperAdmin().createUser({
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
      },
    });
    assert.match(created.createUser.id, /^[0-9a-f-]{36}$/);
    assert.equal(created.createUser.locale, 'en-US');

    const usersResponse = await client.asSuperAdmin().users({ filter: { reference: { equalTo: reference } } });
    assert.equal(usersResponse.users.totalCount, 1);
    const [user] = usersResponse.users.data;
    assert.ok(user);
    assert.deepEqual(Object.keys(user).sort(), [
      'active', 'avatarUrl', 'createdAt', 'customData', 'email', 'firstName', 'id', 'isOptedIn', 'lastName', 'locale',
      'phone', 'reference', 'synced', 'tenantId', 'timezone', 'updatedAt',
    ]);
    assert.equal(user.id, created.createUser.id);
    assert.equal(user.synced, true);
    assert.deepEqual(user.customData, {});
    assert.equal(user.timezone, 'Asia/Bangkok');
    assert.match(user.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const { user: single } = await client.asSuperAdmin().user({ id: user.id });
    assert.equal(single.reference, reference);
    const limited = await client.asSuperAdmin().users({ limit: 10 });
    assert.ok(limited.users.data.length >= 1 && limited.users.data.length <= 10);
  });

  it('001: updateUser changes fields and active: false deactivates (hidden from users() by default)', async () => {
    const reference = unique('deact');
    const { createUser } = await client.asSuperAdmin().createUser({ user: { reference, email: `${reference}@example.com` } });
    const { updateUser } = await client.asSuperAdmin().updateUser({ id: createUser.id, user: { firstName: 'Changed' } });
    assert.equal(updateUser.firstName, 'Changed');
    await client.asSuperAdmin().updateUser({ id: createUser.id, user: { active: false } });
    const hidden = await client.asSuperAdmin().users({ filter: { reference: { equalTo: reference } } });
    assert.equal(hidden.users.totalCount, 0);
    const shown = await client.asSuperAdmin().users({
      filter: { reference: { equalTo: reference }, withDeactivated: { equalTo: true } },
    });
    assert.equal(shown.users.totalCount, 1);
    assert.equal(shown.users.data[0]?.active, false);
  });

  it('000: createUserGroup, addUsersToUserGroup, updateUserGroup, userGroups with users, userGroup, remove', async () => {
    const admin = client.asSuperAdmin();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const ref = unique('member');
      ids.push((await admin.createUser({ user: { reference: ref, email: `${ref}@example.com` } })).createUser.id);
    }
    const name = unique('xyz789');
    const { createUserGroup } = await admin.createUserGroup({ userGroup: { name, reference: name } });
    assert.equal(createUserGroup.name, name);

    const added = await admin.addUsersToUserGroup({ userGroupId: createUserGroup.id, userIds: ids });
    assert.deepEqual(added, { addUsersToUserGroup: true });

    const updateGroup = await admin.updateUserGroup({
      id: createUserGroup.id,
      userGroup: { name: `Video Creator ${name}`, reference: `video-creator-group-${name}` },
    });
    assert.equal(updateGroup.updateUserGroup.reference, `video-creator-group-${name}`);

    const groups = await admin.userGroups({ filter: { name: { like: `Video Creator ${name}` } }, withUsers: true });
    assert.equal(groups.userGroups.totalCount, 1);
    const group = groups.userGroups.data[0] as { users?: { data: { id: string }[]; totalCount: number } };
    assert.equal(group.users?.totalCount, 2);
    assert.deepEqual(group.users?.data.map((u) => u.id).sort(), [...ids].sort());

    const byGroup = await admin.users({ filter: { userGroupId: { equalTo: createUserGroup.id } } });
    assert.equal(byGroup.users.totalCount, 2);

    const mygroup = await admin.userGroup({ id: createUserGroup.id, withUsers: true, withUserGroupType: true });
    assert.equal(mygroup.userGroup.id, createUserGroup.id);

    const removeStatus = await admin.removeUsersFromUserGroup({ userGroupId: createUserGroup.id, userIds: [ids[0]!] });
    assert.deepEqual(removeStatus, { removeUsersFromUserGroup: true });
    const after = await admin.users({ filter: { userGroupId: { equalTo: createUserGroup.id } } });
    assert.deepEqual(after.users.data.map((u) => u.id), [ids[1]]);
  });

  it("000: userGroup(groupId) with the bare id, as the seed writes it, is read as { id }", async () => {
    const admin = client.asSuperAdmin();
    const ref = unique('bare');
    const { createUserGroup } = await admin.createUserGroup({ userGroup: { name: ref, reference: ref } });
    const groupId = createUserGroup.id;
    const mygroup = await admin.userGroup(groupId as unknown as { id: string });
    assert.equal(mygroup.userGroup.name, ref);
  });

  it('tenants, roles and asUser through the SDK', async () => {
    const admin = client.asSuperAdmin();
    const { createTenant } = await admin.createTenant({ tenant: { name: unique('Acme'), reference: unique('acme') } });
    const ref = unique('tenant-user');
    const { createUser } = await admin.createUser({ user: { reference: ref, email: `${ref}@acme.test`, tenantId: createTenant.id } });
    const { tenant } = await admin.tenant({ id: createTenant.id, withUserCount: true });
    assert.equal((tenant as { users?: { totalCount: number } }).users?.totalCount, 1);
    const { updateTenant } = await admin.updateTenant({ id: createTenant.id, tenant: { name: 'Acme Renamed' } });
    assert.equal(updateTenant.name, 'Acme Renamed');
    const tenants = await admin.tenants({ filter: { id: { equalTo: createTenant.id } } });
    assert.equal(tenants.tenants.totalCount, 1);

    const me = await client.asUser(createUser.id).user({ id: createUser.id, withTenant: true, withUserGroups: true });
    assert.equal(me.user.id, createUser.id);
    await assert.rejects(() => client.asUser(createUser.id).users({}), (e: { statusCode?: number; errorCode?: string }) => {
      assert.equal(e.statusCode, 403);
      assert.equal(e.errorCode, 'FORBIDDEN');
      return true;
    });
  });

  it('errors reach the SDK as HttpException with statusCode and errorCode', async () => {
    await assert.rejects(
      () => client.asSuperAdmin().user({ id: '00000000-0000-4000-8000-000000000000' }),
      (e: { statusCode?: number; errorCode?: string }) => e.statusCode === 404 && e.errorCode === 'NOT_FOUND',
    );
    await assert.rejects(
      () => client.asSuperAdmin().createUser({ user: { reference: unique('bad'), email: 'not-an-email' } }),
      (e: { statusCode?: number; errorCode?: string; message?: string }) =>
        e.statusCode === 400 && e.errorCode === 'BAD_USER_INPUT' && /user\.email/.test(e.message ?? ''),
    );
  });

  it('a wrong API key or environment is refused', async () => {
    const wrongKey = new Platform({ environmentId: ENVIRONMENT_ID, apiKey: 'wrong-key-wrong-key', host: server.url });
    await assert.rejects(() => wrongKey.asSuperAdmin().users({}));
    const wrongEnv = new Platform({ environmentId: 'other-env', apiKey: server.apiKey, host: server.url });
    await assert.rejects(() => wrongEnv.asSuperAdmin().users({}));
    const res = await fetch(`${server.url}/v01/authorize/serviceAccount`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'project-service-account@roq.tech', environmentId: ENVIRONMENT_ID, apiKey: 'nope-nope-nope-nope' }),
    });
    assert.equal(res.status, 401);
  });
});
