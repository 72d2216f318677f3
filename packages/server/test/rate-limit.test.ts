/**
 * Rate limiting: a budget of requests per window for each API key, each user and each client address of
 * unauthenticated (or wrongly authenticated) callers, answered with 429 RATE_LIMITED in the envelope of the API
 * called and the draft-standard headers. Budgets are independent, reset with the window, never apply to health
 * probes, and are shared by every node using the same Redis.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { TEST_API_KEY, startServer, startSibling, type TestServer } from './helpers/server.ts';
import { createTenant, createUser, gqlOk, userToken } from './helpers/roster.ts';

const WINDOW_SECONDS = 2;
const USER_LIMIT = 5;
const ANONYMOUS_LIMIT = 3;
const REDIS_URL = 'redis://127.0.0.1:6379';
const NAMESPACE = 'roster-rate-limit:';

interface Hit {
  status: number;
  headers: Headers;
  /** errors[0].extensions.code on GraphQL, errorMessages[0].errorCode on REST, undefined on success. */
  code: string | undefined;
  body: unknown;
}

interface Target {
  url: string;
}

/** One request: GraphQL (`POST /graphql`) or REST (`GET /v3/...`), with a bearer credential or none. */
async function hit(target: Target, api: 'graphql' | 'rest', credential: string | null, userId?: string): Promise<Hit> {
  const headers: Record<string, string> = credential ? { authorization: `Bearer ${credential}` } : {};
  const response =
    api === 'graphql'
      ? await fetch(`${target.url}/graphql`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(userId ? { query: 'query($id: ID!) { user(id: $id) { id } }', variables: { id: userId } } : { query: '{ isTenantsActive }' }),
        })
      : await fetch(`${target.url}${userId ? `/v3/users/${userId}/rbac-info` : '/v3/api-keys'}`, { headers });
  const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[]; errorMessages?: { errorCode?: string }[] };
  const code = api === 'graphql' ? body.errors?.[0]?.extensions?.code : body.errorMessages?.[0]?.errorCode;
  return { status: response.status, headers: response.headers, code, body };
}

const header = (h: Hit, name: string): number => {
  const value = h.headers.get(name);
  assert.ok(value !== null && /^\d+$/.test(value), `${name}: ${value}`);
  return Number(value);
};

/** Checks a 429: the code in the API's envelope and the headers that say when to come back. */
function assertLimited(h: Hit, limit: number, api: 'graphql' | 'rest' = 'graphql'): void {
  assert.equal(h.status, 429, JSON.stringify(h.body));
  assert.equal(h.code, 'RATE_LIMITED', JSON.stringify(h.body));
  if (api === 'graphql') {
    const response = (h.body as { errors: { extensions: { response?: { statusCode: number; errorCode: string } } }[] }).errors[0]!.extensions.response;
    assert.deepEqual([response?.statusCode, response?.errorCode], [429, 'RATE_LIMITED']);
  }
  assert.equal(header(h, 'ratelimit-limit'), limit);
  assert.equal(header(h, 'ratelimit-remaining'), 0);
  const reset = header(h, 'ratelimit-reset');
  const retryAfter = header(h, 'retry-after');
  assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, `retry-after ${retryAfter}`);
  assert.ok(reset <= WINDOW_SECONDS, `ratelimit-reset ${reset}`);
}

/**
 * Spends a whole budget of `limit` requests in one window, each allowed with the remaining count going down, and
 * returns the next request's (over the limit) response. If the window turns over midway (a slow machine) or the
 * budget was partly spent, waits for a fresh window and starts again.
 */
async function exhaust(send: () => Promise<Hit>, limit: number): Promise<Hit> {
  for (let attempt = 0; attempt < 4; attempt++) {
    let restart = false;
    for (let i = 0; i < limit; i++) {
      const h = await send();
      if (h.status === 429 || header(h, 'ratelimit-remaining') !== limit - 1 - i) {
        restart = true;
        await sleep(header(h, 'ratelimit-reset') * 1000 + 250);
        break;
      }
      assert.ok(h.status < 429, `request ${i + 1} of ${limit} is allowed: ${h.status} ${JSON.stringify(h.body)}`);
      assert.equal(header(h, 'ratelimit-limit'), limit);
    }
    if (restart) continue;
    const over = await send();
    if (over.status === 429) return over;
    // The window turned over just before this request: try again.
    await sleep(header(over, 'ratelimit-reset') * 1000 + 250);
  }
  assert.fail('could not spend the budget within one window');
}


