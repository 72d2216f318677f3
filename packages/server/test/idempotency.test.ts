/**
 * `Idempotency-Key` on REST writes and on POST /graphql. The first request runs and its response is stored; a
 * retry with the same key and the same method, url and body gets that response again (`idempotent-replayed:
 * true`) without running twice, including a stored 4xx; the same key with another request is a 422
 * IDEMPOTENCY_KEY_REUSED and nothing runs; of concurrent requests with one key exactly one runs. Keys belong to
 * the caller, must be 1–255 visible ASCII characters, are refused on calls returning secrets, and GETs ignore
 * them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { addMembers, countUsers, createTenant, createUser, gqlOk, unique, userToken } from './helpers/roster.ts';

const CONCURRENCY = 16;
const REPLAYED = 'idempotent-replayed';

interface Sent {
  status: number;
  headers: Headers;
  /** The raw body, to compare a replay byte for byte. */
  text: string;
  json: unknown;
}

interface RestError {
  debugIdentifier: string;
  errorMessages: { errorCode: string; message: string; errorParameters: { name: string; value: string }[] }[];
}

interface GraphqlEnvelope<T = Record<string, unknown>> {
  data: T | null;
  errors?: { message: string; extensions: { code: string; field?: string; response?: { statusCode: number; errorCode: string } } }[];
}

const CREATE_USER = `mutation($u: UserCreateDto!) { createUser(user: $u) { id reference email firstName } }`;

