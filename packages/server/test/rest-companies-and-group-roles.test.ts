/**
 * REST compatibility for a REST-only client: the companies it may see (`POST /v3/companies/list`,
 * `GET /v3/companies/{companyId}`), and the group-roles listing paged like every other listing (searchText,
 * sortParams, pagination). GraphQL `tenants` follows the same rule as the REST list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTenant, createUser, userToken } from './helpers/roster.ts';
import { gqlOk, rest, startServer, unique, type TestServer } from './helpers/server.ts';

interface Company { id: string; name: string; reference: string | null; isDefault: boolean; createdAt: { iso8601: string } }
interface CompanyPage { companies: Company[]; pagination: { totalNumResults: number } }
interface GroupRolesPage { roles: { role: { id: string; name: string } }[]; pagination: { totalNumResults: number } }

describe('REST: the companies a caller may see', () => {
  let server: TestServer;
  const prefix = unique('Listed');
  const ids: string[] = [];
  before(async () => {
    server = await startServer();
    for (const n of ['b', 'a', 'c']) ids.push(await createTenant(server, `${prefix} ${n}`));
  });
  after(() => server.close());

  it('the super-admin lists every company, searched, sorted and paged like the other listings', async () => {
    const all = await rest<CompanyPage>(server, 'POST', '/v3/companies/list', {});
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.ok(all.body.companies.some((c) => c.isDefault), 'the default company is listed');
    const searched = await rest<CompanyPage>(server, 'POST', '/v3/companies/list', { searchText: prefix.toUpperCase(), sortParams: { sortBy: 'NAME', sortOrder: 'DESC' } });
    assert.deepEqual(searched.body.companies.map((c) => c.name), [`${prefix} c`, `${prefix} b`, `${prefix} a`]);
    assert.equal(searched.body.pagination.totalNumResults, 3);
    const second = await rest<CompanyPage>(server, 'POST', '/v3/companies/list', { searchText: prefix, pagination: { offset: 1, limit: 1 } });
    assert.deepEqual(second.body.companies.map((c) => c.name), [`${prefix} b`]);
    assert.equal(second.body.pagination.totalNumResults, 3);
    const literal = await rest<CompanyPage>(server, 'POST', '/v3/companies/list', { searchText: '%' });
    assert.equal(literal.body.pagination.totalNumResults, 0, 'searchText is matched literally');
  });

  it('a user token lists and reads its own company only; another company is not found', async () => {
    const user = await createUser(server, { tenantId: ids[0] });
    const token = await userToken(server, user.id);
    const listed = await rest<CompanyPage>(server, 'POST', '/v3/companies/list', { pagination: { offset: 0, limit: 100 } }, token);
    assert.deepEqual(listed.body.companies.map((c) => c.id), [ids[0]]);
    assert.equal(listed.body.pagination.totalNumResults, 1);
    const own = await rest<Company>(server, 'GET', `/v3/companies/${ids[0]}`, undefined, token);
    assert.equal(own.status, 200);
    assert.equal(own.body.name, `${prefix} b`);
    assert.equal((await rest(server, 'GET', `/v3/companies/${ids[1]}`, undefined, token)).status, 404);
    const graphql = await gqlOk<{ tenants: { data: { id: string }[]; totalCount: number } }>(server, '{ tenants { data { id } totalCount } }', undefined, { token });
    assert.deepEqual(graphql.tenants.data.map((t) => t.id), [ids[0]]);
    assert.equal(graphql.tenants.totalCount, 1);
  });

  it('bad input names the field: an unknown property, a page too big', async () => {
    const unknown = await rest<{ errorCode: string }>(server, 'POST', '/v3/companies/list', { colour: 'red' });
    assert.equal(unknown.status, 400);
    const big = await rest<{ errorCode: string }>(server, 'POST', '/v3/companies/list', { pagination: { offset: 0, limit: 5000 } });
    assert.equal(big.status, 400);
  });
});

describe('REST: a group\'s roles, paged like every listing', () => {
  let server: TestServer;
  let companyId: string;
  let groupId: string;
  const names = ['Delta', 'alpha', 'Charlie', 'bravo'];
  before(async () => {
    server = await startServer();
    companyId = await createTenant(server);
    const created = await rest<{ id: string }>(server, 'POST', `/v3/companies/${companyId}/user-groups`, { name: unique('Roled'), description: '' });
    groupId = created.body.id;
    const roleIds: string[] = [];
    for (const name of names) {
      const role = await rest<{ id: string }>(server, 'POST', `/v3/companies/${companyId}/roles/create`, { name, permissions: [{ permission: 'USER_MANAGEMENT', actions: ['READ'] }] });
      assert.equal(role.status, 200, JSON.stringify(role.body));
      roleIds.push(role.body.id);
    }
    const set = await rest(server, 'PATCH', `/v3/companies/${companyId}/user-groups/${groupId}/roles`, { rolesToAdd: roleIds.map((roleId) => ({ roleId })) });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
  after(() => server.close());

  const list = (body: unknown) => rest<GroupRolesPage>(server, 'POST', `/v3/companies/${companyId}/user-groups/${groupId}/roles`, body);

  it('an empty body lists every role by name; pagination, searchText and sortParams work as elsewhere', async () => {
    const all = await list({});
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(all.body.roles.map((r) => r.role.name), ['alpha', 'bravo', 'Charlie', 'Delta']);
    assert.equal(all.body.pagination.totalNumResults, 4);
    const paged = await list({ pagination: { offset: 1, limit: 2 } });
    assert.deepEqual(paged.body.roles.map((r) => r.role.name), ['bravo', 'Charlie']);
    assert.equal(paged.body.pagination.totalNumResults, 4);
    const searched = await list({ searchText: 'A', sortParams: { sortBy: 'NAME', sortOrder: 'DESC' }, pagination: { offset: 0, limit: 100 } });
    assert.deepEqual(searched.body.roles.map((r) => r.role.name), ['Delta', 'Charlie', 'bravo', 'alpha']);
    const charlie = await list({ searchText: 'arl' });
    assert.deepEqual(charlie.body.roles.map((r) => r.role.name), ['Charlie']);
    assert.equal(charlie.body.pagination.totalNumResults, 1);
    const byCreation = await list({ sortParams: { sortBy: 'CREATED_AT', sortOrder: 'ASC' } });
    assert.deepEqual(byCreation.body.roles.map((r) => r.role.name), names);
  });

  it('bad input is a 400: a negative offset, an unknown property', async () => {
    assert.equal((await list({ pagination: { offset: -1, limit: 10 } })).status, 400);
    assert.equal((await list({ colour: 'red' })).status, 400);
  });
});
