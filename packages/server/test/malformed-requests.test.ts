/** Malformed HTTP requests to the GraphQL endpoint are client errors with the GraphQL error envelope, never 500s. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';

describe('malformed GraphQL requests', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ ROSTER_BODY_LIMIT_BYTES: '4096' });
  });
  after(() => server.close());

  const cases: [name: string, init: (key: string) => RequestInit & { path?: string }, status: number][] = [
    ['empty JSON body', (key) => ({ method: 'POST', headers: json(key), body: '' }), 400],
    ['invalid JSON', (key) => ({ method: 'POST', headers: json(key), body: '{nope' }), 400],
    ['query is a number', (key) => ({ method: 'POST', headers: json(key), body: '{"query":5}' }), 400],
    ['variables is an array', (key) => ({ method: 'POST', headers: json(key), body: '{"query":"{ users { totalCount } }","variables":[1]}' }), 400],
    ['no query', (key) => ({ method: 'POST', headers: json(key), body: '{}' }), 400],
    ['variable of the wrong type', (key) => ({ method: 'POST', headers: json(key), body: '{"query":"query($id: ID!){ user(id: $id) { id } }","variables":{"id":{"a":1}}}' }), 400],
    ['missing required variable', (key) => ({ method: 'POST', headers: json(key), body: '{"query":"query($id: ID!){ user(id: $id) { id } }"}' }), 400],
    ['syntax error', (key) => ({ method: 'POST', headers: json(key), body: '{"query":"{ users { "}' }), 400],
    ['unknown operation name', (key) => ({ method: 'POST', headers: json(key), body: '{"query":"{ users { totalCount } }","operationName":"nope"}' }), 400],
    ['batch array body', (key) => ({ method: 'POST', headers: json(key), body: '[{"query":"{ users { totalCount } }"}]' }), 400],
    ['text/plain body', (key) => ({ method: 'POST', headers: { ...json(key), 'content-type': 'text/plain' }, body: 'hello' }), 400],
    ['mutation over GET', (key) => ({ method: 'GET', headers: { authorization: `Bearer ${key}` }, path: `/graphql?query=${encodeURIComponent('mutation { deleteUser(id: "x") }')}` }), 400],
    ['body over the limit', (key) => ({ method: 'POST', headers: json(key), body: JSON.stringify({ query: `{ users { totalCount } }${' '.repeat(5000)}` }) }), 413],
    ['unknown field', (key) => ({ method: 'POST', headers: json(key), body: '{"query":"{ users { nope } }"}' }), 400],
    ['unknown filter key', (key) => ({ method: 'POST', headers: json(key), body: '{"query":"{ users(filter: { shoeSize: { equalTo: \\"9\\" } }) { totalCount } }"}' }), 400],
  ];

  for (const [name, init, status] of cases) {
    it(`${name} → ${status}`, async () => {
      const { path, ...request } = init(server.apiKey);
      const res = await fetch(`${server.url}${path ?? '/graphql'}`, request);
      assert.equal(res.status, status);
      const body = (await res.json()) as { errors?: { message: string; extensions: { code: string } }[] };
      assert.ok(body.errors?.length, 'an errors list');
      assert.equal(body.errors[0]!.extensions.code, status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_USER_INPUT');
      assert.ok(body.errors[0]!.message.length > 0);
    });
  }
});

function json(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
}
