/**
 * Keys named `__proto__` or `constructor` are refused wherever JSON comes in, with one rule for REST and GraphQL:
 * 400 BAD_USER_INPUT, naming the key's path, and nothing written. Body-level and nested, in REST bodies, GraphQL
 * request bodies and variables (customData included), GET variables and JSON literals in a GraphQL document.
 * Escaped spellings (`"\u005f_proto__"`) are the same key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTenant, createUser } from './helpers/roster.ts';
import { gqlOk, startServer, unique, type TestServer } from './helpers/server.ts';

const MESSAGE = /keys named "__proto__" or "constructor" are not accepted/;

describe('__proto__ and constructor keys', () => {
  let server: TestServer;
  let tenant: string;
  let groupId: string;
  before(async () => {
    server = await startServer();
    tenant = await createTenant(server);
    const created = await gqlOk<{ createUserGroup: { id: string } }>(server, 'mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id } }', {
      g: { name: unique('Proto'), reference: unique('proto'), tenantId: tenant },
    });
    groupId = created.createUserGroup.id;
  });
  after(() => server.close());

  /** Posts raw JSON text (so `__proto__` travels as a key, as JSON.stringify of a literal would not send it). */
  async function post(path: string, text: string, method = 'POST') {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
      body: text,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  function assertRestRefused(res: { status: number; body: Record<string, unknown> }, field: string): void {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const [error] = res.body.errorMessages as { errorCode: string; message: string; errorParameters: { name: string; value: string }[] }[];
    assert.equal(error?.errorCode, 'BAD_USER_INPUT');
    assert.match(error.message, MESSAGE);
    assert.equal(error.message.split(':')[0], field);
    assert.deepEqual(error.errorParameters, [{ name: 'field', value: field }]);
  }

  function assertGraphqlRefused(res: { status: number; body: Record<string, unknown> }, field: string): void {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const [error] = res.body.errors as { message: string; extensions: { code: string; field?: string } }[];
    assert.equal(error?.extensions.code, 'BAD_USER_INPUT');
    assert.match(error.message, MESSAGE);
    assert.equal(error.extensions.field, field);
    assert.equal(res.body.data ?? null, null);
  }

  const groupsNamed = async (name: string) =>
    (await gqlOk<{ userGroups: { totalCount: number } }>(server, 'query($n: String!) { userGroups(filter: { name: { equalTo: $n } }) { totalCount } }', { n: name })).userGroups.totalCount;

  it('REST: refused at the top of the body, nothing created', async () => {
    for (const key of ['__proto__', 'constructor']) {
      const name = unique('rest-top');
      assertRestRefused(await post(`/v3/companies/${tenant}/user-groups`, `{"name":"${name}","description":"","${key}":{"isAdmin":true}}`), key);
      assert.equal(await groupsNamed(name), 0);
    }
    // Accepted without the key.
    const fine = await post(`/v3/companies/${tenant}/user-groups`, JSON.stringify({ name: unique('rest-fine'), description: '' }));
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
  });

  it('REST: refused nested, in objects and arrays, in any spelling', async () => {
    assertRestRefused(await post(`/v3/companies/${tenant}/user-groups/list`, '{"pagination":{"offset":0,"limit":5,"__proto__":{"limit":1000000}}}'), 'pagination.__proto__');
    assertRestRefused(await post(`/v3/companies/${tenant}/user-groups/list`, '{"pagination":{"offset":0,"limit":5,"constructor":{"prototype":{}}}}'), 'pagination.constructor');
    assertRestRefused(await post(`/v3/companies/${tenant}/user-groups/${groupId}/members`, '{"userIdsToAdd":[{"a":{"__proto__":1}}]}', 'PATCH'), 'userIdsToAdd.0.a.__proto__');
    assertRestRefused(await post(`/v3/companies/${tenant}/user-groups/list`, '{"pagination":{"\\u005f_proto__":{}}}'), 'pagination.__proto__');
    const fine = await post(`/v3/companies/${tenant}/user-groups/list`, '{"pagination":{"offset":0,"limit":5},"searchText":"__proto__ constructor \\u0041"}');
    assert.equal(fine.status, 200, 'the words as values are fine');
  });

  it('GraphQL: refused at the top of the request body and in variables', async () => {
    assertGraphqlRefused(await post('/graphql', '{"query":"{ users { totalCount } }","__proto__":{"query":"{ tenants { totalCount } }"}}'), '__proto__');
    assertGraphqlRefused(await post('/graphql', '{"query":"query($id: ID!) { user(id: $id) { id } }","variables":{"id":"x","constructor":1}}'), 'variables.constructor');
  });

  it('GraphQL: refused in customData given as a variable, nothing written', async () => {
    const reference = unique('proto-user');
    const query = 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }';
    for (const key of ['__proto__', 'constructor']) {
      const text = `{"query":${JSON.stringify(query)},"variables":{"u":{"reference":"${reference}","email":"${reference}@example.test","tenantId":"${tenant}","customData":{"ok":1,"nested":{"${key}":{"isAdmin":true}}}}}}`;
      assertGraphqlRefused(await post('/graphql', text), `variables.u.customData.nested.${key}`);
    }
    const found = await gqlOk<{ users: { totalCount: number } }>(server, 'query($r: String!) { users(filter: { reference: { equalTo: $r } }) { totalCount } }', { r: reference });
    assert.equal(found.users.totalCount, 0);
    // Accepted without the key.
    const fine = await post('/graphql', JSON.stringify({ query, variables: { u: { reference, email: `${reference}@example.test`, tenantId: tenant, customData: { ok: 1, nested: { role: 'constructor' } } } } }));
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
    assert.equal((fine.body.errors as unknown[] | undefined)?.length, undefined);
  });

  it('GraphQL: refused in customData written as a literal in the document, and in a variable default', async () => {
    const user = await createUser(server, { tenantId: tenant });
    for (const key of ['__proto__', 'constructor']) {
      const query = `mutation { updateUser(id: "${user.id}", user: { customData: { a: { ${key}: { isAdmin: true } } } }) { id } }`;
      assertGraphqlRefused(await post('/graphql', JSON.stringify({ query })), `user.customData.a.${key}`);
    }
    const withDefault = 'mutation($c: JsonObject = { __proto__: { isAdmin: true } }) { updateUser(id: "' + user.id + '", user: { customData: $c }) { id } }';
    assertGraphqlRefused(await post('/graphql', JSON.stringify({ query: withDefault })), '$c.__proto__');
    const read = await gqlOk<{ user: { customData: Record<string, unknown> | null; version: number } }>(server, 'query($id: ID!) { user(id: $id) { customData version } }', { id: user.id });
    assert.equal(read.user.version, 1, 'nothing was written');
    // Accepted without the key.
    const fine = await post('/graphql', JSON.stringify({ query: `mutation { updateUser(id: "${user.id}", user: { customData: { a: { b: 1 } } }) { id } }` }));
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
  });

  it('GraphQL over GET: refused in the variables of the query string', async () => {
    const query = encodeURIComponent('query($f: UserFilterArgType) { users(filter: $f) { totalCount } }');
    const variables = encodeURIComponent('{"f":{"customData":{"contains":{"__proto__":{"x":1}}}}}');
    const response = await fetch(`${server.url}/graphql?query=${query}&variables=${variables}`, { headers: { authorization: `Bearer ${server.apiKey}` } });
    assertGraphqlRefused({ status: response.status, body: (await response.json()) as Record<string, unknown> }, 'variables.f.customData.contains.__proto__');
    const fine = await fetch(`${server.url}/graphql?query=${query}&variables=${encodeURIComponent('{"f":{"customData":{"contains":{"x":1}}}}')}`, { headers: { authorization: `Bearer ${server.apiKey}` } });
    assert.equal(fine.status, 200, await fine.text());
  });
});
