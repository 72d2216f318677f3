/**
 * REST API v3 (seed 004): the walkthrough (list a company's groups, read one, list members, add a user, list
 * the user's groups) against a real server, plus company isolation and error bodies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gqlOk, rest, startServer, unique, type TestServer } from './helpers/server.ts';

interface ErrorResponse {
  debugIdentifier: string;
  errorMessages: { errorCode: string; message: string; errorParameters: { name: string; value: string }[] }[];
}

describe('REST v3 user groups', () => {
  let server: TestServer;
  let companyA: string;
  let companyB: string;
  let alice: string;
  let bob: string;
  let mallory: string;

  const call = <T>(method: string, path: string, body?: unknown, token?: string) => rest<T>(server, method, path, body, token);
  const expectError = (res: { status: number; body: unknown }, status: number, code: string, field?: string) => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    const body = res.body as ErrorResponse;
    assert.ok(body.debugIdentifier);
    assert.equal(body.errorMessages[0]?.errorCode, code);
    if (field) assert.match(body.errorMessages[0]?.message ?? '', new RegExp(field.replace('.', '\\.')));
  };
  const createUser = async (tenantId: string) => {
    const ref = unique('rest-user');
    const res = await gqlOk<{ createUser: { id: string } }>(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', {
      u: { reference: ref, email: `${ref}@example.com`, tenantId },
    });
    return res.createUser.id;
  };

  before(async () => {
    server = await startServer();
    const tenant = async (name: string) => (await gqlOk<{ createTenant: { id: string } }>(server, 'mutation($n: String!) { createTenant(tenant: { name: $n }) { id } }', { n: name })).createTenant.id;
    companyA = await tenant('Company A');
    companyB = await tenant('Company B');
    alice = await createUser(companyA);
    bob = await createUser(companyA);
    mallory = await createUser(companyB);
  });
  after(() => server.close());

  it('walks through seed 004: list groups, read one, list members, add a user, list the user’s groups', async () => {
    // 'Company Admins' is the platform group every company starts with.
    for (const name of ['Travel Arrangers', 'Finance']) {
      const created = await call<{ id: string }>('POST', `/v3/companies/${companyA}/user-groups`, { name, description: `Group ${name}` });
      assert.equal(created.status, 200);
    }
    const list = await call<{ userGroups: { id: string; name: string; companyId: string; createdAt: { iso8601: string }; isUnmodifiable: boolean }[]; pagination: { totalNumResults: number } }>(
      'POST', `/v3/companies/${companyA}/user-groups/list`,
      { searchText: 'company admins', pagination: { offset: 0, limit: 100 }, sortParams: { sortBy: 'NAME', sortOrder: 'DESC' } },
    );
    assert.equal(list.status, 200);
    assert.equal(list.body.pagination.totalNumResults, 1);
    const groupId = list.body.userGroups[0]!.id;
    assert.equal(list.body.userGroups[0]!.companyId, companyA);
    assert.match(list.body.userGroups[0]!.createdAt.iso8601, /^\d{4}-\d{2}-\d{2}T/);

    const sorted = await call<{ userGroups: { name: string }[] }>('POST', `/v3/companies/${companyA}/user-groups/list`, { pagination: { offset: 0, limit: 2 }, sortParams: { sortBy: 'NAME', sortOrder: 'ASC' } });
    assert.deepEqual(sorted.body.userGroups.map((g) => g.name), ['Company Admins', 'Finance']);

    const group = await call<{ id: string; name: string; description: string; isUnmodifiable: boolean; createdBy: { id: string } }>('GET', `/v3/companies/${companyA}/user-groups/${groupId}`);
    assert.equal(group.status, 200);
    assert.equal(group.body.name, 'Company Admins');
    assert.equal(group.body.isUnmodifiable, true);

    const before = await call<{ members: unknown[]; pagination: { totalNumResults: number } }>('POST', `/v3/companies/${companyA}/user-groups/${groupId}/members`, { pagination: { offset: 0, limit: 100 } });
    assert.deepEqual(before.body, { members: [], pagination: { totalNumResults: 0 } });

    const patched = await call('PATCH', `/v3/companies/${companyA}/user-groups/${groupId}/members`, { userIdsToAdd: [alice, bob] });
    assert.equal(patched.status, 200);
    const members = await call<{ members: { userId: string; addedAt: { iso8601: string } }[]; pagination: { totalNumResults: number } }>(
      'POST', `/v3/companies/${companyA}/user-groups/${groupId}/members`, { pagination: { offset: 0, limit: 100 }, filters: [{ userIds: [alice] }] },
    );
    assert.equal(members.body.pagination.totalNumResults, 1);
    assert.equal(members.body.members[0]!.userId, alice);

    // The roles the new member will inherit.
    const roles = await call<{ roles: { role: { name: string; isPlatformRole: boolean; permissions: { permission: string }[] } }[] }>('POST', `/v3/companies/${companyA}/user-groups/${groupId}/roles`, {});
    assert.equal(roles.status, 200, JSON.stringify(roles.body));
    assert.equal(roles.body.roles[0]?.role.isPlatformRole, true);
    assert.ok(roles.body.roles[0]?.role.permissions.some((p) => p.permission === 'ACCESS_MANAGEMENT'));

    const mine = await call<{ userGroups: { id: string }[] }>('POST', `/v3/users/${alice}/user-groups`, { pagination: { offset: 0, limit: 100 } });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.deepEqual(mine.body.userGroups.map((g) => g.id), [groupId]);

    const removed = await call('PATCH', `/v3/companies/${companyA}/user-groups/${groupId}/members`, { userIdsToRemove: [alice] });
    assert.equal(removed.status, 200);
    const after = await call<{ userGroups: unknown[] }>('POST', `/v3/users/${alice}/user-groups`, { pagination: { offset: 0, limit: 100 } });
    assert.deepEqual(after.body.userGroups, []);
  });

  it('members: filters by added time (after inclusive, before exclusive) and sorts by ADDED_AT', async () => {
    const { body } = await call<{ id: string }>('POST', `/v3/companies/${companyA}/user-groups`, { name: unique('timed'), description: '' });
    await call('PATCH', `/v3/companies/${companyA}/user-groups/${body.id}/members`, { userIdsToAdd: [alice] });
    await new Promise((r) => setTimeout(r, 20));
    await call('PATCH', `/v3/companies/${companyA}/user-groups/${body.id}/members`, { userIdsToAdd: [bob] });
    const all = await call<{ members: { userId: string; addedAt: { iso8601: string } }[] }>('POST', `/v3/companies/${companyA}/user-groups/${body.id}/members`, { pagination: { offset: 0, limit: 10 }, sortParams: { sortBy: 'ADDED_AT', sortOrder: 'DESC' } });
    assert.deepEqual(all.body.members.map((m) => m.userId), [bob, alice]);
    const bobAdded = all.body.members[0]!.addedAt;
    const since = await call<{ members: { userId: string }[] }>('POST', `/v3/companies/${companyA}/user-groups/${body.id}/members`, { pagination: { offset: 0, limit: 10 }, filters: [{ addedAfter: bobAdded }] });
    assert.deepEqual(since.body.members.map((m) => m.userId), [bob]);
    const until = await call<{ members: { userId: string }[] }>('POST', `/v3/companies/${companyA}/user-groups/${body.id}/members`, { pagination: { offset: 0, limit: 10 }, filters: [{ addedBefore: bobAdded }] });
    assert.deepEqual(until.body.members.map((m) => m.userId), [alice]);
  });

  it('PATCH members is all or nothing: another company’s user, an unknown user, or an id in both lists is a 400 and nothing changes', async () => {
    const { body } = await call<{ id: string }>('POST', `/v3/companies/${companyA}/user-groups`, { name: unique('strict'), description: '' });
    const path = `/v3/companies/${companyA}/user-groups/${body.id}/members`;
    expectError(await call('PATCH', path, { userIdsToAdd: [alice, mallory] }), 400, 'BAD_USER_INPUT', 'userIdsToAdd');
    expectError(await call('PATCH', path, { userIdsToAdd: [alice, '00000000-0000-4000-8000-000000000000'] }), 400, 'BAD_USER_INPUT', 'userIdsToAdd');
    expectError(await call('PATCH', path, { userIdsToAdd: [alice], userIdsToRemove: [alice] }), 400, 'BAD_USER_INPUT', 'userIdsToRemove');
    expectError(await call('PATCH', path, { userIdsToAdd: ['not-a-uuid'] }), 400, 'BAD_USER_INPUT', 'userIdsToAdd');
    expectError(await call('PATCH', path, { userIdsToAdd: [alice], surprise: true }), 400, 'BAD_USER_INPUT');
    const members = await call<{ pagination: { totalNumResults: number } }>('POST', path, { pagination: { offset: 0, limit: 10 } });
    assert.equal(members.body.pagination.totalNumResults, 0);
    // The alias userIdsToDelete removes, and repeating an add is a no-op.
    await call('PATCH', path, { userIdsToAdd: [alice, bob] });
    assert.equal((await call('PATCH', path, { userIdsToAdd: [alice] })).status, 200);
    assert.equal((await call('PATCH', path, { userIdsToDelete: [bob] })).status, 200);
    const after = await call<{ members: { userId: string }[] }>('POST', path, { pagination: { offset: 0, limit: 10 } });
    assert.deepEqual(after.body.members.map((m) => m.userId), [alice]);
  });

  it('another company’s group or user is a 404 on every endpoint, never a hint', async () => {
    const { body } = await call<{ id: string }>('POST', `/v3/companies/${companyB}/user-groups`, { name: unique('b-group'), description: '' });
    const asA = `/v3/companies/${companyA}/user-groups/${body.id}`;
    expectError(await call('GET', asA), 404, 'NOT_FOUND');
    expectError(await call('POST', `${asA}/members`, { pagination: { offset: 0, limit: 10 } }), 404, 'NOT_FOUND');
    expectError(await call('PATCH', `${asA}/members`, { userIdsToAdd: [alice] }), 404, 'NOT_FOUND');
    expectError(await call('PATCH', asA, { name: 'stolen' }), 404, 'NOT_FOUND');
    expectError(await call('DELETE', asA), 404, 'NOT_FOUND');
    const list = await call<{ userGroups: { companyId: string }[] }>('POST', `/v3/companies/${companyA}/user-groups/list`, { pagination: { offset: 0, limit: 1000 } });
    assert.ok(list.body.userGroups.every((g) => g.companyId === companyA));

    // A user token of company A sees nothing of company B.
    const tokenRes = await fetch(`${server.url}/v01/authorize`, { method: 'POST', headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ userId: alice }) });
    const { accessToken } = (await tokenRes.json()) as { accessToken: string };
    expectError(await call('GET', `/v3/companies/${companyB}/user-groups/${body.id}`, undefined, accessToken), 404, 'NOT_FOUND');
    expectError(await call('POST', `/v3/users/${mallory}/user-groups`, { pagination: { offset: 0, limit: 10 } }, accessToken), 404, 'NOT_FOUND');
  });

  it('errors: bad body 400 naming the field, no credentials 401, unknown company 404', async () => {
    expectError(await call('POST', `/v3/companies/${companyA}/user-groups/list`, { pagination: { offset: -1, limit: 10 } }), 400, 'BAD_USER_INPUT', 'pagination.offset');
    expectError(await call('POST', `/v3/companies/${companyA}/user-groups/list`, { pagination: { offset: 0, limit: 5000 } }), 400, 'BAD_USER_INPUT', 'pagination.limit');
    expectError(await call('POST', `/v3/companies/${companyA}/user-groups/list`, {}), 400, 'BAD_USER_INPUT', 'pagination');
    expectError(await call('POST', `/v3/companies/${companyA}/user-groups`, { name: '', description: '' }), 400, 'BAD_USER_INPUT', 'name');
    expectError(await call('GET', `/v3/companies/not-a-uuid/user-groups/${alice}`), 400, 'BAD_USER_INPUT', 'companyId');
    expectError(await call('POST', `/v3/companies/00000000-0000-4000-8000-000000000000/user-groups/list`, { pagination: { offset: 0, limit: 10 } }), 404, 'NOT_FOUND');
    const noAuth = await fetch(`${server.url}/v3/companies/${companyA}/user-groups/list`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pagination: { offset: 0, limit: 10 } }) });
    assert.equal(noAuth.status, 401);
    assert.equal(((await noAuth.json()) as ErrorResponse).errorMessages[0]?.errorCode, 'UNAUTHENTICATED');
  });

  it('rename and delete a group; /openapi.json is OpenAPI 3.1 with every path', async () => {
    const { body } = await call<{ id: string }>('POST', `/v3/companies/${companyA}/user-groups`, { name: unique('temp'), description: 'd' });
    const renamed = await call<{ name: string }>('PATCH', `/v3/companies/${companyA}/user-groups/${body.id}`, { name: 'Renamed' });
    assert.equal(renamed.body.name, 'Renamed');
    assert.equal((await call('DELETE', `/v3/companies/${companyA}/user-groups/${body.id}`)).status, 200);
    expectError(await call('GET', `/v3/companies/${companyA}/user-groups/${body.id}`), 404, 'NOT_FOUND');

    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    for (const path of ['/v3/companies/{companyId}/user-groups/list', '/v3/companies/{companyId}/user-groups/{groupId}', '/v3/companies/{companyId}/user-groups/{groupId}/members', '/v3/users/{userId}/user-groups']) {
      assert.ok(doc.paths[path], `missing ${path}`);
    }
    assert.equal((await fetch(`${server.url}/docs`)).status, 200);
  });
});
