/**
 * Every failure of a call surfaces as a `RosterError` with the server's `code`, the HTTP `status`, the `field` the
 * server names and the server's `requestId`, through the GraphQL methods and the REST methods alike: 400, 401,
 * 403, 404, 409, 413, 422 and 429 from a real Roster; TIMEOUT, ABORTED, NETWORK_ERROR and refused arguments on
 * the client side (status 0, nothing sent). Then the retry rules: reads are retried on 503, a mutation only with
 * an idempotency key (and is then applied once); a 429 is waited out per Retry-After.
 *
 * The 503s come from a small `node:http` stub standing for a proxy or load balancer in front of the real server.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { isRosterError, RosterClient, RosterError, type RosterSession } from '../src/index.ts';
import { startServer, startSibling, unique, type SiblingServer, type TestServer } from '../../server/test/helpers/server.ts';

const NIL = '00000000-0000-4000-8000-000000000000';
const BODY_LIMIT = 16 * 1024;

interface Expected {
  code: string;
  status: number;
  /** Checked when present (also when `undefined`: the server names no field) */
  field?: string | undefined;
  /**
   * The request id the call sent as `x-request-id`, which the server adopts; `null` for an answer that did not
   * come from Roster (a proxy's 503); otherwise any non-empty id
   */
  requestId?: string | null;
  /** The caller sent this `x-request-id`: the error must quote the server's own id instead. */
  sentRequestId?: string;
}

/**
 * Asserts that `promise` rejects with a RosterError of the expected code, status and field. A server error carries
 * the server's request id; a client-side failure (status 0) none.
 */
async function expectRosterError(promise: Promise<unknown>, expected: Expected): Promise<RosterError> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error !== undefined, `expected ${expected.code}, but the call succeeded`);
  assert.ok(error instanceof RosterError, `expected a RosterError, got ${String(error)}`);
  assert.ok(error instanceof Error);
  assert.ok(isRosterError(error));
  assert.equal(error.name, 'RosterError');
  assert.equal(error.code, expected.code, error.message);
  assert.equal(error.status, expected.status, error.message);
  if (Object.hasOwn(expected, 'field')) assert.equal(error.field, expected.field, error.message);
  assert.ok(error.errors.length >= 1);
  assert.equal(error.errors[0]?.code, expected.code);
  assert.equal(error.errors[0]?.message, error.message);
  if (expected.status === 0 || expected.requestId === null) {
    assert.equal(error.requestId, undefined);
  } else if (expected.requestId !== undefined) {
    assert.equal(error.requestId, expected.requestId);
  } else if (expected.sentRequestId !== undefined) {
    assert.match(error.requestId ?? '', /^[0-9a-f-]{36}$/, 'the server quotes its own request id');
    assert.notEqual(error.requestId, expected.sentRequestId, "the caller's x-request-id is not the server's id");
  } else {
    assert.equal(typeof error.requestId, 'string');
    assert.ok(error.requestId);
  }
  return error;
}

/**
 * Options that send an `x-request-id` of the caller's. The server records every request under an id of its own
 * (the caller's is kept beside it as `clientRequestId`), so the error must quote the server's id, not this one.
 */
const traced = () => {
  const sentRequestId = randomUUID();
  return { sentRequestId, options: { headers: { 'x-request-id': sentRequestId } } };
};

/** A `fetch` that counts what it sends: to check that a refused argument sends nothing. */
function countingFetch(): { fetch: typeof fetch; sent: () => number } {
  let sent = 0;
  return {
    fetch: (input, init) => {
      sent++;
      return fetch(input, init);
    },
    sent: () => sent,
  };
}

/**
 * What the stub does with each request, in order (then `forward`): answer 503 itself without forwarding, forward
 * to the real server and relay its answer, forward but answer 503 (the answer is lost on the way back), or never
 * answer.
 */
type StubAction = 'unavailable' | 'statement-timeout' | 'forward' | 'forward-then-unavailable' | 'hang';

interface Stub {
  readonly url: string;
  /** Requests received so far */
  readonly requests: number;
  /** The next requests' actions */
  script: StubAction[];
  /** Resolves when the stub has received `count` requests in all */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

const FORWARDED_REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'idempotency-key', 'if-match', 'x-request-id'];
const RELAYED_RESPONSE_HEADERS = ['content-type', 'etag', 'x-request-id', 'idempotent-replayed', 'retry-after'];