describe('rate limiting', () => {
  let server: TestServer;
  let tenant: string;

  const newUser = async () => {
    const user = await createUser(server, { tenantId: tenant });
    return { id: user.id, token: await userToken(server, user.id) };
  };

  before(async () => {
    server = await startServer({
      ROSTER_RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
      ROSTER_RATE_LIMIT_USER: String(USER_LIMIT),
      ROSTER_RATE_LIMIT_ANONYMOUS: String(ANONYMOUS_LIMIT),
      ROSTER_RATE_LIMIT_API_KEY: '100000',
    });
    tenant = await createTenant(server);
  });
  after(() => server.close());

  it("a user token's request beyond its budget gets 429 RATE_LIMITED with the rate-limit headers; others are unaffected", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const over = await exhaust(() => hit(server, 'graphql', alice.token, alice.id), USER_LIMIT);
    assertLimited(over, USER_LIMIT);
    // Still limited, on REST as well: one budget per user, whichever API.
    assertLimited(await hit(server, 'graphql', alice.token, alice.id), USER_LIMIT);
    assertLimited(await hit(server, 'rest', alice.token, alice.id), USER_LIMIT, 'rest');
    // A second token of the same user shares the budget: it is the user's, not the token's.
    assertLimited(await hit(server, 'graphql', await userToken(server, alice.id), alice.id), USER_LIMIT);

    // Another user, the API key and anonymous callers have budgets of their own.
    const other = await hit(server, 'graphql', bob.token, bob.id);
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.equal(header(other, 'ratelimit-remaining'), USER_LIMIT - 1);
    const admin = await hit(server, 'graphql', TEST_API_KEY);
    assert.equal(admin.status, 200);
    assert.equal(header(admin, 'ratelimit-limit'), 100000);
    assert.equal((await hit(server, 'rest', TEST_API_KEY)).status, 200);
  });

  it('REST requests spend the same budget and are refused in the REST envelope', async () => {
    const carol = await newUser();
    const over = await exhaust(() => hit(server, 'rest', carol.token, carol.id), USER_LIMIT);
    assertLimited(over, USER_LIMIT, 'rest');
    const parameters = (over.body as { errorMessages: { errorParameters: { name: string; value: string }[] }[] }).errorMessages[0]!.errorParameters;
    assert.ok(parameters.some((p) => p.name === 'retryAfterSeconds'), JSON.stringify(parameters));
    assertLimited(await hit(server, 'graphql', carol.token, carol.id), USER_LIMIT);
  });

  it('after the window passes, the user is served again with a fresh budget', async () => {
    const dave = await newUser();
    const over = await exhaust(() => hit(server, 'graphql', dave.token, dave.id), USER_LIMIT);
    assertLimited(over, USER_LIMIT);
    await sleep(header(over, 'retry-after') * 1000 + 250);
    const again = await hit(server, 'graphql', dave.token, dave.id);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(header(again, 'ratelimit-remaining'), USER_LIMIT - 1);
    assert.equal((await hit(server, 'rest', dave.token, dave.id)).status, 200);
  });

  it('unauthenticated and wrongly authenticated requests share one budget per address', async () => {
    const over = await exhaust(() => hit(server, 'graphql', null), ANONYMOUS_LIMIT);
    assertLimited(over, ANONYMOUS_LIMIT);
    // Wrong credentials are no way around it: a wrong key, a forged token, the token exchange.
    assertLimited(await hit(server, 'graphql', 'wrong-key-wrong-key-wrong-key'), ANONYMOUS_LIMIT);
    assertLimited(await hit(server, 'graphql', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'), ANONYMOUS_LIMIT);
    const exchange = await fetch(`${server.url}/v01/authorize/serviceAccount`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: 'guessing-guessing-guessing' }),
    });
    assert.equal(exchange.status, 429, 'guessing API keys through the token exchange is limited too');
    assert.equal(exchange.headers.get('ratelimit-remaining'), '0');
    await exchange.arrayBuffer();
    // Valid credentials from the same address are not affected.
    assert.equal((await hit(server, 'graphql', TEST_API_KEY)).status, 200);
    const erin = await newUser();
    assert.equal((await hit(server, 'graphql', erin.token, erin.id)).status, 200);

    // Health probes and the public keys are never limited, even for a limited address.
    for (let i = 0; i < ANONYMOUS_LIMIT + 5; i++) {
      for (const path of ['/healthz', '/readyz', '/.well-known/jwks.json']) {
        const response = await fetch(`${server.url}${path}`);
        assert.equal(response.status, 200, `${path} #${i + 1}`);
        await response.arrayBuffer();
      }
    }
    // Nor with the credentials of a limited user.
    const frank = await newUser();
    await exhaust(() => hit(server, 'graphql', frank.token, frank.id), USER_LIMIT);
    const health = await fetch(`${server.url}/healthz`, { headers: { authorization: `Bearer ${frank.token}` } });
    assert.equal(health.status, 200);
  });

  it('REST requests with wrong credentials spend the per-address budget too', async () => {
    const over = await exhaust(() => hit(server, 'graphql', null), ANONYMOUS_LIMIT);
    assertLimited(over, ANONYMOUS_LIMIT);
    // Brute-forcing an API key through REST must meet the same limit as through GraphQL.
    const viaRest = await hit(server, 'rest', 'wrong-key-wrong-key-wrong-key');
    assertLimited(viaRest, ANONYMOUS_LIMIT, 'rest');
  });

  it('each API key has its own budget, shared with its service-account tokens', async () => {
    // Another key, made before the node starts so the node knows it.
    const created = await gqlOk<{ createApiKey: { key: string } }>(server, 'mutation { createApiKey(name: "rate-limited") { key } }');
    const node = await startSibling(server, { ROSTER_RATE_LIMIT_API_KEY: '3', ROSTER_RATE_LIMIT_WINDOW_SECONDS: '60' });
    try {
      // A service-account token for the configured key, obtained without spending the key's budget.
      const exchanged = await fetch(`${node.url}/v01/authorize/serviceAccount`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: TEST_API_KEY }) });
      assert.equal(exchanged.status, 200);
      const { accessToken } = (await exchanged.json()) as { accessToken: string };

      for (let i = 0; i < 3; i++) assert.equal((await hit(node, 'graphql', TEST_API_KEY)).status, 200);
      const over = await hit(node, 'graphql', TEST_API_KEY);
      assert.equal(over.status, 429);
      assert.equal(over.code, 'RATE_LIMITED');
      assert.equal(header(over, 'ratelimit-limit'), 3);
      assert.equal((await hit(node, 'rest', TEST_API_KEY)).status, 429);
      assert.equal((await hit(node, 'graphql', accessToken)).status, 429, 'the key’s service-account token spends the key’s budget');
      const otherKey = await hit(node, 'graphql', created.createApiKey.key);
      assert.equal(otherKey.status, 200, JSON.stringify(otherKey.body));
      assert.equal(header(otherKey, 'ratelimit-remaining'), 2);
    } finally {
      await node.close();
    }
  });

  it('nodes sharing a Redis share the budgets of an API key and of a user', async (t) => {
    const probe = new Redis(REDIS_URL, { connectTimeout: 500, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      assert.equal(await probe.ping(), 'PONG');
    } catch {
      probe.disconnect();
      t.skip(`Redis is not reachable at ${REDIS_URL}`);
      return;
    }
    // A key and a user of this run only, so their counters are fresh and no other run shares them.
    const created = await gqlOk<{ createApiKey: { apiKey: { id: string }; key: string } }>(server, 'mutation { createApiKey(name: "shared budget") { apiKey { id } key } }');
    const { id: keyId } = created.createApiKey.apiKey;
    const key = created.createApiKey.key;
    const user = await createUser(server, { tenantId: tenant });
    const token = await userToken(server, user.id);
    const counters = [`${NAMESPACE}key:${keyId}`, `${NAMESPACE}user:${user.id}`];
    const env = { REDIS_URL, ROSTER_RATE_LIMIT_API_KEY: '4', ROSTER_RATE_LIMIT_USER: '4', ROSTER_RATE_LIMIT_WINDOW_SECONDS: '120' };
    const nodes = [await startSibling(server, env), await startSibling(server, env)];
    try {
      for (const [credential, userId] of [[key, undefined], [token, user.id]] as const) {
        const remaining: number[] = [];
        for (let i = 0; i < 4; i++) {
          const h = await hit(nodes[i % 2]!, 'graphql', credential, userId);
          assert.equal(h.status, 200, JSON.stringify(h.body));
          remaining.push(header(h, 'ratelimit-remaining'));
        }
        assert.deepEqual(remaining, [3, 2, 1, 0], 'one budget, counted across both nodes');
        for (const node of nodes) {
          const h = await hit(node, 'graphql', credential, userId);
          assert.equal(h.status, 429, JSON.stringify(h.body));
          assert.equal(h.code, 'RATE_LIMITED');
          assert.equal(header(h, 'ratelimit-limit'), 4);
        }
      }
      for (const counter of counters) {
        assert.ok(Number(await probe.get(counter)) >= 6, `${counter} counts in Redis`);
        assert.ok((await probe.pttl(counter)) > 0, `${counter} expires with its window`);
      }
    } finally {
      for (const node of nodes) await node.close();
      await probe.del(...counters).catch(() => undefined);
      probe.disconnect();
    }
  });
});
