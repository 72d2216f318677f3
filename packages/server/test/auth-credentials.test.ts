/**
 * Credentials: no credentials or a wrong API key is a 401 UNAUTHENTICATED, as is an expired or tampered user
 * token; nothing runs for such a request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { countUsers, createUser, expectError, gql, unique, userToken } from './helpers/roster.ts';

const CREATE_USER = 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }';

describe('credentials', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const newUser = () => {
    const reference = unique('anon');
    return { u: { reference, email: `${reference}@example.test` } };
  };

  it('no credentials: 401 UNAUTHENTICATED, on both GraphQL paths; nothing written', async () => {
    const before = await countUsers(server);
    for (const path of ['/graphql', '/v01/server/graphql']) {
      const res = await gql(server, CREATE_USER, newUser(), { token: null, path });
      expectError(res, 'UNAUTHENTICATED');
      assert.equal(res.status, 401);
      assert.equal(res.data, null);
    }
    assert.equal(await countUsers(server), before);
  });

  it('a wrong API key: 401; nothing written', async () => {
    const before = await countUsers(server);
    for (const token of ['wrong-key-wrong-key-wrong-key', `${server.apiKey}x`, server.apiKey.slice(0, -1)]) {
      const res = await gql(server, CREATE_USER, newUser(), { token });
      expectError(res, 'UNAUTHENTICATED');
      assert.equal(res.status, 401);
    }
    assert.equal(await countUsers(server), before);
  });

  it('a malformed Authorization header: 401', async () => {
    for (const authorization of ['Basic abc', 'Bearer', server.apiKey, `Token ${server.apiKey}`]) {
      const res = await gql(server, '{ users { totalCount } }', undefined, { token: null, headers: { authorization } });
      expectError(res, 'UNAUTHENTICATED');
      assert.equal(res.status, 401);
    }
  });

  it('the right key is accepted', async () => {
    const res = await gql(server, '{ users(limit: 1) { totalCount } }');
    assert.equal(res.status, 200);
    assert.equal(res.errors, undefined);
  });

  it('an expired user token: UNAUTHENTICATED', async () => {
    const user = await createUser(server);
    const { accessToken } = await server.app.services.auth.sign({ kind: 'user', userId: user.id, tenantId: user.tenantId }, -60);
    const res = await gql(server, `{ user(id: "${user.id}") { id } }`, undefined, { token: accessToken });
    expectError(res, 'UNAUTHENTICATED', /expired/);
    assert.equal(res.status, 401);
  });

  it('a tampered user token: UNAUTHENTICATED', async () => {
    const user = await createUser(server);
    const other = await createUser(server);
    const token = await userToken(server, user.id);
    const ok = await gql(server, `{ user(id: "${user.id}") { id } }`, undefined, { token });
    assert.equal(ok.errors, undefined);

    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    // Claim to be another user, or the super-admin, keeping the original signature.
    const forged = [
      { ...claims, sub: other.id },
      { ...claims, kind: 'superAdmin', sub: 'service-account' },
    ].map((c) => `${header}.${Buffer.from(JSON.stringify(c)).toString('base64url')}.${signature}`);
    // A signature that is not the server's; and an unsigned token.
    forged.push(`${header}.${payload}.${signature.slice(0, -4)}AAAA`);
    forged.push(`${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`);
    for (const bad of forged) {
      const res = await gql(server, `{ user(id: "${other.id}") { id } }`, undefined, { token: bad });
      expectError(res, 'UNAUTHENTICATED');
      assert.equal(res.status, 401);
    }
  });

  it('POST /v01/authorize needs the API key and an existing user', async () => {
    const user = await createUser(server);
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${server.url}/v01/authorize`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

    const anonymous = await post({}, { userId: user.id });
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { errorCode: string }).errorCode, 'UNAUTHENTICATED');

    const wrong = await post({ authorization: 'Bearer wrong-key-wrong-key-wrong' }, { userId: user.id });
    assert.equal(wrong.status, 401);

    // A user token may not mint tokens for others.
    const token = await userToken(server, user.id);
    const asUser = await post({ authorization: `Bearer ${token}` }, { userId: user.id });
    assert.equal(asUser.status, 403);

    const unknown = await post({ authorization: `Bearer ${server.apiKey}` }, { userId: '00000000-0000-4000-8000-000000000000' });
    assert.equal(unknown.status, 404);
    const malformed = await post({ authorization: `Bearer ${server.apiKey}` }, { userId: 'nope' });
    assert.equal(malformed.status, 400);
    const body = (await malformed.json()) as { statusCode: number; errorCode: string; message: string };
    assert.deepEqual([body.statusCode, body.errorCode], [400, 'BAD_USER_INPUT']);
    assert.match(body.message, /userId/);
  });
});
