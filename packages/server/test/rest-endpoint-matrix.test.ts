/**
 * For every REST endpoint: a user token of company A gets 404 for anything of company B; a user of company A
 * without the permission gets 403 and nothing changes; the super-admin key succeeds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gqlOk, startServer, unique, type TestServer } from './helpers/server.ts';

interface Endpoint {
  name: string;
  method: string;
  path: (c: Fixture) => string;
  body?: (c: Fixture) => unknown;
  /** A write whose effect is checked to be absent after a refusal. */
  write?: boolean;
}
interface Fixture {
  company: string;
  group: string;
  user: string;
  role: string;
}

const endpoints: Endpoint[] = [
  { name: 'create group', method: 'POST', path: (f) => `/v3/companies/${f.company}/user-groups`, body: () => ({ name: unique('g'), description: '' }), write: true },
  { name: 'list groups', method: 'POST', path: (f) => `/v3/companies/${f.company}/user-groups/list`, body: () => ({ pagination: { offset: 0, limit: 10 } }) },
  { name: 'read group', method: 'GET', path: (f) => `/v3/companies/${f.company}/user-groups/${f.group}` },
  { name: 'rename group', method: 'PATCH', path: (f) => `/v3/companies/${f.company}/user-groups/${f.group}`, body: () => ({ name: 'Hijacked' }), write: true },
  { name: 'list members', method: 'POST', path: (f) => `/v3/companies/${f.company}/user-groups/${f.group}/members`, body: () => ({ pagination: { offset: 0, limit: 10 } }) },
  { name: 'change members', method: 'PATCH', path: (f) => `/v3/companies/${f.company}/user-groups/${f.group}/members`, body: (f) => ({ userIdsToAdd: [f.user] }), write: true },
  { name: 'list group roles', method: 'POST', path: (f) => `/v3/companies/${f.company}/user-groups/${f.group}/roles`, body: () => ({}) },
  { name: 'change group roles', method: 'PATCH', path: (f) => `/v3/companies/${f.company}/user-groups/${f.group}/roles`, body: (f) => ({ rolesToAdd: [{ roleId: f.role }] }), write: true },
  { name: 'create role', method: 'POST', path: (f) => `/v3/companies/${f.company}/roles/create`, body: () => ({ name: unique('Role'), permissions: [{ permission: 'USER_MANAGEMENT', actions: ['READ'] }] }), write: true },
  { name: 'list roles', method: 'POST', path: (f) => `/v3/companies/${f.company}/roles`, body: () => ({ pagination: { offset: 0, limit: 10 } }) },
  { name: "list a user's groups", method: 'POST', path: (f) => `/v3/users/${f.user}/user-groups`, body: () => ({ pagination: { offset: 0, limit: 10 } }) },
  { name: 'rbac-info', method: 'GET', path: (f) => `/v3/users/${f.user}/rbac-info` },
  { name: 'delete group', method: 'DELETE', path: (f) => `/v3/companies/${f.company}/user-groups/${f.group}`, write: true },
];

describe('REST endpoint matrix: tenancy and permissions', () => {
  let server: TestServer;
  let a: Fixture;
  let b: Fixture;
  let plainToken: string;

  const call = async (method: string, path: string, body: unknown, token: string) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { errorMessages?: { errorCode: string }[] } };
  };
  /** Everything a write could have touched, through the super-admin, to compare before and after. */
  const snapshot = async (f: Fixture) => {
    const key = server.apiKey;
    const groups = await call('POST', `/v3/companies/${f.company}/user-groups/list`, { pagination: { offset: 0, limit: 1000 } }, key);
    const members = await call('POST', `/v3/companies/${f.company}/user-groups/${f.group}/members`, { pagination: { offset: 0, limit: 1000 } }, key);
    const roles = await call('POST', `/v3/companies/${f.company}/user-groups/${f.group}/roles`, {}, key);
    return JSON.stringify([groups.body, members.body, roles.body]);
  };

  before(async () => {
    server = await startServer();
    const fixture = async (name: string): Promise<Fixture> => {
      const company = (await gqlOk<{ createTenant: { id: string } }>(server, 'mutation($n: String!) { createTenant(tenant: { name: $n }) { id } }', { n: name })).createTenant.id;
      const ref = unique('matrix');
      const user = (await gqlOk<{ createUser: { id: string } }>(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference: ref, email: `${ref}@example.com`, tenantId: company } })).createUser.id;
      const res = await fetch(`${server.url}/v3/companies/${company}/user-groups`, { method: 'POST', headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Team', description: '' }) });
      const group = ((await res.json()) as { id: string }).id;
      return { company, group, user, role: '00000000-0000-7000-8000-000000000004' };
    };
    a = await fixture('Company A');
    b = await fixture('Company B');
    const ref = unique('plain');
    const plain = (await gqlOk<{ createUser: { id: string } }>(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference: ref, email: `${ref}@example.com`, tenantId: a.company } })).createUser.id;
    const token = await fetch(`${server.url}/v01/authorize`, { method: 'POST', headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ userId: plain }) });
    plainToken = ((await token.json()) as { accessToken: string }).accessToken;
  });
  after(() => server.close());

  for (const endpoint of endpoints) {
    it(`${endpoint.name}: company B's resources are 404 for a user of company A, nothing changes`, async () => {
      const before = await snapshot(b);
      const res = await call(endpoint.method, endpoint.path(b), endpoint.body?.(b), plainToken);
      assert.equal(res.status, 404, JSON.stringify(res.body));
      assert.equal(res.body.errorMessages?.[0]?.errorCode, 'NOT_FOUND');
      assert.equal(await snapshot(b), before);
    });

    it(`${endpoint.name}: without the permission, 403 in the user's own company, nothing changes`, async () => {
      const before = await snapshot(a);
      const res = await call(endpoint.method, endpoint.path(a), endpoint.body?.(a), plainToken);
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.errorMessages?.[0]?.errorCode, 'FORBIDDEN');
      assert.equal(await snapshot(a), before);
    });
  }

  it('the super-admin key may do all of it', async () => {
    for (const endpoint of endpoints) {
      const res = await call(endpoint.method, endpoint.path(a), endpoint.body?.(a), server.apiKey);
      assert.equal(res.status, 200, `${endpoint.name}: ${JSON.stringify(res.body)}`);
    }
  });
});
