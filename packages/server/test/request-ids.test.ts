/**
 * The request id is always the server's own: in the response's x-request-id, the log lines and the audit record's
 * requestId. A caller's well-formed x-request-id is kept beside it (clientRequestId in the audit record and the
 * logs, x-client-request-id in the response), never instead of it: a caller cannot write another request's id
 * into the audit log. Every way a write is audited is covered: one-statement user writes, writes in a transaction,
 * membership statements; through GraphQL and REST.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../src/app.ts';
import { createTenant, createUser } from './helpers/roster.ts';
import { startServer, unique, type TestServer } from './helpers/server.ts';

const SERVER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface AuditEvent {
  operation: string;
  targetId: string | null;
  requestId: string | null;
  clientRequestId: string | null;
}

describe('request ids', () => {
  let server: TestServer;
  let tenant: string;
  before(async () => {
    server = await startServer();
    tenant = await createTenant(server);
  });
  after(() => server.close());

  /** Sends a request with the given x-request-id; returns the body and both ids of the response. */
  async function send(method: string, path: string, body: unknown, clientId: string | undefined) {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${server.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(clientId === undefined ? {} : { 'x-request-id': clientId }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & { data?: Record<string, { id: string } | null>; errors?: unknown[] },
      requestId: response.headers.get('x-request-id'),
      clientRequestId: response.headers.get('x-client-request-id'),
    };
  }

  const graphql = (query: string, variables: Record<string, unknown>, clientId?: string) => send('POST', '/graphql', { query, variables }, clientId);

  /** The response names the request by the server's id, and echoes the caller's beside it. */
  function assertIds(res: { requestId: string | null; clientRequestId: string | null }, clientId: string | null): string {
    assert.match(res.requestId ?? '', SERVER_ID, 'the server makes its own request id');
    assert.notEqual(res.requestId, clientId);
    assert.equal(res.clientRequestId, clientId);
    return res.requestId!;
  }

  /** The audit events recorded under a request id, read through GraphQL and through REST: the same in both. */
  async function eventsOf(requestId: string): Promise<AuditEvent[]> {
    const read = await graphql('query($t: ID) { auditEvents(filter: { tenantId: $t }, first: 100) { data { operation targetId requestId clientRequestId } } }', { t: tenant });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    const viaGraphql = (read.body.data!.auditEvents as unknown as { data: AuditEvent[] }).data.filter((e) => e.requestId === requestId);
    const listed = await send('GET', `/v3/companies/${tenant}/audit-events?limit=100`, undefined, undefined);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const viaRest = (listed.body.events as AuditEvent[])
      .filter((e) => e.requestId === requestId)
      .map((e) => ({ operation: e.operation, targetId: e.targetId, requestId: e.requestId, clientRequestId: e.clientRequestId }));
    assert.deepEqual(viaRest, viaGraphql, 'REST lists the same ids');
    return viaGraphql;
  }

  async function onlyEvent(requestId: string, operation: string, clientRequestId: string | null): Promise<AuditEvent> {
    const events = await eventsOf(requestId);
    assert.deepEqual(events.map((e) => e.operation), [operation]);
    assert.equal(events[0]!.requestId, requestId);
    assert.equal(events[0]!.clientRequestId, clientRequestId);
    return events[0]!;
  }

  it('GraphQL: x-request-id: forged-123 gets a server-made id; the record keeps forged-123 as clientRequestId (one-statement user create)', async () => {
    const reference = unique('forged');
    const res = await graphql('mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference, email: `${reference}@example.test`, tenantId: tenant } }, 'forged-123');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const requestId = assertIds(res, 'forged-123');
    const event = await onlyEvent(requestId, 'user.create', 'forged-123');
    assert.equal(event.targetId, res.body.data!.createUser!.id);
    assert.deepEqual(await eventsOf('forged-123'), [], 'nothing is recorded under the id the caller chose');
  });

  it('GraphQL: the one-statement user update, a write in a transaction and a membership statement record both ids', async () => {
    const user = await createUser(server, { tenantId: tenant });
    let clientId = unique('client-update');
    const updated = await graphql('mutation($id: ID!) { updateUser(id: $id, user: { firstName: "Ida" }) { id } }', { id: user.id }, clientId);
    await onlyEvent(assertIds(updated, clientId), 'user.update', clientId);

    clientId = unique('client-group');
    const created = await graphql('mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id } }', { g: { name: unique('Ids'), reference: unique('ids'), tenantId: tenant } }, clientId);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    await onlyEvent(assertIds(created, clientId), 'userGroup.create', clientId);
    const groupId = created.body.data!.createUserGroup!.id;

    clientId = unique('client-members');
    const added = await graphql('mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }', { g: groupId, u: [user.id] }, clientId);
    assert.equal(added.status, 200, JSON.stringify(added.body));
    await onlyEvent(assertIds(added, clientId), 'userGroup.members.add', clientId);
  });

  it('REST: a write in a transaction and a membership statement record the server id and the caller id', async () => {
    const user = await createUser(server, { tenantId: tenant });
    let clientId = 'forged-123';
    const created = await send('POST', `/v3/companies/${tenant}/user-groups`, { name: unique('Rest ids'), description: '' }, clientId);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    await onlyEvent(assertIds(created, clientId), 'userGroup.create', clientId);
    const groupId = created.body.id as string;

    clientId = unique('client-rest-members');
    const patched = await send('PATCH', `/v3/companies/${tenant}/user-groups/${groupId}/members`, { userIdsToAdd: [user.id] }, clientId);
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await onlyEvent(assertIds(patched, clientId), 'userGroup.members.add', clientId);
  });

  it("a caller sending another request's id as its x-request-id cannot record under it", async () => {
    const first = await createUser(server, { tenantId: tenant });
    const victim = await graphql('mutation($id: ID!) { updateUser(id: $id, user: { lastName: "Victim" }) { id } }', { id: first.id });
    const victimId = assertIds(victim, null);
    await onlyEvent(victimId, 'user.update', null);
    const forger = await graphql('mutation($id: ID!) { updateUser(id: $id, user: { lastName: "Forger" }) { id } }', { id: first.id }, victimId);
    const forgerId = assertIds(forger, victimId);
    await onlyEvent(victimId, 'user.update', null);
    await onlyEvent(forgerId, 'user.update', victimId);
  });

  it('a malformed x-request-id is dropped: no echo, no clientRequestId', async () => {
    for (const malformed of ['has spaces', 'x'.repeat(129), 'semi;colon']) {
      const reference = unique('malformed');
      const res = await graphql('mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference, email: `${reference}@example.test`, tenantId: tenant } }, malformed);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await onlyEvent(assertIds(res, null), 'user.create', null);
    }
  });

  it('an error answer quotes the server id too', async () => {
    const res = await send('GET', `/v3/companies/${tenant}/user-groups/00000000-0000-4000-8000-000000000001`, undefined, 'forged-404');
    assert.equal(res.status, 404);
    assert.equal(res.body.debugIdentifier, assertIds(res, 'forged-404'));
  });

  it("log lines carry the server's id as reqId and the caller's as clientRequestId", async () => {
    const lines: Record<string, unknown>[] = [];
    const app = await buildApp({
      config: server.config,
      db: server.database.db,
      logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } },
    });
    try {
      await app.server.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const response = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { 'x-request-id': 'forged-123' } });
      const requestId = assertIds({ requestId: response.headers.get('x-request-id'), clientRequestId: response.headers.get('x-client-request-id') }, 'forged-123');
      const plain = await fetch(`http://127.0.0.1:${port}/healthz`);
      const plainId = plain.headers.get('x-request-id');
      const ofRequest = lines.filter((l) => l.reqId === requestId);
      assert.ok(ofRequest.length >= 2, `the request's log lines: ${JSON.stringify(lines)}`);
      for (const line of ofRequest) assert.equal(line.clientRequestId, 'forged-123');
      assert.equal(lines.filter((l) => l.reqId === 'forged-123').length, 0);
      const ofPlain = lines.filter((l) => l.reqId === plainId);
      assert.ok(ofPlain.length >= 1);
      for (const line of ofPlain) assert.equal('clientRequestId' in line, false);
    } finally {
      await app.server.close();
    }
  });
});