async function startStub(upstream: string): Promise<Stub> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const action = stub.script.shift() ?? 'forward';
    if (action === 'hang') return;
    if (action === 'unavailable') {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
      return;
    }
    if (action === 'statement-timeout') {
      req.resume();
      // Roster's own GraphQL answer to a statement PostgreSQL cancelled.
      const message = 'The request took longer than the server allows (statement timeout)';
      const body = { data: null, errors: [{ message, extensions: { code: 'STATEMENT_TIMEOUT', response: { statusCode: 503, errorCode: 'STATEMENT_TIMEOUT', message } } }] };
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = req.headers[name];
        if (typeof value === 'string') headers.set(name, value);
      }
      const answer = await fetch(`${upstream}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined });
      const text = await answer.text();
      if (action === 'forward-then-unavailable') {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
        return;
      }
      const relayed: Record<string, string> = {};
      for (const name of RELAYED_RESPONSE_HEADERS) {
        const value = answer.headers.get(name);
        if (value !== null) relayed[name] = value;
      }
      res.writeHead(answer.status, relayed).end(text);
    })().catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stub: Stub = {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    script: [],
    received: async (count) => {
      while (requests < count) await sleep(5);
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
  return stub;
}

describe('errors as RosterError', () => {
  let server: TestServer;
  let client: RosterClient;
  let admin: RosterSession;
  let companyId: string;
  let member: string;

  const createUser = async (tenantId?: string) => {
    const reference = unique('err-user');
    return (await admin.createUser({ user: { reference, email: `${reference}@example.com`, ...(tenantId ? { tenantId } : {}) } })).createUser;
  };
  const usersWithReference = async (reference: string) =>
    (await admin.users({ filter: { reference: { equalTo: reference } } })).users.data.map((u) => u.id);
  const groupsNamed = async (name: string) =>
    (await admin.rest.listUserGroups({ companyId, body: { searchText: name, pagination: { offset: 0, limit: 100 } } })).userGroups.filter((g) => g.name === name).map((g) => g.id);

  before(async () => {
    server = await startServer({ ROSTER_BODY_LIMIT_BYTES: String(BODY_LIMIT) });
    client = new RosterClient({ url: server.url, apiKey: server.apiKey });
    admin = client.asSuperAdmin();
    companyId = (await admin.createTenant({ tenant: { name: unique('Errors Co') } })).createTenant.id;
    member = (await createUser(companyId)).id;
  });
  after(() => server.close());

  describe('server errors', () => {
    it('BAD_USER_INPUT 400: an invalid email (GraphQL), an invalid uuid path parameter and a bad page size (REST), naming the field', async () => {
      const a = traced();
      const email = await expectRosterError(admin.createUser({ user: { reference: unique('bad'), email: 'not-an-email' } }, a.options), {
        code: 'BAD_USER_INPUT',
        status: 400,
        field: 'user.email',
        sentRequestId: a.sentRequestId,
      });
      assert.match(email.message, /user\.email/);
      assert.deepEqual(email.errors[0]?.path, ['createUser']);
      assert.deepEqual(email.data, { createUser: null });

      await expectRosterError(admin.user('nope'), { code: 'BAD_USER_INPUT', status: 400, field: 'id' });

      const b = traced();
      await expectRosterError(admin.rest.getUserGroup({ companyId: 'not-a-uuid', groupId: NIL }, b.options), {
        code: 'BAD_USER_INPUT',
        status: 400,
        field: 'companyId',
        sentRequestId: b.sentRequestId,
      });
      await expectRosterError(admin.rest.listUserGroups({ companyId, body: { pagination: { offset: 0, limit: 5000 } } }), {
        code: 'BAD_USER_INPUT',
        status: 400,
        field: 'pagination.limit',
      });
    });

    it('UNAUTHENTICATED 401: a wrong API key, a garbage token, and asUser with a wrong key (token endpoint)', async () => {
      const wrong = new RosterClient({ url: server.url, apiKey: 'wrong-key-wrong-key-wrong-key' });
      const a = traced();
      await expectRosterError(wrong.asSuperAdmin().users(undefined, a.options), { code: 'UNAUTHENTICATED', status: 401, field: undefined, sentRequestId: a.sentRequestId });
      await expectRosterError(wrong.asSuperAdmin().rest.listPermissions(), { code: 'UNAUTHENTICATED', status: 401, field: undefined });
      await expectRosterError(wrong.asUser(member).user(member), { code: 'UNAUTHENTICATED', status: 401 });

      const counting = countingFetch();
      const garbage = new RosterClient({ url: server.url, fetch: counting.fetch }).withToken('garbage');
      await expectRosterError(garbage.users(), { code: 'UNAUTHENTICATED', status: 401 });
      await expectRosterError(garbage.rest.getUserGroup({ companyId, groupId: NIL }), { code: 'UNAUTHENTICATED', status: 401 });
      assert.equal(counting.sent(), 2, 'a 401 with a token the caller holds is not retried');
    });

    it('FORBIDDEN 403: a user token doing what only the super-admin may', async () => {
      const user = client.asUser(member);
      const a = traced();
      await expectRosterError(user.createUser({ user: { reference: unique('nope'), email: `${unique('nope')}@example.com` } }, a.options), {
        code: 'FORBIDDEN',
        status: 403,
        sentRequestId: a.sentRequestId,
      });
      await expectRosterError(user.users(), { code: 'FORBIDDEN', status: 403 });
      await expectRosterError(user.createApiKey({ name: 'nope' }), { code: 'FORBIDDEN', status: 403 });
      const b = traced();
      await expectRosterError(user.rest.listApiKeys(undefined, b.options), { code: 'FORBIDDEN', status: 403, sentRequestId: b.sentRequestId });
      await expectRosterError(user.rest.createUserGroup({ companyId, body: { name: unique('nope'), description: '' } }), { code: 'FORBIDDEN', status: 403 });
    });

    it('NOT_FOUND 404: an unknown user (GraphQL), an unknown group (REST), asUser of an unknown user', async () => {
      const a = traced();
      const error = await expectRosterError(admin.user({ id: NIL }, a.options), { code: 'NOT_FOUND', status: 404, field: 'id', sentRequestId: a.sentRequestId });
      assert.equal(error.data, null);
      const b = traced();
      await expectRosterError(admin.rest.getUserGroup({ companyId, groupId: NIL }, b.options), { code: 'NOT_FOUND', status: 404, field: 'groupId', sentRequestId: b.sentRequestId });
      await expectRosterError(admin.rest.getRbacInfo({ userId: NIL }), { code: 'NOT_FOUND', status: 404 });
      await expectRosterError(client.asUser(NIL).user(NIL), { code: 'NOT_FOUND', status: 404 });
    });

    // A user token is obtained with its own retries; a definitive answer of the token endpoint fails the call at
    // once, without the call's retries on top (at 6584f7d, Transport.send retried it as if it were a network failure).
    it('asUser: a definitive 404 or 401 from the token endpoint is not retried: one token request', async () => {
      for (const apiKey of [server.apiKey, 'wrong-key-wrong-key-wrong-key']) {
        const counting = countingFetch();
        const viaCounting = new RosterClient({ url: server.url, apiKey, fetch: counting.fetch });
        const error = await expectRosterError(viaCounting.asUser(apiKey === server.apiKey ? NIL : member).user(NIL), {
          code: apiKey === server.apiKey ? 'NOT_FOUND' : 'UNAUTHENTICATED',
          status: apiKey === server.apiKey ? 404 : 401,
        });
        assert.equal(counting.sent(), 1, `${error.code}: the token request was sent ${counting.sent()} times`);
      }
    });

    it('CONFLICT 409: a duplicate reference, a stale expectedVersion, a duplicate role (REST)', async () => {
      const first = await createUser(companyId);
      const a = traced();
      await expectRosterError(admin.createUser({ user: { reference: first.reference, email: `${unique('other')}@example.com`, tenantId: companyId } }, a.options), {
        code: 'CONFLICT',
        status: 409,
        field: 'reference',
        sentRequestId: a.sentRequestId,
      });

      const ref = unique('versioned');
      const { createUserGroup: group } = await admin.createUserGroup({ userGroup: { name: ref, reference: ref } });
      assert.equal(group.version, 1);
      const { updateUserGroup } = await admin.updateUserGroup({ id: group.id, userGroup: { name: 'Second' }, expectedVersion: 1 });
      assert.equal(updateUserGroup.version, 2);
      const stale = await expectRosterError(admin.updateUserGroup({ id: group.id, userGroup: { name: 'Third' }, expectedVersion: 1 }), {
        code: 'CONFLICT',
        status: 409,
        field: 'expectedVersion',
      });
      assert.match(stale.message, /version 2/);
      assert.equal(stale.details.currentVersion, 2);
      assert.equal((await admin.userGroup(group.id)).userGroup.name, 'Second');
      await expectRosterError(admin.updateUser({ id: first.id, user: { firstName: 'Stale' }, expectedVersion: first.version + 1 }), {
        code: 'CONFLICT',
        status: 409,
        field: 'expectedVersion',
      });

      const name = unique('Auditor');
      await admin.rest.createRole({ companyId, body: { name, permissions: [] } });
      await expectRosterError(admin.rest.createRole({ companyId, body: { name, permissions: [] } }), { code: 'CONFLICT', status: 409, field: 'key' });
    });

    it('CONFLICT 409 over REST: ifMatch with a stale ETag (from rest.call) is refused and changes nothing', async () => {
      const { id: groupId } = await admin.rest.createUserGroup({ companyId, body: { name: unique('Etag'), description: 'original' } });
      const read = await admin.rest.call('getUserGroup', { companyId, groupId });
      assert.equal(read.status, 200);
      assert.equal(read.etag, '"1"');
      assert.equal(typeof read.requestId, 'string');
      assert.equal(read.replayed, false);
      assert.equal(read.data.id, groupId);

      const updated = await admin.rest.call('updateUserGroup', { companyId, groupId, body: { name: 'After' } }, { ifMatch: read.etag });
      assert.equal(updated.etag, '"2"');
      assert.equal(updated.data.name, 'After');

      const a = traced();
      const stale = await expectRosterError(admin.rest.updateUserGroup({ companyId, groupId, body: { name: 'Lost update' } }, { ifMatch: read.etag, ...a.options }), {
        code: 'CONFLICT',
        status: 409,
        field: 'If-Match',
        sentRequestId: a.sentRequestId,
      });
      assert.match(stale.message, /version 2/);
      assert.equal(stale.details.currentVersion, 2);
      await expectRosterError(admin.rest.deleteUserGroup({ companyId, groupId }, { ifMatch: read.etag }), { code: 'CONFLICT', status: 409, field: 'If-Match' });
      const now = await admin.rest.call('getUserGroup', { companyId, groupId });
      assert.equal(now.data.name, 'After');
      assert.equal(now.etag, '"2"');
    });

    it('PAYLOAD_TOO_LARGE 413: a body over ROSTER_BODY_LIMIT_BYTES, GraphQL and REST; nothing written', async () => {
      const reference = unique('big');
      const pad = 'x'.repeat(BODY_LIMIT + 1024);
      const a = traced();
      await expectRosterError(admin.createUser({ user: { reference, email: `${reference}@example.com`, customData: { pad } } }, a.options), {
        code: 'PAYLOAD_TOO_LARGE',
        status: 413,
        sentRequestId: a.sentRequestId,
      });
      assert.deepEqual(await usersWithReference(reference), []);
      const name = unique('Big');
      const b = traced();
      await expectRosterError(admin.rest.createUserGroup({ companyId, body: { name, description: pad } }, b.options), {
        code: 'PAYLOAD_TOO_LARGE',
        status: 413,
        sentRequestId: b.sentRequestId,
      });
      assert.deepEqual(await groupsNamed(name), []);
    });

    it('idempotency: the same key replays (replayed: true); the same key for another request is IDEMPOTENCY_KEY_REUSED 422', async () => {
      const key = unique('idem-rest');
      const name = unique('Once');
      const first = await admin.rest.call('createUserGroup', { companyId, body: { name, description: '' } }, { idempotencyKey: key });
      assert.equal(first.replayed, false);
      const second = await admin.rest.call('createUserGroup', { companyId, body: { name, description: '' } }, { idempotencyKey: key });
      assert.equal(second.replayed, true);
      assert.deepEqual(second.data, first.data);
      assert.deepEqual(await groupsNamed(name), [first.data.id]);
      const a = traced();
      const otherName = unique('Other');
      await expectRosterError(admin.rest.createUserGroup({ companyId, body: { name: otherName, description: '' } }, { idempotencyKey: key, ...a.options }), {
        code: 'IDEMPOTENCY_KEY_REUSED',
        status: 422,
        field: 'Idempotency-Key',
        sentRequestId: a.sentRequestId,
      });
      assert.deepEqual(await groupsNamed(otherName), []);

      const gqlKey = unique('idem-gql');
      const reference = unique('idem-user');
      const user = { reference, email: `${reference}@example.com` };
      const created = await admin.createUser({ user }, { idempotencyKey: gqlKey });
      const replayed = await admin.createUser({ user }, { idempotencyKey: gqlKey });
      assert.equal(replayed.createUser.id, created.createUser.id);
      assert.deepEqual(await usersWithReference(reference), [created.createUser.id]);
      const otherRef = unique('idem-other');
      await expectRosterError(admin.createUser({ user: { reference: otherRef, email: `${otherRef}@example.com` } }, { idempotencyKey: gqlKey }), {
        code: 'IDEMPOTENCY_KEY_REUSED',
        status: 422,
        field: 'Idempotency-Key',
      });
      assert.deepEqual(await usersWithReference(otherRef), []);
    });

    it('a GraphQL error keeps the errors array and the data the server returned next to it', async () => {
      const good = unique('partial');
      const bad = unique('partial-bad');
      const error = await expectRosterError(
        admin.graphqlRequest(`mutation($good: UserCreateDto!, $bad: UserCreateDto!) { a: createUser(user: $good) { id } b: createUser(user: $bad) { id } }`, {
          good: { reference: good, email: `${good}@example.com` },
          bad: { reference: bad, email: 'not-an-email' },
        }),
        // The answer is a 200 (one mutation was applied); the error's own status is the 400 of its envelope.
        { code: 'BAD_USER_INPUT', status: 400, field: 'user.email' },
      );
      assert.equal(error.errors.length, 1);
      assert.deepEqual(error.errors[0]?.path, ['b']);
      assert.equal(error.errors[0]?.field, 'user.email');
      const data = error.data as { a: { id: string } | null; b: null };
      assert.ok(data.a);
      assert.equal(data.b, null);
      assert.deepEqual(await usersWithReference(good), [data.a.id], 'the first mutation was applied');
      assert.deepEqual(await usersWithReference(bad), []);

      const invalid = await expectRosterError(admin.graphqlRequest('{ nope }'), { code: 'BAD_USER_INPUT', status: 400 });
      assert.equal(invalid.data, null);
    });
  });

  describe('client-side failures: status 0', () => {
    let hanging: Stub;

    before(async () => {
      hanging = await startStub(server.url);
    });
    after(() => hanging.close());

    it('BAD_USER_INPUT for an unknown argument key, a missing REST path parameter or a bad page size; nothing is sent', async () => {
      const counting = countingFetch();
      const session = new RosterClient({ url: server.url, apiKey: server.apiKey, fetch: counting.fetch }).asSuperAdmin();
      await expectRosterError(session.users({ nope: 1 } as never), { code: 'BAD_USER_INPUT', status: 0, field: 'nope' });
      await expectRosterError(session.userGroup({ id: NIL, withEverything: true } as never), { code: 'BAD_USER_INPUT', status: 0, field: 'withEverything' });
      await expectRosterError(session.rest.getUserGroup({ companyId } as never), { code: 'BAD_USER_INPUT', status: 0, field: 'groupId' });
      await expectRosterError(session.rest.getUserGroup({ companyId, groupId: '' }), { code: 'BAD_USER_INPUT', status: 0, field: 'groupId' });
      await expectRosterError(session.rest.getUserGroup({ companyId, groupId: NIL, nope: 1 } as never), { code: 'BAD_USER_INPUT', status: 0, field: 'nope' });
      await expectRosterError(session.rest.listPermissions({ query: { all: true } } as never), { code: 'BAD_USER_INPUT', status: 0, field: 'query' });
      await expectRosterError(session.iterateUsers({ pageSize: 0 }).next(), { code: 'BAD_USER_INPUT', status: 0, field: 'pageSize' });
      await expectRosterError(session.iterateUsers({ limit: 5 } as never).next(), { code: 'BAD_USER_INPUT', status: 0, field: 'limit' });
      await expectRosterError(session.rest.paginate('listUserGroups', { companyId, pageSize: 1.5 }).next(), { code: 'BAD_USER_INPUT', status: 0, field: 'pageSize' });
      assert.equal(counting.sent(), 0);
    });

    it('ABORTED: an already-aborted signal sends nothing; an abort in flight is not retried', async () => {
      const counting = countingFetch();
      const session = new RosterClient({ url: hanging.url, apiKey: server.apiKey, retryDelayMs: 1, fetch: counting.fetch }).asSuperAdmin();
      const before = hanging.requests;
      await expectRosterError(session.users(undefined, { signal: AbortSignal.abort() }), { code: 'ABORTED', status: 0, field: undefined });
      await expectRosterError(session.rest.listPermissions(undefined, { signal: AbortSignal.abort() }), { code: 'ABORTED', status: 0 });
      assert.equal(hanging.requests, before, 'nothing reached the server');

      hanging.script = ['hang'];
      const attempts = counting.sent();
      const controller = new AbortController();
      const call = session.users(undefined, { signal: controller.signal, retries: 3 });
      await hanging.received(before + 1);
      controller.abort();
      await expectRosterError(call, { code: 'ABORTED', status: 0 });
      assert.equal(counting.sent() - attempts, 1, 'a read aborted by the caller is not tried again');
    });

    it('TIMEOUT: no answer within timeoutMs; a query is retried, a mutation is not', async () => {
      // Attempts are counted at the client: under load an attempt may time out before it reaches the stub.
      const counting = countingFetch();
      const session = new RosterClient({ url: hanging.url, apiKey: server.apiKey, retryDelayMs: 1, fetch: counting.fetch }).asSuperAdmin();
      hanging.script = ['hang', 'hang', 'hang', 'hang'];
      const timeout = await expectRosterError(session.users(undefined, { timeoutMs: 100, retries: 0 }), { code: 'TIMEOUT', status: 0, field: undefined });
      assert.match(timeout.message, /100 ms/);
      assert.equal(counting.sent(), 1);

      await expectRosterError(session.users(undefined, { timeoutMs: 100, retries: 1 }), { code: 'TIMEOUT', status: 0 });
      assert.equal(counting.sent(), 3, 'a read is tried again after a timeout');

      const reference = unique('timeout');
      await expectRosterError(session.createUser({ user: { reference, email: `${reference}@example.com` } }, { timeoutMs: 100, retries: 2 }), { code: 'TIMEOUT', status: 0 });
      assert.equal(counting.sent(), 4, 'a write without an idempotency key is not');
    });

    it('NETWORK_ERROR: nothing listens on the port', async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const session = new RosterClient({ url: `http://127.0.0.1:${port}`, apiKey: server.apiKey, retries: 0 }).asSuperAdmin();
      const graphql = await expectRosterError(session.users(), { code: 'NETWORK_ERROR', status: 0, field: undefined });
      assert.ok(graphql.cause !== undefined);
      await expectRosterError(session.rest.getUserGroup({ companyId, groupId: NIL }), { code: 'NETWORK_ERROR', status: 0 });
    });
  });

  describe('retries behind a proxy answering 503', () => {
    let proxy: Stub;
    let session: RosterSession;

    before(async () => {
      proxy = await startStub(server.url);
      session = new RosterClient({ url: proxy.url, apiKey: server.apiKey, retryDelayMs: 1 }).asSuperAdmin();
    });
    after(() => proxy.close());

    it('queries and REST reads are retried on 503 until they succeed; past the retries the 503 surfaces', async () => {
      const user = await createUser();
      let sent = proxy.requests;
      proxy.script = ['unavailable', 'unavailable'];
      const found = await session.users({ filter: { reference: { equalTo: user.reference } } });
      assert.deepEqual(found.users.data.map((u) => u.id), [user.id]);
      assert.equal(proxy.requests - sent, 3);

      const { id: groupId } = await admin.rest.createUserGroup({ companyId, body: { name: unique('Retried'), description: '' } });
      sent = proxy.requests;
      proxy.script = ['unavailable'];
      assert.equal((await session.rest.getUserGroup({ companyId, groupId })).id, groupId);
      // A list is a POST, but a read: retried as well.
      proxy.script = ['unavailable'];
      const listed = await session.rest.listUserGroups({ companyId, body: { pagination: { offset: 0, limit: 100 }, filters: [{ userGroupIds: [groupId] }] } });
      assert.deepEqual(listed.userGroups.map((g) => g.id), [groupId]);
      assert.equal(proxy.requests - sent, 4);

      sent = proxy.requests;
      proxy.script = ['unavailable', 'unavailable'];
      const error = await expectRosterError(session.user(user.id, { retries: 1 }), { code: 'SERVICE_UNAVAILABLE', status: 503, requestId: null });
      assert.equal(error.message, 'Service Unavailable');
      assert.equal(proxy.requests - sent, 2);
    });

    it('a query cancelled by the statement timeout is not retried: it would only time out again', async () => {
      const sent = proxy.requests;
      proxy.script = ['statement-timeout', 'statement-timeout'];
      await expectRosterError(session.users(), { code: 'STATEMENT_TIMEOUT', status: 503, requestId: null });
      assert.equal(proxy.requests - sent, 1);
      proxy.script = [];
    });

    it('a mutation without an idempotency key is not retried on 503', async () => {
      const reference = unique('no-retry');
      let sent = proxy.requests;
      proxy.script = ['unavailable'];
      await expectRosterError(session.createUser({ user: { reference, email: `${reference}@example.com` } }), { code: 'SERVICE_UNAVAILABLE', status: 503, requestId: null });
      assert.equal(proxy.requests - sent, 1);
      assert.deepEqual(await usersWithReference(reference), []);

      const { id: groupId } = await admin.rest.createUserGroup({ companyId, body: { name: unique('Patch'), description: '' } });
      sent = proxy.requests;
      proxy.script = ['unavailable'];
      await expectRosterError(session.rest.updateUserGroup({ companyId, groupId, body: { name: 'Not retried' } }), { code: 'SERVICE_UNAVAILABLE', status: 503, requestId: null });
      assert.equal(proxy.requests - sent, 1);

      // Why: the answer may be lost after the write was applied. Retrying would apply it twice.
      const lost = unique('lost-answer');
      sent = proxy.requests;
      proxy.script = ['forward-then-unavailable'];
      await expectRosterError(session.createUser({ user: { reference: lost, email: `${lost}@example.com` } }), { code: 'SERVICE_UNAVAILABLE', status: 503, requestId: null });
      assert.equal(proxy.requests - sent, 1);
      assert.equal((await usersWithReference(lost)).length, 1, 'applied, though the caller saw a 503');
    });

    it('a mutation with an idempotency key is retried after its answer was lost, and applied once', async () => {
      const reference = unique('retried');
      let sent = proxy.requests;
      proxy.script = ['forward-then-unavailable'];
      const { createUser: created } = await session.createUser({ user: { reference, email: `${reference}@example.com` } }, { idempotencyKey: unique('key') });
      assert.equal(proxy.requests - sent, 2);
      assert.equal(created.reference, reference);
      assert.deepEqual(await usersWithReference(reference), [created.id]);

      const name = unique('Retried group');
      sent = proxy.requests;
      proxy.script = ['forward-then-unavailable'];
      const response = await session.rest.call('createUserGroup', { companyId, body: { name, description: '' } }, { idempotencyKey: unique('key') });
      assert.equal(proxy.requests - sent, 2);
      assert.equal(response.replayed, true, 'the retry got the stored answer of the first attempt');
      assert.deepEqual(await groupsNamed(name), [response.data.id]);

      // 503s before anything reached the server: retried too, and applied once.
      const again = unique('retried-503');
      sent = proxy.requests;
      proxy.script = ['unavailable', 'unavailable'];
      const { createUser: third } = await session.createUser({ user: { reference: again, email: `${again}@example.com` } }, { idempotencyKey: unique('key') });
      assert.equal(proxy.requests - sent, 3);
      assert.deepEqual(await usersWithReference(again), [third.id]);
    });
  });

  describe('rate limiting: RATE_LIMITED 429', () => {
    let node: SiblingServer;
    let session: RosterSession;
    /** Every attempt of `session`: when it was sent, when its answer came, its status and Retry-After */
    const attempts: { sentAt: number; answeredAt: number; status: number; retryAfter: string | null }[] = [];

    /**
     * Spends the budget (3 requests a second) with a burst of concurrent calls, so that some land in the same window
     * however slow the machine, and returns the first 429.
     */
    async function untilLimited(call: () => Promise<unknown>): Promise<RosterError> {
      for (let burst = 0; burst < 5; burst++) {
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => call()));
        for (const result of results) {
          if (result.status === 'fulfilled') continue;
          if (result.reason instanceof RosterError && result.reason.status === 429) return result.reason;
          throw result.reason;
        }
      }
      assert.fail('never rate limited');
    }

    before(async () => {
      // Another Roster node on the same database, with a budget of 3 requests a second for the API key.
      node = await startSibling(server, { ROSTER_RATE_LIMIT_API_KEY: '3', ROSTER_RATE_LIMIT_WINDOW_SECONDS: '1' });
      const recording: typeof fetch = async (input, init) => {
        const sentAt = performance.now();
        const response = await fetch(input, init);
        attempts.push({ sentAt, answeredAt: performance.now(), status: response.status, retryAfter: response.headers.get('retry-after') });
        return response;
      };
      session = new RosterClient({ url: node.url, apiKey: node.apiKey, fetch: recording }).asSuperAdmin();
    });
    after(() => node.close());

    it('with retries: 0 a call over the budget rejects at once with 429, retryAfterSeconds and the request id (GraphQL and REST)', async () => {
      const graphql = await untilLimited(() => session.isTenantsActive(undefined, { retries: 0 }));
      await expectRosterError(Promise.reject(graphql), { code: 'RATE_LIMITED', status: 429 });
      assert.equal(typeof graphql.retryAfterSeconds, 'number');
      assert.ok(Number.isFinite(graphql.retryAfterSeconds) && (graphql.retryAfterSeconds ?? -1) >= 0);
      assert.ok(attempts.some((a) => a.status === 429 && a.retryAfter === String(graphql.retryAfterSeconds)), 'retryAfterSeconds is the Retry-After header');

      const rest = await untilLimited(() => session.rest.listPermissions(undefined, { retries: 0 }));
      await expectRosterError(Promise.reject(rest), { code: 'RATE_LIMITED', status: 429 });
      assert.equal(typeof rest.retryAfterSeconds, 'number');
    });

    it('with retries the client waits as long as Retry-After says, then succeeds; even a mutation, applied once (a 429 ran nothing)', async () => {
      for (let round = 0; round < 3; round++) {
        await untilLimited(() => session.isTenantsActive(undefined, { retries: 0 }));
        attempts.length = 0;
        const reference = unique('after-429');
        const { createUser } = await session.createUser({ user: { reference, email: `${reference}@example.com` } }, { retries: 3 });
        const refused = attempts[0]?.status === 429;
        const answered = attempts.at(-1);
        assert.equal(answered?.status, 200);
        for (let i = 1; i < attempts.length; i++) {
          const previous = attempts[i - 1]!;
          assert.equal(previous.status, 429);
          const retryAfter = Number(previous.retryAfter);
          assert.ok(Number.isFinite(retryAfter), `Retry-After ${previous.retryAfter}`);
          // A lower bound only (never flaky on a slow machine): the retry was not sent before Retry-After passed.
          const waited = attempts[i]!.sentAt - previous.answeredAt;
          assert.ok(waited >= retryAfter * 1000 - 20, `waited ${waited} ms, Retry-After ${retryAfter} s`);
        }
        const found = await session.users({ filter: { reference: { equalTo: reference } } }, { retries: 3 });
        assert.deepEqual(found.users.data.map((u) => u.id), [createUser.id]);
        // The window may have turned over between the two calls (a slow machine): then try again.
        if (refused) return;
      }
      assert.fail('the call after the budget was spent was never refused');
    });
  });
});
