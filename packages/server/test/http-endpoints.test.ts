/** The HTTP surface besides /graphql: the SDK's GraphQL path answers the same schema; health and readiness probes. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { createUser, gql } from './helpers/roster.ts';

describe('HTTP endpoints', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('POST /v01/server/graphql answers the same schema as /graphql', async () => {
    const user = await createUser(server, { firstName: 'Alias' });
    const query = `query($id: ID!) { user(id: $id) { id firstName } }`;
    const viaAlias = await gql<{ user: { id: string; firstName: string } }>(server, query, { id: user.id }, { path: '/v01/server/graphql' });
    const viaMain = await gql<{ user: { id: string; firstName: string } }>(server, query, { id: user.id });
    assert.equal(viaAlias.status, 200);
    assert.deepEqual(viaAlias.data, { user: { id: user.id, firstName: 'Alias' } });
    assert.deepEqual(viaAlias.data, viaMain.data);

    const schemaAlias = await gql<{ __schema: { mutationType: { fields: { name: string }[] } } }>(
      server,
      '{ __schema { mutationType { fields { name } } } }',
      undefined,
      { path: '/v01/server/graphql' },
    );
    const names = schemaAlias.data?.__schema.mutationType.fields.map((f) => f.name) ?? [];
    for (const name of ['createUser', 'addUsersToUserGroup', 'addUsersToGroup', 'addManagersToGroup', 'updateOrCreateUser']) {
      assert.ok(names.includes(name), `${name} missing from the schema at /v01/server/graphql`);
    }

    // Mutations work there too, and errors carry the same envelope.
    const res = await gql(server, '{ user(id: "nope") { id } }', undefined, { path: '/v01/server/graphql' });
    assert.equal(res.status, 400);
    assert.equal(res.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
  });

  it('GET /healthz and /readyz answer 200 without credentials', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 200, path);
      const body = (await response.json()) as { status: string };
      assert.equal(typeof body.status, 'string');
    }
  });

  it("every response carries the server's own request id, echoing a well-formed x-request-id beside it", async () => {
    const response = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(response.headers.get('x-client-request-id'), 'trace-123');
    const generated = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(generated.headers.get('x-client-request-id'), null, 'a malformed one is dropped');
  });
});
