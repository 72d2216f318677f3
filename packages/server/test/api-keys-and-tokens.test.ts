/**
 * Credentials and HTTP hardening: super-admin API keys managed through the API (created, listed by prefix only,
 * rotated with or without a grace period, revoked with the service-account tokens obtained with them, and never
 * the last one when no ROSTER_API_KEY is configured); ES256 tokens with a `kid`, verifiable by anyone against
 * /.well-known/jwks.json, through signing-key rotation; security headers on every response; CORS closed unless
 * origins are configured.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { TEST_API_KEY, rest, startServer, startSibling, type SiblingServer, type TestServer } from './helpers/server.ts';
import { createTenant, createUser, expectError, gql, gqlOk, userToken, type Server } from './helpers/roster.ts';

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  replacedBy: string | null;
}

interface RestApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: { iso8601: string };
  lastUsedAt: { iso8601: string } | null;
  expiresAt: { iso8601: string } | null;
  revokedAt: { iso8601: string } | null;
  replacedBy: string | null;
}

interface SigningKey {
  kid: string;
  createdAt: string;
  retiredAt: string | null;
  signing: boolean;
}

interface RestError {
  errorMessages: { errorCode: string }[];
}

const KEY_FIELDS = 'id name prefix createdAt lastUsedAt expiresAt revokedAt replacedBy';
const CREATE_KEY = `mutation($n: String!, $e: Date) { createApiKey(name: $n, expiresAt: $e) { apiKey { ${KEY_FIELDS} } key } }`;
const ROTATE_KEY = `mutation($id: ID!, $g: Int) { rotateApiKey(id: $id, gracePeriodSeconds: $g) { apiKey { ${KEY_FIELDS} } key } }`;
const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;
const LIST_KEYS = `query($r: Boolean) { apiKeys(includeRevoked: $r) { ${KEY_FIELDS} } }`;
const SIGNING_KEYS = '{ signingKeys { kid createdAt retiredAt signing } }';
// Something only the super-admin may read.
const PROBE = '{ tenants(limit: 1) { totalCount } }';


describe('API keys, tokens and HTTP protection', () => {
  let server: TestServer;
  // No ROSTER_API_KEY (a key is generated at its first start), CORS open to https://app.example.
  let sibling: SiblingServer;
  let tenant: string;
  let userId: string;
  let token: string;

  /** The status a credential gets on GraphQL and on REST, which must agree. */
  async function statusWith(credential: string, target: Pick<Server, 'url'> = server): Promise<number> {
    const viaGraphql = await gql({ url: target.url, apiKey: credential }, PROBE);
    const viaRest = await rest({ url: target.url, apiKey: credential }, 'GET', `/v3/companies/${tenant}/user-groups/${randomUUID()}`);
    const graphqlOk = viaGraphql.status === 200 && !viaGraphql.errors;
    // A valid credential reaches the route: the group does not exist.
    const restOk = viaRest.status === 404;
    assert.equal(graphqlOk, restOk, `GraphQL ${viaGraphql.status} ${JSON.stringify(viaGraphql.errors)} vs REST ${viaRest.status}`);
    if (graphqlOk) return 200;
    expectError(viaGraphql, 'UNAUTHENTICATED');
    assert.equal(viaRest.status, 401);
    return 401;
  }

  async function serviceAccountToken(apiKey: string, target: Pick<Server, 'url'> = server): Promise<{ status: number; accessToken?: string }> {
    const response = await fetch(`${target.url}/v01/authorize/serviceAccount`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey }) });
    const body = (await response.json()) as { accessToken?: string };
    return { status: response.status, accessToken: body.accessToken };
  }

  const createKey = async (name: string, target: Server = server) => (await gqlOk<{ createApiKey: { apiKey: ApiKey; key: string } }>(target, CREATE_KEY, { n: name })).createApiKey;
  const listKeys = async (includeRevoked: boolean, target: Server = server) => (await gqlOk<{ apiKeys: ApiKey[] }>(target, LIST_KEYS, { r: includeRevoked })).apiKeys;

  before(async () => {
    server = await startServer();
    // Built before any key is stored, so it generates one.
    sibling = await startSibling(server, { ROSTER_API_KEY: '', ROSTER_CORS_ORIGINS: 'https://app.example' });
    assert.ok(sibling.app.generatedApiKey, 'without ROSTER_API_KEY and without stored keys, a key is generated');
    assert.equal(server.app.generatedApiKey, undefined, 'with ROSTER_API_KEY, none is');
    tenant = await createTenant(server);
    userId = (await createUser(server, { tenantId: tenant })).id;
    token = await userToken(server, userId);
  });
  after(async () => {
    await sibling?.close();
    await server?.close();
  });

  describe('API keys', () => {
    it('a new key works as Bearer at once; lists show its prefix only, never the key', async () => {
      const { apiKey, key } = await createKey('ci pipeline');
      assert.equal(apiKey.name, 'ci pipeline');
      assert.ok(key.length >= 32, 'a long random key');
      assert.ok(key.startsWith(apiKey.prefix), 'the prefix is the start of the key');
      assert.ok(apiKey.prefix.length >= 4 && apiKey.prefix.length < key.length / 2, `prefix ${apiKey.prefix}`);
      assert.deepEqual([apiKey.lastUsedAt, apiKey.expiresAt, apiKey.revokedAt, apiKey.replacedBy], [null, null, null, null]);
      assert.ok(!Number.isNaN(Date.parse(apiKey.createdAt)));
      assert.equal(await statusWith(key), 200);

      const listed = await listKeys(false);
      const entry = listed.find((k) => k.id === apiKey.id);
      assert.ok(entry);
      assert.equal(entry.prefix, apiKey.prefix);
      assert.ok(!JSON.stringify(listed).includes(key), 'GraphQL never shows the key again');
      const viaRest = await rest<{ apiKeys: RestApiKey[] }>(server, 'GET', '/v3/api-keys');
      assert.equal(viaRest.status, 200);
      const restEntry = viaRest.body.apiKeys.find((k) => k.id === apiKey.id);
      assert.deepEqual(restEntry && [restEntry.name, restEntry.prefix, restEntry.createdAt.iso8601, restEntry.revokedAt], [apiKey.name, apiKey.prefix, apiKey.createdAt, null]);
      assert.ok(!JSON.stringify(viaRest.body).includes(key), 'REST never shows the key again');
      assert.ok(!JSON.stringify(viaRest.body).includes(TEST_API_KEY));

      // REST creation, with an expiry.
      const expiresAt = new Date(Date.now() + 86400_000).toISOString();
      const created = await rest<{ apiKey: RestApiKey; key: string }>(server, 'POST', '/v3/api-keys', { name: 'rest key', expiresAt });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.ok(created.body.key.startsWith(created.body.apiKey.prefix));
      assert.equal(created.body.apiKey.expiresAt?.iso8601, expiresAt);
      assert.equal(await statusWith(created.body.key), 200);

      // Input is validated.
      expectError(await gql(server, CREATE_KEY, { n: '' }), 'BAD_USER_INPUT', 'name');
      expectError(await gql(server, CREATE_KEY, { n: 'past', e: new Date(Date.now() - 1000).toISOString() }), 'BAD_USER_INPUT', 'expiresAt');
      assert.equal((await rest(server, 'POST', '/v3/api-keys', {})).status, 400);
    });

    it('a key with an expiry stops working when it expires', async () => {
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const created = (await gqlOk<{ createApiKey: { apiKey: ApiKey; key: string } }>(server, CREATE_KEY, { n: 'short-lived', e: expiresAt })).createApiKey;
      assert.equal(created.apiKey.expiresAt, expiresAt);
      assert.equal(await statusWith(created.key), 200);
      await sleep(Date.parse(expiresAt) - Date.now() + 300);
      assert.equal(await statusWith(created.key), 401);
      assert.equal((await serviceAccountToken(created.key)).status, 401);
    });

    it('revoking a key: the key and the service-account tokens obtained with it get 401 at once', async () => {
      const { apiKey, key } = await createKey('to revoke');
      const exchanged = await serviceAccountToken(key);
      assert.equal(exchanged.status, 200);
      const serviceToken = exchanged.accessToken!;
      assert.equal(await statusWith(serviceToken), 200);
      // An unrelated key's token is unaffected below.
      const other = await createKey('bystander');
      const otherToken = (await serviceAccountToken(other.key)).accessToken!;

      const revoked = (await gqlOk<{ revokeApiKey: ApiKey }>(server, REVOKE_KEY, { id: apiKey.id })).revokeApiKey;
      assert.equal(revoked.id, apiKey.id);
      assert.ok(revoked.revokedAt && !Number.isNaN(Date.parse(revoked.revokedAt)));
      assert.equal(await statusWith(key), 401);
      assert.equal(await statusWith(serviceToken), 401);
      assert.equal((await serviceAccountToken(key)).status, 401, 'no new token for a revoked key');
      assert.equal(await statusWith(other.key), 200);
      assert.equal(await statusWith(otherToken), 200);

      // Revoked keys are listed only on request.
      assert.ok(!(await listKeys(false)).some((k) => k.id === apiKey.id));
      assert.equal((await listKeys(true)).find((k) => k.id === apiKey.id)?.revokedAt, revoked.revokedAt);
      // Revoking again is harmless; an unknown key is not found.
      assert.equal((await gqlOk<{ revokeApiKey: ApiKey }>(server, REVOKE_KEY, { id: apiKey.id })).revokeApiKey.revokedAt, revoked.revokedAt);
      expectError(await gql(server, REVOKE_KEY, { id: randomUUID() }), 'NOT_FOUND');

      // The same through REST.
      const restDelete = await rest<RestApiKey>(server, 'DELETE', `/v3/api-keys/${other.apiKey.id}`);
      assert.equal(restDelete.status, 200, JSON.stringify(restDelete.body));
      assert.ok(restDelete.body.revokedAt);
      assert.equal(await statusWith(other.key), 401);
      assert.equal(await statusWith(otherToken), 401);
      assert.equal((await rest<RestError>(server, 'DELETE', `/v3/api-keys/${randomUUID()}`)).status, 404);
    });

    it('REST lists revoked keys with includeRevoked=true', async () => {
      const { apiKey } = await createKey('revoked, listed');
      await gqlOk(server, REVOKE_KEY, { id: apiKey.id });
      const active = await rest<{ apiKeys: RestApiKey[] }>(server, 'GET', '/v3/api-keys');
      assert.equal(active.status, 200);
      assert.ok(!active.body.apiKeys.some((k) => k.id === apiKey.id));
      const all = await rest<{ apiKeys: RestApiKey[] }>(server, 'GET', '/v3/api-keys?includeRevoked=true');
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assert.ok(all.body.apiKeys.find((k) => k.id === apiKey.id)?.revokedAt);
      const explicit = await rest<{ apiKeys: RestApiKey[] }>(server, 'GET', '/v3/api-keys?includeRevoked=false');
      assert.deepEqual(explicit.body.apiKeys.map((k) => k.id), active.body.apiKeys.map((k) => k.id));
      assert.equal((await rest(server, 'GET', '/v3/api-keys?includeRevoked=maybe')).status, 400);
      assert.equal((await rest(server, 'GET', '/v3/api-keys?unknown=1')).status, 400);
    });

    it('rotating without a grace period: the old key (and its tokens) stop at once, the new one works', async () => {
      const old = await createKey('rotated now');
      const oldToken = (await serviceAccountToken(old.key)).accessToken!;
      const rotated = (await gqlOk<{ rotateApiKey: { apiKey: ApiKey; key: string } }>(server, ROTATE_KEY, { id: old.apiKey.id })).rotateApiKey;
      assert.notEqual(rotated.key, old.key);
      assert.notEqual(rotated.apiKey.id, old.apiKey.id);
      assert.equal(rotated.apiKey.name, 'rotated now', 'the new key keeps the name');
      assert.ok(rotated.key.startsWith(rotated.apiKey.prefix));
      assert.equal(await statusWith(old.key), 401);
      assert.equal(await statusWith(oldToken), 401);
      assert.equal(await statusWith(rotated.key), 200);
      const listed = await listKeys(true);
      assert.equal(listed.find((k) => k.id === old.apiKey.id)?.replacedBy, rotated.apiKey.id);
      assert.ok(!JSON.stringify(listed).includes(rotated.key));
      // A rotated key cannot be rotated again.
      expectError(await gql(server, ROTATE_KEY, { id: old.apiKey.id }), 'BAD_USER_INPUT', 'id');
      expectError(await gql(server, ROTATE_KEY, { id: rotated.apiKey.id, g: -1 }), 'BAD_USER_INPUT', 'gracePeriodSeconds');

      // REST, without a body.
      const viaRest = await rest<{ apiKey: RestApiKey; key: string }>(server, 'POST', `/v3/api-keys/${rotated.apiKey.id}/rotate`, {});
      assert.equal(viaRest.status, 200, JSON.stringify(viaRest.body));
      assert.equal(await statusWith(rotated.key), 401);
      assert.equal(await statusWith(viaRest.body.key), 200);
      assert.equal((await rest(server, 'POST', `/v3/api-keys/${randomUUID()}/rotate`, {})).status, 404);
    });

    it('rotating with a grace period: the old key keeps working alongside the new one', async () => {
      const old = await createKey('rotated gently');
      const rotated = (await gqlOk<{ rotateApiKey: { apiKey: ApiKey; key: string } }>(server, ROTATE_KEY, { id: old.apiKey.id, g: 3600 })).rotateApiKey;
      assert.equal(await statusWith(old.key), 200);
      assert.equal(await statusWith(rotated.key), 200);
      const oldListed = (await listKeys(true)).find((k) => k.id === old.apiKey.id);
      assert.equal(oldListed?.replacedBy, rotated.apiKey.id);
      const graceEnds = Date.parse(oldListed?.expiresAt ?? '');
      assert.ok(graceEnds > Date.now() + 3000_000 && graceEnds <= Date.now() + 3600_000 + 5000, `the old key expires after the grace period: ${oldListed?.expiresAt}`);

      const viaRest = await rest<{ apiKey: RestApiKey; key: string }>(server, 'POST', `/v3/api-keys/${rotated.apiKey.id}/rotate`, { gracePeriodSeconds: 600 });
      assert.equal(viaRest.status, 200, JSON.stringify(viaRest.body));
      assert.equal(await statusWith(rotated.key), 200);
      assert.equal(await statusWith(viaRest.body.key), 200);
      // Revoking ends the grace period at once.
      await gqlOk(server, REVOKE_KEY, { id: old.apiKey.id });
      assert.equal(await statusWith(old.key), 401);
    });

    it('a user token cannot manage keys: 403 on GraphQL and REST', async () => {
      const { apiKey, key } = await createKey('not yours');
      const asUser = { url: server.url, apiKey: token };
      expectError(await gql(asUser, LIST_KEYS, {}), 'FORBIDDEN');
      expectError(await gql(asUser, CREATE_KEY, { n: 'mine' }), 'FORBIDDEN');
      expectError(await gql(asUser, ROTATE_KEY, { id: apiKey.id }), 'FORBIDDEN');
      expectError(await gql(asUser, REVOKE_KEY, { id: apiKey.id }), 'FORBIDDEN');
      expectError(await gql(asUser, SIGNING_KEYS), 'FORBIDDEN');
      expectError(await gql(asUser, 'mutation { rotateSigningKey { kid } }'), 'FORBIDDEN');
      for (const [method, path, body] of [
        ['GET', '/v3/api-keys', undefined],
        ['POST', '/v3/api-keys', { name: 'mine' }],
        ['POST', `/v3/api-keys/${apiKey.id}/rotate`, {}],
        ['DELETE', `/v3/api-keys/${apiKey.id}`, undefined],
        ['POST', '/v3/signing-keys/rotate', undefined],
      ] as const) {
        const res = await rest<RestError>(server, method, path, body, token);
        assert.equal(res.status, 403, `${method} ${path}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.errorMessages[0]?.errorCode, 'FORBIDDEN');
      }
      // Nothing changed: the key still works, and no key was made.
      assert.equal(await statusWith(key), 200);
      const listed = (await listKeys(true)).find((k) => k.id === apiKey.id);
      assert.deepEqual([listed?.revokedAt, listed?.replacedBy], [null, null]);
      assert.ok(!(await listKeys(true)).some((k) => k.name === 'mine'));
      // Without credentials: 401.
      assert.equal((await fetch(`${server.url}/v3/api-keys`)).status, 401);
    });
  });

  describe('signing keys and tokens', () => {
    const jwks = async (): Promise<JSONWebKeySet> => {
      const response = await fetch(`${server.url}/.well-known/jwks.json`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /json/);
      return (await response.json()) as JSONWebKeySet;
    };

    it('tokens are ES256 JWTs with a kid; the JWK Set holds public keys only and verifies them', async () => {
      const header = decodeProtectedHeader(token);
      assert.equal(header.alg, 'ES256');
      assert.equal(typeof header.kid, 'string');
      const set = await jwks();
      assert.ok(set.keys.length >= 1);
      for (const key of set.keys) {
        assert.equal(key.kty, 'EC');
        assert.equal(key.crv, 'P-256');
        assert.equal(typeof key.kid, 'string');
        assert.ok(!('d' in key), 'no private part');
        assert.ok(key.x && key.y);
      }
      assert.ok(set.keys.some((k) => k.kid === header.kid));

      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(set), { issuer: 'roster', algorithms: ['ES256'] });
      assert.equal(payload.sub, userId);
      assert.equal(protectedHeader.kid, header.kid);
      assert.ok(typeof payload.exp === 'number' && payload.exp * 1000 > Date.now());
      const remote = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)), { algorithms: ['ES256'] });
      assert.equal(remote.payload.sub, userId);

      // The service-account token too; a tampered token does not verify.
      const serviceToken = (await serviceAccountToken(TEST_API_KEY)).accessToken!;
      assert.equal(decodeProtectedHeader(serviceToken).kid, header.kid);
      await jwtVerify(serviceToken, createLocalJWKSet(set), { algorithms: ['ES256'] });
      const [h, p, s] = token.split('.') as [string, string, string];
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: randomUUID() })).toString('base64url')}.${s}`;
      await assert.rejects(jwtVerify(forged, createLocalJWKSet(set)));
      assert.equal(await statusWith(forged), 401);
    });

    it('rotation: new tokens carry the new kid; old tokens still verify and work; the JWK Set lists both', async () => {
      const before = (await gqlOk<{ signingKeys: SigningKey[] }>(server, SIGNING_KEYS)).signingKeys;
      const signing = before.filter((k) => k.signing);
      assert.equal(signing.length, 1, 'one key signs');
      const oldKid = signing[0]!.kid;
      const oldToken = await userToken(server, userId);
      assert.equal(decodeProtectedHeader(oldToken).kid, oldKid);

      const rotated = (await gqlOk<{ rotateSigningKey: SigningKey }>(server, 'mutation { rotateSigningKey { kid createdAt retiredAt signing } }')).rotateSigningKey;
      assert.notEqual(rotated.kid, oldKid);
      assert.equal(rotated.signing, true);
      assert.equal(rotated.retiredAt, null);
      const newToken = await userToken(server, userId);
      assert.equal(decodeProtectedHeader(newToken).kid, rotated.kid);

      const keys = (await gqlOk<{ signingKeys: SigningKey[] }>(server, SIGNING_KEYS)).signingKeys;
      assert.deepEqual(keys.filter((k) => k.signing).map((k) => k.kid), [rotated.kid]);
      const retired = keys.find((k) => k.kid === oldKid);
      assert.ok(retired?.retiredAt, 'the old key is retired, not gone');
      assert.ok(!JSON.stringify(keys).includes('"d"'));

      const set = await jwks();
      assert.ok(set.keys.some((k) => k.kid === oldKid) && set.keys.some((k) => k.kid === rotated.kid), 'both are published');
      for (const t of [oldToken, newToken]) {
        const { payload } = await jwtVerify(t, createLocalJWKSet(set), { issuer: 'roster', algorithms: ['ES256'] });
        assert.equal(payload.sub, userId);
        const me = await gqlOk<{ user: { id: string } }>({ url: server.url, apiKey: t }, 'query($id: ID!) { user(id: $id) { id } }', { id: userId });
        assert.equal(me.user.id, userId);
      }

      // REST rotation.
      const viaRest = await rest<{ kid: string }>(server, 'POST', '/v3/signing-keys/rotate');
      assert.equal(viaRest.status, 200, JSON.stringify(viaRest.body));
      assert.ok(![oldKid, rotated.kid].includes(viaRest.body.kid));
      assert.equal(decodeProtectedHeader(await userToken(server, userId)).kid, viaRest.body.kid);
      const kids = (await jwks()).keys.map((k) => k.kid);
      for (const kid of [oldKid, rotated.kid, viaRest.body.kid]) assert.ok(kids.includes(kid), `${kid} is published`);
      assert.equal(await statusWith(TEST_API_KEY), 200);
      assert.equal((await gql({ url: server.url, apiKey: oldToken }, 'query($id: ID!) { user(id: $id) { id } }', { id: userId })).status, 200);
    });
  });

  describe('HTTP protection', () => {
    const SECURITY_HEADERS = (headers: Headers, what: string) => {
      assert.equal(headers.get('x-content-type-options'), 'nosniff', `${what}: x-content-type-options`);
      const csp = headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, `${what}: content-security-policy`);
      assert.ok(/frame-ancestors 'none'/.test(csp) || headers.get('x-frame-options') !== null, `${what}: framing is refused`);
      assert.match(headers.get('strict-transport-security') ?? '', /max-age=\d{6,}/, `${what}: strict-transport-security`);
      assert.ok(headers.get('referrer-policy'), `${what}: referrer-policy`);
    };

    it('every response carries the security headers: GraphQL, REST, health, JWKS and errors', async () => {
      const auth = { authorization: `Bearer ${TEST_API_KEY}` };
      const requests: [string, string, RequestInit, number][] = [
        ['GraphQL', '/graphql', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ query: PROBE }) }, 200],
        ['GraphQL, SDK path', '/v01/server/graphql', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ query: PROBE }) }, 200],
        ['GraphQL error', '/graphql', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ nope }' }) }, 400],
        ['malformed JSON', '/graphql', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"query": ' }, 400],
        ['REST', '/v3/api-keys', { headers: auth }, 200],
        ['REST not found', `/v3/companies/${randomUUID()}/audit-events`, { headers: auth }, 404],
        ['REST unauthenticated', '/v3/api-keys', {}, 401],
        ['GraphQL unauthenticated', '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: PROBE }) }, 401],
        ['REST forbidden', '/v3/api-keys', { headers: { authorization: `Bearer ${token}` } }, 403],
        ['token exchange refused', '/v01/authorize/serviceAccount', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: 'wrong-wrong-wrong-wrong' }) }, 401],
        ['health', '/healthz', {}, 200],
        ['readiness', '/readyz', {}, 200],
        ['JWK Set', '/.well-known/jwks.json', {}, 200],
        ['unknown route', '/no/such/route', {}, 404],
      ];
      for (const [what, path, init, status] of requests) {
        const response = await fetch(`${server.url}${path}`, init);
        assert.equal(response.status, status, `${what}: ${await response.clone().text()}`);
        SECURITY_HEADERS(response.headers, what);
        await response.arrayBuffer();
      }
    });

    it('CORS is closed by default: no access-control-allow-origin for any origin, preflight or not', async () => {
      for (const origin of ['https://evil.example', 'https://app.example']) {
        const preflight = await fetch(`${server.url}/graphql`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
        });
        assert.equal(preflight.headers.get('access-control-allow-origin'), null, `preflight from ${origin}`);
        assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
        await preflight.arrayBuffer();
        for (const path of ['/healthz', '/v3/api-keys']) {
          const response = await fetch(`${server.url}${path}`, { headers: { origin, authorization: `Bearer ${TEST_API_KEY}` } });
          assert.equal(response.status, 200);
          assert.equal(response.headers.get('access-control-allow-origin'), null, `GET ${path} from ${origin}`);
          await response.arrayBuffer();
        }
      }
    });

    it('with ROSTER_CORS_ORIGINS, exactly those origins are allowed', async () => {
      const allowed = await fetch(`${sibling.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      assert.ok(allowed.status === 204 || allowed.status === 200, `preflight: ${allowed.status}`);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match((allowed.headers.get('access-control-allow-headers') ?? '').toLowerCase(), /authorization/);
      SECURITY_HEADERS(allowed.headers, 'preflight');

      const call = await fetch(`${sibling.url}/graphql`, {
        method: 'POST',
        headers: { origin: 'https://app.example', authorization: `Bearer ${sibling.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: PROBE }),
      });
      assert.equal(call.status, 200);
      assert.equal(call.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match((call.headers.get('access-control-expose-headers') ?? '').toLowerCase(), /x-request-id/);
      await call.arrayBuffer();

      for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'http://app.example']) {
        const preflight = await fetch(`${sibling.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
        assert.equal(preflight.headers.get('access-control-allow-origin'), null, `preflight from ${origin}`);
        await preflight.arrayBuffer();
        const get = await fetch(`${sibling.url}/healthz`, { headers: { origin } });
        assert.equal(get.headers.get('access-control-allow-origin'), null, `GET from ${origin}`);
        await get.arrayBuffer();
      }
    });
  });

  describe('without ROSTER_API_KEY', () => {
    it('the generated key works, the configured test key does not', async () => {
      assert.equal(await statusWith(sibling.apiKey, sibling), 200);
      assert.equal(await statusWith(TEST_API_KEY, sibling), 401);
    });

    it('the last working key cannot be revoked (409 CONFLICT); with another key it can', async () => {
      const generated = sibling.apiKey;
      const stored = await listKeys(false, sibling);
      const own = stored.find((k) => generated.startsWith(k.prefix) && k.name === 'generated at first start');
      assert.ok(own, 'the generated key is stored and listed');
      // Keys other tests made on this database go first, so the generated key is the last one.
      for (const k of stored) if (k.id !== own.id) await gqlOk(sibling, REVOKE_KEY, { id: k.id });
      assert.deepEqual((await listKeys(false, sibling)).map((k) => k.id), [own.id]);

      expectError(await gql(sibling, REVOKE_KEY, { id: own.id }), 'CONFLICT');
      const viaRest = await rest<RestError>(sibling, 'DELETE', `/v3/api-keys/${own.id}`);
      assert.equal(viaRest.status, 409);
      assert.equal(viaRest.body.errorMessages[0]?.errorCode, 'CONFLICT');
      assert.equal(await statusWith(generated, sibling), 200, 'the refused revocation changed nothing');

      const next = await createKey('successor', sibling);
      await gqlOk(sibling, REVOKE_KEY, { id: own.id });
      assert.equal(await statusWith(generated, sibling), 401);
      const successor = { url: sibling.url, apiKey: next.key };
      assert.equal(await statusWith(next.key, sibling), 200);
      expectError(await gql(successor, REVOKE_KEY, { id: next.apiKey.id }), 'CONFLICT');
      assert.equal(await statusWith(next.key, sibling), 200);

      // Where ROSTER_API_KEY is configured, that key remains, so revoking the last stored one is allowed.
      const revokedByConfigured = await gqlOk<{ revokeApiKey: ApiKey }>(server, REVOKE_KEY, { id: next.apiKey.id });
      assert.ok(revokedByConfigured.revokeApiKey.revokedAt);
    });
  });
});
