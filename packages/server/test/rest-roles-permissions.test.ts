/**
 * Roles and permissions through groups (issue 3): a member inherits the group's roles at once and loses them on
 * removal; rbac-info says where each permission comes from; platform groups refuse renames and role changes but
 * accept member changes; a user token may do exactly what its effective permissions allow.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gqlOk, rest, startServer, unique, type TestServer } from './helpers/server.ts';

interface RbacInfo {
  hasOthersTripAccess: boolean;
  permissions: { permission: string; actions: string[]; grantedBy: { roleName: string; via: string; groupId: string | null }[] }[];
}

describe('REST v3 roles and permissions', () => {
  let server: TestServer;
  let company: string;
  let otherCompany: string;
  let adminsGroup: string;
  let admin: string;
  let member: string;
  let outsider: string;

  const call = <T>(method: string, path: string, body?: unknown, token?: string) => rest<T>(server, method, path, body, token);
  const tokenFor = async (userId: string) => {
    const res = await call<{ accessToken: string }>('POST', '/v01/authorize', { userId });
    return res.body.accessToken;
  };
  const createUser = async (tenantId: string) => {
    const ref = unique('rbac-user');
    return (await gqlOk<{ createUser: { id: string } }>(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference: ref, email: `${ref}@example.com`, tenantId } })).createUser.id;
  };
  const groups = (c: string) => `/v3/companies/${c}/user-groups`;

  before(async () => {
    server = await startServer();
    const tenant = async (name: string) => (await gqlOk<{ createTenant: { id: string } }>(server, 'mutation($n: String!) { createTenant(tenant: { name: $n }) { id } }', { n: name })).createTenant.id;
    company = await tenant('RBAC Co');
    otherCompany = await tenant('Other Co');
    [admin, member, outsider] = [await createUser(company), await createUser(company), await createUser(otherCompany)];
    const list = await call<{ userGroups: { id: string; name: string; isUnmodifiable: boolean }[] }>('POST', `${groups(company)}/list`, { pagination: { offset: 0, limit: 10 } });
    const platform = list.body.userGroups.find((g) => g.isUnmodifiable);
    assert.ok(platform, 'every company starts with a platform group');
    assert.equal(platform.name, 'Company Admins');
    adminsGroup = platform.id;
    await call('PATCH', `${groups(company)}/${adminsGroup}/members`, { userIdsToAdd: [admin] });
  });
  after(() => server.close());

  it('a user added to a group gains its permissions in rbac-info at once, with the source, and loses them when removed', async () => {
    const empty = await call<RbacInfo>('GET', `/v3/users/${member}/rbac-info`);
    assert.deepEqual(empty.body, { hasOthersTripAccess: false, permissions: [] });

    const roles = await call<{ roles: { id: string; name: string; isPlatformRole: boolean }[] }>('POST', `/v3/companies/${company}/roles`, { pagination: { offset: 0, limit: 100 }, filters: [{ roleProvidedBy: ['PLATFORM'] }] });
    const viewer = roles.body.roles.find((r) => r.name === 'Viewer');
    assert.ok(viewer?.isPlatformRole);
    const { body: group } = await call<{ id: string }>('POST', groups(company), { name: unique('Viewers'), description: 'Read-only' });
    const patched = await call<{ roles: { role: { id: string } }[] }>('PATCH', `${groups(company)}/${group.id}/roles`, { rolesToAdd: [{ roleId: viewer.id, scope: { audiences: [] } }] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body.roles.map((r) => r.role.id), [viewer.id]);

    await call('PATCH', `${groups(company)}/${group.id}/members`, { userIdsToAdd: [member] });
    const gained = await call<RbacInfo>('GET', `/v3/users/${member}/rbac-info`);
    const access = gained.body.permissions.find((p) => p.permission === 'ACCESS_MANAGEMENT');
    assert.deepEqual(access?.actions, ['READ']);
    assert.deepEqual(access?.grantedBy.map((s) => [s.roleName, s.via, s.groupId]), [['Viewer', 'group', group.id]]);

    // The same permission through GraphQL, from the same service.
    const viaGraphql = await gqlOk<{ user: { effectivePermissions: { permission: string; actions: string[] }[] } }>(server, `{ user(id: "${member}") { effectivePermissions { permission actions sources { roleName via } } } }`);
    assert.ok(viaGraphql.user.effectivePermissions.some((p) => p.permission === 'ACCESS_MANAGEMENT' && p.actions.includes('READ')));

    await call('PATCH', `${groups(company)}/${group.id}/members`, { userIdsToRemove: [member] });
    const lost = await call<RbacInfo>('GET', `/v3/users/${member}/rbac-info`);
    assert.deepEqual(lost.body.permissions, []);
  });

  it('a platform group refuses renames, deletion and role changes, and accepts member changes', async () => {
    const path = `${groups(company)}/${adminsGroup}`;
    assert.equal((await call('PATCH', path, { name: 'Renamed' })).status, 403);
    assert.equal((await call('PATCH', path, { description: 'x' })).status, 403);
    assert.equal((await call('DELETE', path)).status, 403);
    const roles = await call<{ roles: { role: { id: string } }[] }>('POST', `${path}/roles`, {});
    assert.equal((await call('PATCH', `${path}/roles`, { rolesToDelete: [{ roleId: roles.body.roles[0]!.role.id }] })).status, 403);
    const after = await call<{ name: string }>('GET', path);
    assert.equal(after.body.name, 'Company Admins');
    assert.deepEqual((await call<{ roles: unknown[] }>('POST', `${path}/roles`, {})).body.roles.length, roles.body.roles.length);
    assert.equal((await call('PATCH', `${path}/members`, { userIdsToAdd: [member] })).status, 200);
    assert.equal((await call('PATCH', `${path}/members`, { userIdsToRemove: [member] })).status, 200);
  });

  it('a user token may do what its permissions allow: a company admin changes members; a plain member gets 403 and nothing changes', async () => {
    const adminToken = await tokenFor(admin);
    const memberToken = await tokenFor(member);
    const { body: group } = await call<{ id: string }>('POST', groups(company), { name: unique('Team'), description: '' });
    const membersPath = `${groups(company)}/${group.id}/members`;

    const denied = await call<{ errorMessages: { errorCode: string }[] }>('PATCH', membersPath, { userIdsToAdd: [member] }, memberToken);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.errorMessages[0]?.errorCode, 'FORBIDDEN');
    assert.equal((await call<{ pagination: { totalNumResults: number } }>('POST', membersPath, { pagination: { offset: 0, limit: 10 } })).body.pagination.totalNumResults, 0);
    assert.equal((await call('GET', `/v3/users/${admin}/rbac-info`, undefined, memberToken)).status, 403);

    assert.equal((await call('PATCH', membersPath, { userIdsToAdd: [member] }, adminToken)).status, 200);
    const listed = await call<{ userGroups: unknown[] }>('POST', `${groups(company)}/list`, { pagination: { offset: 0, limit: 100 } }, adminToken);
    assert.equal(listed.status, 200);
    assert.ok(listed.body.userGroups.length >= 2, 'an admin sees every group of the company');
    assert.equal((await call('GET', `/v3/users/${member}/rbac-info`, undefined, adminToken)).status, 200);
    // Still nothing in another company.
    assert.equal((await call('GET', `/v3/users/${outsider}/rbac-info`, undefined, adminToken)).status, 404);
    const otherGroups = await call('POST', `${groups(otherCompany)}/list`, { pagination: { offset: 0, limit: 10 } }, adminToken);
    assert.equal(otherGroups.status, 404);
  });

  it('a company admin (ACCESS_MANAGEMENT: WRITE) creates roles and groups; createdBy names the admin', async () => {
    const adminToken = await tokenFor(admin);
    const role = await call<{ id: string; name: string; isPlatformRole: boolean; companyId: string; permissions: { permission: string; actions: string[] }[] }>(
      'POST', `/v3/companies/${company}/roles/create`, { name: 'Report Reader', permissions: [{ permission: 'REPORT_MANAGEMENT', actions: ['READ'] }] }, adminToken,
    );
    assert.equal(role.status, 200, JSON.stringify(role.body));
    assert.equal(role.body.isPlatformRole, false);
    assert.equal(role.body.companyId, company);
    const duplicate = await call<{ errorMessages: { errorCode: string }[] }>('POST', `/v3/companies/${company}/roles/create`, { name: 'Report Reader', permissions: [] }, adminToken);
    assert.equal(duplicate.status, 409);
    const badPermission = await call('POST', `/v3/companies/${company}/roles/create`, { name: 'Bad', permissions: [{ permission: 'TIME_TRAVEL', actions: ['READ'] }] }, adminToken);
    assert.equal(badPermission.status, 400);

    const created = await call<{ id: string }>('POST', groups(company), { name: unique('Reports'), description: 'made by an admin' }, adminToken);
    assert.equal(created.status, 200);
    const group = await call<{ createdBy: { id: string }; updatedBy: { id: string } }>('GET', `${groups(company)}/${created.body.id}`);
    assert.equal(group.body.createdBy.id, admin);
    assert.equal((await call('PATCH', `${groups(company)}/${created.body.id}/roles`, { rolesToAdd: [{ roleId: role.body.id }] }, adminToken)).status, 200);
    await call('PATCH', `${groups(company)}/${created.body.id}/members`, { userIdsToAdd: [member] }, adminToken);
    const info = await call<RbacInfo>('GET', `/v3/users/${member}/rbac-info`);
    assert.ok(info.body.permissions.some((p) => p.permission === 'REPORT_MANAGEMENT' && p.grantedBy.some((s) => s.roleName === 'Report Reader')));
    assert.equal((await call('POST', `/v3/companies/${company}/roles/create`, { name: 'Nope', permissions: [] }, await tokenFor(member))).status, 403);
  });

  it('role changes validate: unknown role or another company’s role is a 400, nothing changes; the permission catalog lists resources', async () => {
    const { body: group } = await call<{ id: string }>('POST', groups(company), { name: unique('Strict'), description: '' });
    const path = `${groups(company)}/${group.id}/roles`;
    const otherRole = await gqlOk<{ createRole: { id: string } }>(server, 'mutation($t: ID) { createRole(role: { key: "other-co-role", name: "Other", tenantId: $t, permissions: [{ permission: "USER_MANAGEMENT", actions: ["READ"] }] }) { id } }', { t: otherCompany });
    assert.equal((await call('PATCH', path, { rolesToAdd: [{ roleId: '00000000-0000-4000-8000-000000000000' }] })).status, 400);
    assert.equal((await call('PATCH', path, { rolesToAdd: [{ roleId: otherRole.createRole.id }] })).status, 400);
    assert.equal((await call('PATCH', path, { rolesToAdd: [{ roleId: 'nope' }] })).status, 400);
    assert.deepEqual((await call<{ roles: unknown[] }>('POST', path, {})).body.roles, []);
    const catalog = await call<{ permissions: { name: string }[] }>('GET', '/v3/permissions');
    assert.ok(catalog.body.permissions.some((p) => p.name === 'ACCESS_MANAGEMENT'));
    const companyCatalog = await call<{ permissions: { name: string }[] }>('GET', `/v3/companies/${company}/permissions`);
    assert.deepEqual(companyCatalog.body, catalog.body);
    assert.equal((await call('GET', `/v3/companies/${otherCompany}/permissions`, undefined, await tokenFor(member))).status, 404);
  });
});