describe('idempotency keys', () => {
  let server: TestServer;
  let company: string;
  let otherCompany: string;

  /** Any request with a real fetch, the API key unless another token is given, and the key when given. */
  const send = async (method: string, path: string, options: { body?: unknown; key?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Sent> => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.token ?? server.apiKey}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.key === undefined ? {} : { 'idempotency-key': options.key }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: text ? (JSON.parse(text) as unknown) : undefined };
  };
  const graphql = (query: string, variables: Record<string, unknown>, key?: string, token?: string) => send('POST', '/graphql', { body: { query, variables }, key, token });
  const envelope = <T>(res: Sent) => res.json as GraphqlEnvelope<T>;

  const groupsPath = (c: string) => `/v3/companies/${c}/user-groups`;
  /** Groups of a company whose name is exactly `name` (the search is a substring match). */
  const groupsNamed = async (c: string, name: string) => {
    const res = await send('POST', `${groupsPath(c)}/list`, { body: { searchText: name, pagination: { offset: 0, limit: 100 } } });
    assert.equal(res.status, 200, res.text);
    return (res.json as { userGroups: { id: string; name: string; description: string }[] }).userGroups.filter((g) => g.name === name);
  };
  const groupCount = async (c: string) => {
    const res = await send('POST', `${groupsPath(c)}/list`, { body: { pagination: { offset: 0, limit: 1 } } });
    assert.equal(res.status, 200, res.text);
    return (res.json as { pagination: { totalNumResults: number } }).pagination.totalNumResults;
  };
  const usersWithReference = async (reference: string) =>
    (await gqlOk<{ users: { data: { id: string; firstName: string | null }[] } }>(server, `query($r: String!) { users(filter: { reference: { equalTo: $r } }) { data { id firstName } } }`, { r: reference })).users.data;

  const expectRestError = (res: Sent, status: number, code: string, field?: string) => {
    assert.equal(res.status, status, res.text);
    const body = res.json as RestError;
    assert.ok(body.debugIdentifier);
    assert.equal(body.errorMessages[0]?.errorCode, code, res.text);
    if (field) assert.ok(body.errorMessages[0]!.message.includes(field), `message ${JSON.stringify(body.errorMessages[0]!.message)} does not name ${field}`);
  };
  const expectGraphqlError = (res: Sent, status: number, code: string, field?: string) => {
    assert.equal(res.status, status, res.text);
    const body = envelope(res);
    assert.ok(body.errors && body.errors.length >= 1, res.text);
    assert.equal(body.errors[0]!.extensions.code, code, res.text);
    if (field) assert.ok(body.errors[0]!.message.includes(field), `message ${JSON.stringify(body.errors[0]!.message)} does not name ${field}`);
    if (body.data) for (const value of Object.values(body.data)) assert.equal(value, null);
  };
  /** A replay: the first response's status, content-type and exact body, marked as replayed. */
  const expectReplay = (replay: Sent, first: Sent) => {
    assert.equal(first.headers.get(REPLAYED), null, 'the first response is not a replay');
    assert.equal(replay.status, first.status);
    assert.equal(replay.headers.get(REPLAYED), 'true', `no ${REPLAYED} header on the retry (status ${replay.status})`);
    assert.equal(replay.headers.get('content-type'), first.headers.get('content-type'));
    assert.equal(replay.text, first.text);
  };

  before(async () => {
    server = await startServer();
    company = await createTenant(server);
    otherCompany = await createTenant(server);
  });
  after(() => server.close());

  describe('retries are replayed, not run again', () => {
    it('REST: creating a group twice with one key creates one group and returns the same response', async () => {
      const key = unique('idem');
      const name = unique('Once');
      const body = { name, description: 'created once' };
      const before = await groupCount(company);
      const first = await send('POST', groupsPath(company), { body, key });
      assert.equal(first.status, 200, first.text);
      const id = (first.json as { id: string }).id;
      const second = await send('POST', groupsPath(company), { body, key });
      expectReplay(second, first);
      const third = await send('POST', groupsPath(company), { body, key });
      expectReplay(third, first);
      assert.equal(await groupCount(company), before + 1);
      assert.deepEqual((await groupsNamed(company, name)).map((g) => g.id), [id]);
    });

    it('REST: a retried DELETE replays its 200 instead of running again into a 404', async () => {
      const created = await send('POST', groupsPath(company), { body: { name: unique('Doomed'), description: '' } });
      const path = `${groupsPath(company)}/${(created.json as { id: string }).id}`;
      const key = unique('idem-delete');
      const first = await send('DELETE', path, { key });
      assert.equal(first.status, 200, first.text);
      expectReplay(await send('DELETE', path, { key }), first);
      // Without the key, the same call does run again.
      expectRestError(await send('DELETE', path), 404, 'NOT_FOUND');
    });

    it('REST: a PATCH retried after someone else changed the group replays the stored response and does not overwrite', async () => {
      const created = await send('POST', groupsPath(company), { body: { name: unique('Patched'), description: '' } });
      const path = `${groupsPath(company)}/${(created.json as { id: string }).id}`;
      const key = unique('idem-patch');
      const first = await send('PATCH', path, { body: { name: 'Mine' }, key });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers.get('etag'), '"2"');
      assert.equal((await send('PATCH', path, { body: { name: 'Theirs' } })).status, 200);
      expectReplay(await send('PATCH', path, { body: { name: 'Mine' }, key }), first);
      const now = await send('GET', path);
      assert.equal((now.json as { name: string }).name, 'Theirs');
      assert.equal(now.headers.get('etag'), '"3"');
    });

    it('REST: a 4xx is stored and replayed as the same 4xx', async () => {
      const key = unique('idem-404');
      const path = groupsPath('00000000-0000-4000-8000-00000000dead');
      const first = await send('POST', path, { body: { name: 'Nowhere', description: '' }, key });
      expectRestError(first, 404, 'NOT_FOUND');
      const second = await send('POST', path, { body: { name: 'Nowhere', description: '' }, key });
      expectReplay(second, first);
      assert.equal((second.json as RestError).debugIdentifier, (first.json as RestError).debugIdentifier);
    });

    it('GraphQL: createUser twice with one key creates one user and returns the same id; a later replay still shows the stored response', async () => {
      const key = unique('idem-gql');
      const reference = unique('idem-user');
      const variables = { u: { reference, email: `${reference}@example.test`, firstName: 'Original' } };
      const before = await countUsers(server);
      const first = await graphql(CREATE_USER, variables, key);
      assert.equal(first.status, 200, first.text);
      const id = envelope<{ createUser: { id: string } }>(first).data!.createUser.id;
      const second = await graphql(CREATE_USER, variables, key);
      expectReplay(second, first);
      assert.equal(envelope<{ createUser: { id: string } }>(second).data!.createUser.id, id);
      assert.equal(await countUsers(server), before + 1);

      // The user changes; the replay is the stored response, not a fresh read.
      await gqlOk(server, `mutation($id: ID!) { updateUser(id: $id, user: { firstName: "Changed" }) { id } }`, { id });
      const third = await graphql(CREATE_USER, variables, key);
      expectReplay(third, first);
      assert.deepEqual(await usersWithReference(reference), [{ id, firstName: 'Changed' }]);
    });

    it('GraphQL: a mutation that failed with a 4xx is replayed as that 4xx, even once it would succeed', async () => {
      const holder = await createUser(server);
      const reference = unique('idem-dup');
      const variables = { u: { reference, email: holder.email } };
      const key = unique('idem-gql-409');
      const first = await graphql(CREATE_USER, variables, key);
      expectGraphqlError(first, 409, 'CONFLICT', 'email');
      // Free the email: run again, the mutation would now succeed.
      await gqlOk(server, `mutation($id: ID!, $e: String!) { updateUser(id: $id, user: { email: $e }) { id } }`, { id: holder.id, e: `${unique('moved')}@example.test` });
      const second = await graphql(CREATE_USER, variables, key);
      expectReplay(second, first);
      assert.deepEqual(await usersWithReference(reference), []);
      // A new key runs it.
      const fresh = await graphql(CREATE_USER, variables, unique('idem-new'));
      assert.equal(fresh.status, 200, fresh.text);
      assert.equal((await usersWithReference(reference)).length, 1);
    });

    it('a BAD_USER_INPUT from a resolver is replayed too', async () => {
      const key = unique('idem-gql-400');
      const variables = { u: { reference: unique('bad'), email: 'not-an-email' } };
      const first = await graphql(CREATE_USER, variables, key);
      expectGraphqlError(first, 400, 'BAD_USER_INPUT', 'email');
      expectReplay(await graphql(CREATE_USER, variables, key), first);
    });
  });

  describe('the same key for another request is refused (422) and nothing runs', () => {
    it('REST: another body', async () => {
      const key = unique('idem-reuse');
      const name = unique('First');
      const first = await send('POST', groupsPath(company), { body: { name, description: '' }, key });
      assert.equal(first.status, 200, first.text);
      const before = await groupCount(company);
      const otherName = unique('Second');
      expectRestError(await send('POST', groupsPath(company), { body: { name: otherName, description: '' }, key }), 422, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key');
      expectRestError(await send('POST', groupsPath(company), { body: { name, description: 'other description' }, key }), 422, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(await groupCount(company), before);
      assert.deepEqual(await groupsNamed(company, otherName), []);
      assert.deepEqual((await groupsNamed(company, name)).map((g) => g.description), ['']);
      // The original request is still replayed.
      expectReplay(await send('POST', groupsPath(company), { body: { name, description: '' }, key }), first);
    });

    it('REST: another url or another method', async () => {
      const key = unique('idem-url');
      const body = { name: unique('Url'), description: '' };
      const first = await send('POST', groupsPath(company), { body, key });
      assert.equal(first.status, 200, first.text);
      const before = await groupCount(otherCompany);
      expectRestError(await send('POST', groupsPath(otherCompany), { body, key }), 422, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(await groupCount(otherCompany), before);
      assert.deepEqual(await groupsNamed(otherCompany, body.name), []);

      // The same key on the created group's own path: a DELETE there is another request, and nothing is deleted.
      const groupPath = `${groupsPath(company)}/${(first.json as { id: string }).id}`;
      expectRestError(await send('DELETE', groupPath, { key }), 422, 'IDEMPOTENCY_KEY_REUSED');
      expectRestError(await send('PATCH', groupPath, { body: { name: 'Renamed' }, key }), 422, 'IDEMPOTENCY_KEY_REUSED');
      const still = await send('GET', groupPath);
      assert.equal(still.status, 200);
      assert.equal((still.json as { name: string }).name, body.name);

      // A DELETE first, then a POST with its key: refused as well.
      const deleteKey = unique('idem-del-first');
      const victim = await send('POST', groupsPath(company), { body: { name: unique('Victim'), description: '' } });
      const victimPath = `${groupsPath(company)}/${(victim.json as { id: string }).id}`;
      assert.equal((await send('DELETE', victimPath, { key: deleteKey })).status, 200);
      const reusedName = unique('AfterDelete');
      expectRestError(await send('POST', groupsPath(company), { body: { name: reusedName, description: '' }, key: deleteKey }), 422, 'IDEMPOTENCY_KEY_REUSED');
      assert.deepEqual(await groupsNamed(company, reusedName), []);
    });

    it('GraphQL: other variables, or another document', async () => {
      const key = unique('idem-gql-reuse');
      const reference = unique('gql-first');
      const first = await graphql(CREATE_USER, { u: { reference, email: `${reference}@example.test` } }, key);
      assert.equal(first.status, 200, first.text);
      const before = await countUsers(server);
      const other = unique('gql-second');
      expectGraphqlError(await graphql(CREATE_USER, { u: { reference: other, email: `${other}@example.test` } }, key), 422, 'IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key');
      expectGraphqlError(await graphql(`mutation($t: TenantCreateDto!) { createTenant(tenant: $t) { id } }`, { t: { name: other } }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(await countUsers(server), before);
      assert.deepEqual(await usersWithReference(other), []);
      const tenants = await gqlOk<{ tenants: { data: { name: string }[] } }>(server, `{ tenants(limit: 1000) { data { name } } }`);
      assert.ok(!tenants.tenants.data.some((t) => t.name === other), 'the tenant was created');
      // The same key on REST is another request too.
      const groupName = unique('cross');
      expectRestError(await send('POST', groupsPath(company), { body: { name: groupName, description: '' }, key }), 422, 'IDEMPOTENCY_KEY_REUSED');
      assert.deepEqual(await groupsNamed(company, groupName), []);
    });
  });

  describe('concurrent requests with one key', () => {
    it(`REST: of ${CONCURRENCY} identical creates, exactly one runs; the others are replays or 409s`, async () => {
      const key = unique('idem-race');
      const name = unique('Race');
      const body = { name, description: '' };
      const before = await groupCount(company);
      const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => send('POST', groupsPath(company), { body, key })));
      const executed = results.filter((r) => r.status === 200 && r.headers.get(REPLAYED) === null);
      assert.equal(executed.length, 1, `statuses: ${results.map((r) => `${r.status}${r.headers.get(REPLAYED) ? ' (replayed)' : ''}`).join(', ')}`);
      const id = (executed[0]!.json as { id: string }).id;
      for (const res of results) {
        if (res === executed[0]) continue;
        if (res.status === 409) {
          expectRestError(res, 409, 'CONFLICT', 'Idempotency-Key');
          assert.match((res.json as RestError).errorMessages[0]!.message, /still being processed/);
        } else {
          expectReplay(res, executed[0]!);
        }
      }
      assert.equal(await groupCount(company), before + 1);
      assert.deepEqual((await groupsNamed(company, name)).map((g) => g.id), [id]);
      // Once settled, a retry is a replay.
      expectReplay(await send('POST', groupsPath(company), { body, key }), executed[0]!);
    });

    it(`GraphQL: of ${CONCURRENCY} identical createUser, exactly one runs; the others are replays or 409s`, async () => {
      const key = unique('idem-gql-race');
      const reference = unique('race-user');
      const variables = { u: { reference, email: `${reference}@example.test` } };
      const before = await countUsers(server);
      const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => graphql(CREATE_USER, variables, key)));
      const executed = results.filter((r) => r.status === 200 && r.headers.get(REPLAYED) === null);
      assert.equal(executed.length, 1, `statuses: ${results.map((r) => `${r.status}${r.headers.get(REPLAYED) ? ' (replayed)' : ''}`).join(', ')}`);
      const id = envelope<{ createUser: { id: string } }>(executed[0]!).data!.createUser.id;
      for (const res of results) {
        if (res === executed[0]) continue;
        if (res.status === 409) expectGraphqlError(res, 409, 'CONFLICT', 'Idempotency-Key');
        else expectReplay(res, executed[0]!);
      }
      assert.equal(await countUsers(server), before + 1);
      assert.deepEqual((await usersWithReference(reference)).map((u) => u.id), [id]);
    });

    it(`REST: ${CONCURRENCY} requests with one key and different bodies create at most one group`, async () => {
      const key = unique('idem-mixed-race');
      const names = Array.from({ length: CONCURRENCY }, (_, i) => unique(`Mixed${i}`));
      const before = await groupCount(company);
      const results = await Promise.all(names.map((name) => send('POST', groupsPath(company), { body: { name, description: '' }, key })));
      const ok = results.flatMap((r, i) => (r.status === 200 ? [i] : []));
      assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.status).join(', ')}`);
      for (const [i, res] of results.entries()) {
        if (i === ok[0]) continue;
        assert.ok(res.status === 409 || res.status === 422, `unexpected ${res.status}: ${res.text}`);
        expectRestError(res, res.status, res.status === 409 ? 'CONFLICT' : 'IDEMPOTENCY_KEY_REUSED');
      }
      assert.equal(await groupCount(company), before + 1);
      assert.equal((await groupsNamed(company, names[ok[0]!]!)).length, 1);
    });
  });

  describe('keys belong to the caller', () => {
    it('the same key and request from the API key and from a user token run independently', async () => {
      // A member of Company Admins may create groups in the company.
      const admin = await createUser(server, { tenantId: company });
      const admins = await send('POST', `${groupsPath(company)}/list`, { body: { searchText: 'company admins', pagination: { offset: 0, limit: 10 } } });
      const adminsGroup = (admins.json as { userGroups: { id: string; isUnmodifiable: boolean }[] }).userGroups.find((g) => g.isUnmodifiable);
      assert.ok(adminsGroup);
      await addMembers(server, adminsGroup.id, [admin.id]);
      const token = await userToken(server, admin.id);

      const key = unique('idem-shared');
      const name = unique('Shared');
      const body = { name, description: '' };
      const before = await groupCount(company);
      const byKey = await send('POST', groupsPath(company), { body, key });
      assert.equal(byKey.status, 200, byKey.text);
      const byUser = await send('POST', groupsPath(company), { body, key, token });
      assert.equal(byUser.status, 200, byUser.text);
      assert.equal(byUser.headers.get(REPLAYED), null, "the user got the API key's stored response");
      assert.notEqual((byUser.json as { id: string }).id, (byKey.json as { id: string }).id);
      assert.equal(await groupCount(company), before + 2);
      assert.equal((await groupsNamed(company, name)).length, 2);

      // Each caller's retry replays its own response.
      expectReplay(await send('POST', groupsPath(company), { body, key, token }), byUser);
      expectReplay(await send('POST', groupsPath(company), { body, key }), byKey);

      // Another body under the key only the API key used before is no reuse for the user.
      const userKey = unique('idem-user-only');
      const keyName = unique('KeyOnly');
      assert.equal((await send('POST', groupsPath(company), { body: { name: keyName, description: '' }, key: userKey })).status, 200);
      const userName = unique('UserOnly');
      const userOwn = await send('POST', groupsPath(company), { body: { name: userName, description: '' }, key: userKey, token });
      assert.equal(userOwn.status, 200, userOwn.text);
      assert.equal((await groupsNamed(company, userName)).length, 1);
      assert.equal(await groupCount(company), before + 4);
    });

    it('two API keys have separate key spaces', async () => {
      const created = await send('POST', '/v3/api-keys', { body: { name: unique('second-caller') } });
      assert.equal(created.status, 200, created.text);
      const secondKey = (created.json as { key: string }).key;
      const key = unique('idem-two-keys');
      const body = { name: unique('TwoKeys'), description: '' };
      const first = await send('POST', groupsPath(company), { body, key });
      const second = await send('POST', groupsPath(company), { body, key, token: secondKey });
      assert.equal(first.status, 200, first.text);
      assert.equal(second.status, 200, second.text);
      assert.equal(second.headers.get(REPLAYED), null);
      assert.notEqual((second.json as { id: string }).id, (first.json as { id: string }).id);
      assert.equal((await groupsNamed(company, body.name)).length, 2);
      // Each replays its own.
      expectReplay(await send('POST', groupsPath(company), { body, key, token: secondKey }), second);
      expectReplay(await send('POST', groupsPath(company), { body, key }), first);
    });
  });

  describe('malformed keys and where keys are not accepted', () => {
    const malformed: [string, string][] = [
      ['empty', ''],
      ['256 characters', 'k'.repeat(256)],
      ['an inner space', 'two words'],
      ['non-ASCII', 'cl\u00e9'],
    ];

    for (const [what, key] of malformed) {
      it(`a key with ${what} is a 400 BAD_USER_INPUT naming Idempotency-Key, on REST and GraphQL; nothing runs`, async () => {
        const name = unique('Malformed');
        const before = await groupCount(company);
        expectRestError(await send('POST', groupsPath(company), { body: { name, description: '' }, key }), 400, 'BAD_USER_INPUT', 'Idempotency-Key');
        assert.equal(await groupCount(company), before);
        assert.deepEqual(await groupsNamed(company, name), []);

        const reference = unique('malformed');
        expectGraphqlError(await graphql(CREATE_USER, { u: { reference, email: `${reference}@example.test` } }, key), 400, 'BAD_USER_INPUT', 'Idempotency-Key');
        assert.deepEqual(await usersWithReference(reference), []);
      });
    }

    it('keys of 1 and of 255 visible ASCII characters are accepted and work', async () => {
      for (const key of ['!', `~${unique('k')}`.padEnd(255, 'z')]) {
        assert.ok(key.length === 1 || key.length === 255);
        const body = { name: unique('Edge'), description: '' };
        const first = await send('POST', groupsPath(otherCompany), { body, key });
        assert.equal(first.status, 200, first.text);
        expectReplay(await send('POST', groupsPath(otherCompany), { body, key }), first);
        assert.equal((await groupsNamed(otherCompany, body.name)).length, 1);
      }
    });

    it('REST: creating or rotating an API key refuses a key (400) and issues nothing', async () => {
      const listKeys = async () => {
        // Active keys only: `?includeRevoked=true` is refused by the query validation (reported separately).
        const res = await send('GET', '/v3/api-keys');
        assert.equal(res.status, 200, res.text);
        return (res.json as { apiKeys: { id: string; name: string; revokedAt?: unknown; replacedBy?: unknown }[] }).apiKeys;
      };
      const existing = await send('POST', '/v3/api-keys', { body: { name: unique('rotatable') } });
      assert.equal(existing.status, 200, existing.text);
      const { apiKey, key: secret } = existing.json as { apiKey: { id: string }; key: string };
      const before = await listKeys();

      const name = unique('refused');
      expectRestError(await send('POST', '/v3/api-keys', { body: { name }, key: unique('idem-secret') }), 400, 'BAD_USER_INPUT', 'Idempotency-Key');
      expectRestError(await send('POST', `/v3/api-keys/${apiKey.id}/rotate`, { body: {}, key: unique('idem-rotate') }), 400, 'BAD_USER_INPUT', 'Idempotency-Key');
      assert.deepEqual(await listKeys(), before);
      // The key was not rotated: it still works.
      const usable = await send('POST', `${groupsPath(company)}/list`, { body: { pagination: { offset: 0, limit: 1 } }, token: secret });
      assert.equal(usable.status, 200, usable.text);
    });

    it('GraphQL: a document with createApiKey or rotateApiKey refuses a key (400) and issues nothing', async () => {
      const created = await gqlOk<{ createApiKey: { apiKey: { id: string }; key: string } }>(server, `mutation($n: String!) { createApiKey(name: $n) { apiKey { id } key } }`, { n: unique('gql-rotatable') });
      const listKeys = async () => (await gqlOk<{ apiKeys: { id: string; name: string; revokedAt: string | null; replacedBy: string | null }[] }>(server, `{ apiKeys(includeRevoked: true) { id name revokedAt replacedBy } }`)).apiKeys;
      const before = await listKeys();
      expectGraphqlError(await graphql(`mutation($n: String!) { createApiKey(name: $n) { key } }`, { n: unique('gql-refused') }, unique('idem-gql-secret')), 400, 'BAD_USER_INPUT', 'Idempotency-Key');
      expectGraphqlError(await graphql(`mutation($id: ID!) { rotateApiKey(id: $id) { key } }`, { id: created.createApiKey.apiKey.id }, unique('idem-gql-rotate')), 400, 'BAD_USER_INPUT', 'Idempotency-Key');
      // Hidden among other fields of the document, still refused.
      const reference = unique('beside-secret');
      const mixed = await graphql(
        `mutation($u: UserCreateDto!, $n: String!) { createUser(user: $u) { id } createApiKey(name: $n) { key } }`,
        { u: { reference, email: `${reference}@example.test` }, n: unique('gql-mixed') },
        unique('idem-gql-mixed'),
      );
      expectGraphqlError(mixed, 400, 'BAD_USER_INPUT', 'Idempotency-Key');
      assert.deepEqual(await usersWithReference(reference), []);
      assert.deepEqual(await listKeys(), before);
      const usable = await send('POST', `${groupsPath(company)}/list`, { body: { pagination: { offset: 0, limit: 1 } }, token: created.createApiKey.key });
      assert.equal(usable.status, 200, usable.text);
    });

    it('GET ignores the header: even a malformed key is fine, and reads are never replayed', async () => {
      const created = await send('POST', groupsPath(company), { body: { name: unique('Readable'), description: '' } });
      const path = `${groupsPath(company)}/${(created.json as { id: string }).id}`;
      const bad = await send('GET', path, { key: 'two words' });
      assert.equal(bad.status, 200, bad.text);
      const key = unique('idem-get');
      const first = await send('GET', path, { key });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.headers.get(REPLAYED), null);
      assert.equal((await send('PATCH', path, { body: { name: 'Renamed after read' } })).status, 200);
      const second = await send('GET', path, { key });
      assert.equal(second.status, 200);
      assert.equal(second.headers.get(REPLAYED), null);
      assert.equal((second.json as { name: string }).name, 'Renamed after read');
      assert.equal(second.headers.get('etag'), '"2"');
    });
  });
});
