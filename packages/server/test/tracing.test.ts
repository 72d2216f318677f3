/**
 * OpenTelemetry traces over OTLP/HTTP, checked at a stand-in collector (an in-process OTLP/JSON receiver): one
 * request span per HTTP request continuing the caller's W3C trace, a GraphQL operation span under it, a span per
 * database statement under those, status and error codes, sampling and resource settings, the flush at close; no
 * value from a request anywhere in what is exported; and, without an endpoint, none of the SDK loaded at all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { summarizeStatement } from '../src/observability/sql-summary.ts';
import { OtlpReceiver, SPAN_KIND, STATUS_CODE, type ReceivedSpan } from './helpers/otlp-receiver.ts';
import { gql, startServer, startSibling, unique, type TestServer } from './helpers/server.ts';

const serverDir = new URL('..', import.meta.url).pathname;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

// Roster names every request with an id of its own (the response's x-request-id, the spans' roster.request.id);
// the id a test sends as x-request-id comes back as x-client-request-id. Every fetch of this file notes the pair.
const serverIds = new Map<string, string[]>();
const plainFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const response = await plainFetch(input, init);
  const client = response.headers.get('x-client-request-id');
  const own = response.headers.get('x-request-id');
  if (client && own) serverIds.set(client, [...(serverIds.get(client) ?? []), own]);
  return response;
};
/** The server's id of the latest request sent with `x-request-id: clientId`. */
function serverIdOf(clientId: string): string {
  const id = serverIds.get(clientId)?.at(-1);
  assert.ok(id, `a response answered x-request-id ${clientId}`);
  assert.notEqual(id, clientId, 'the server names the request, not the caller');
  return id;
}
const traceparent = (traceId: string, parentId: string, sampled = true) => `00-${traceId}-${parentId}-${sampled ? '01' : '00'}`;

/** A span starts no earlier and ends no later than its parent. */
function assertWithin(child: ReceivedSpan, parent: ReceivedSpan): void {
  assert.equal(child.traceId, parent.traceId);
  assert.equal(child.parentSpanId, parent.spanId, `${child.name} is a child of ${parent.name}`);
  assert.ok(child.start >= parent.start, `${child.name} starts within ${parent.name}`);
  assert.ok(child.end <= parent.end, `${child.name} ends within ${parent.name}`);
}

function assertStatementSpan(span: ReceivedSpan): void {
  assert.equal(span.kind, SPAN_KIND.CLIENT, span.name);
  assert.equal(span.attributes['db.system.name'], 'postgresql');
  assert.equal(span.attributes['db.system'], 'postgresql');
  assert.equal(typeof span.attributes['db.operation.name'], 'string');
  assert.equal(span.name, span.attributes['db.query.summary']);
  assert.match(span.name, /^[A-Z]+( [A-Za-z_][A-Za-z0-9_$.]*)?$/);
  assert.ok(span.end >= span.start);
}

describe('OpenTelemetry traces', () => {
  let receiver: OtlpReceiver;
  let server: TestServer;
  const secrets: string[] = [];

  before(async () => {
    receiver = await OtlpReceiver.start();
    server = await startServer({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-token,x-scope=roster',
      OTEL_BSP_SCHEDULE_DELAY: '20',
    });
  });
  after(async () => {
    await server?.close();
    await receiver?.close();
  });

  it('continues the caller\'s trace: request, GraphQL operation and statement spans, nested', async () => {
    const traceId = hex(16);
    const callerSpanId = hex(8);
    const requestId = unique('otel-create');
    const email = `${unique('otel-secret')}@example.test`;
    const reference = unique('otel-ref-secret');
    secrets.push(email, reference);
    const created = await gql(server, 'mutation CreateOne($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference, email, firstName: 'Zelda-Secret' } }, {
      headers: { traceparent: traceparent(traceId, callerSpanId), 'x-request-id': requestId },
    });
    assert.equal(created.status, 200, JSON.stringify(created.errors));
    secrets.push('Zelda-Secret');

    const http = await receiver.serverSpan(serverIdOf(requestId));
    assert.equal(http.traceId, traceId, 'the incoming trace is continued');
    assert.equal(http.parentSpanId, callerSpanId, 'under the caller\'s span');
    assert.equal(http.name, 'POST /graphql');
    assert.equal(http.status, STATUS_CODE.UNSET);
    assert.deepEqual(
      { ...http.attributes },
      { 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200, 'roster.request.id': serverIdOf(requestId) },
    );
    assert.equal(http.resource['service.name'], 'roster');
    assert.match(String(http.resource['service.version']), /^\d+\.\d+\.\d+/);
    assert.equal(http.scope, '@roster/server');

    const [operation, ...others] = receiver.childrenOf(http);
    assert.equal(others.length, 0, 'one child: the GraphQL operation');
    assert.ok(operation);
    assert.equal(operation.kind, SPAN_KIND.INTERNAL);
    assert.equal(operation.name, 'mutation createUser');
    assert.equal(operation.attributes['graphql.operation.type'], 'mutation');
    assert.equal(operation.attributes['graphql.operation.name'], 'CreateOne');
    assert.deepEqual(operation.attributes['roster.graphql.root_fields'], ['createUser']);
    assert.equal(operation.attributes['roster.graphql.operation'], 'createUser');
    assertWithin(operation, http);

    const statements = receiver.childrenOf(operation);
    assert.ok(statements.length >= 1, 'the statements run by the operation');
    for (const statement of statements) {
      assertStatementSpan(statement);
      assertWithin(statement, operation);
    }
    const insert = statements.find((s) => s.attributes['db.operation.name'] === 'INSERT');
    assert.ok(insert, `an INSERT among ${statements.map((s) => s.name).join(', ')}`);
    assert.equal(insert.attributes['db.collection.name'], 'users');
    assert.equal(insert.name, 'INSERT users');

    // Sent as configured: to the base endpoint's /v1/traces, with OTEL_EXPORTER_OTLP_HEADERS, as OTLP/JSON.
    const sent = receiver.exports[0]!;
    assert.equal(sent.method, 'POST');
    assert.equal(sent.path, '/v1/traces');
    assert.match(String(sent.headers['content-type']), /^application\/json/);
    assert.equal(sent.headers.authorization, 'Bearer collector-token');
    assert.equal(sent.headers['x-scope'], 'roster');
  });

  it('starts a new trace without a traceparent or with a malformed one, and follows an unsampled caller', async () => {
    const email = `${unique('otel-inline-secret')}@example.test`;
    secrets.push(email);
    // The value is inlined in the document: the document is never recorded.
    const document = `query FindByMail { users(filter: { email: { equalTo: ${JSON.stringify(email)} } }) { data { id } totalCount } }`;

    const plainId = unique('otel-plain');
    assert.equal((await gql(server, document, undefined, { headers: { 'x-request-id': plainId } })).status, 200);
    const plain = await receiver.serverSpan(serverIdOf(plainId));
    assert.equal(plain.parentSpanId, undefined, 'a root span');
    assert.match(plain.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(plain.traceId, '0'.repeat(32));
    const [operation] = receiver.childrenOf(plain);
    assert.equal(operation?.name, 'query users');
    assert.equal(operation.attributes['graphql.operation.name'], 'FindByMail');
    const statements = receiver.childrenOf(operation);
    assert.ok(statements.length >= 1);
    for (const statement of statements) {
      assertStatementSpan(statement);
      assertWithin(statement, operation);
    }
    assert.ok(statements.some((s) => s.name === 'SELECT users'), statements.map((s) => s.name).join(', '));

    const malformedId = unique('otel-malformed');
    const malformed = await gql(server, '{ tenants { totalCount } }', undefined, { headers: { 'x-request-id': malformedId, traceparent: '00-nothex-nothex-01' } });
    assert.equal(malformed.status, 200);
    const fresh = await receiver.serverSpan(serverIdOf(malformedId));
    assert.equal(fresh.parentSpanId, undefined);
    assert.equal(receiver.childrenOf(fresh)[0]?.name, 'query tenants');

    // A caller that did not sample its trace: Roster records nothing of it (parent-based sampling, the default).
    const unsampledTrace = hex(16);
    const unsampledId = unique('otel-unsampled');
    await gql(server, '{ tenants { totalCount } }', undefined, { headers: { 'x-request-id': unsampledId, traceparent: traceparent(unsampledTrace, hex(8), false) } });
    // Spans are exported in the order they end: once a later request's span is in, the earlier one would be too.
    const laterId = unique('otel-later');
    await gql(server, '{ tenants { totalCount } }', undefined, { headers: { 'x-request-id': laterId } });
    await receiver.serverSpan(serverIdOf(laterId));
    assert.equal(receiver.spans.filter((s) => s.traceId === unsampledTrace).length, 0);
  });

  it('keeps concurrent requests apart: each statement is under its own request', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => unique(`otel-concurrent-${i}`));
    // Mixed: GraphQL lookups (statements under the operation) and REST lists (statements under the request).
    const listed = await gql<{ tenants: { data: { id: string }[] } }>(server, '{ tenants { data { id } } }');
    const companyId = listed.data!.tenants.data[0]!.id;
    await Promise.all(
      ids.map((id, i) =>
        i % 2 === 0
          ? gql(server, '{ users(limit: 5) { data { id } totalCount } }', undefined, { headers: { 'x-request-id': id } })
          : fetch(`${server.url}/v3/companies/${companyId}/user-groups/list`, {
              method: 'POST',
              headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json', 'x-request-id': id },
              body: JSON.stringify({ pagination: { offset: 0, limit: 5 } }),
            }),
      ),
    );
    const traces = new Set<string>();
    for (const [i, id] of ids.entries()) {
      const http = await receiver.serverSpan(serverIdOf(id));
      traces.add(http.traceId);
      const under = i % 2 === 0 ? receiver.childrenOf(http).find((s) => s.kind === SPAN_KIND.INTERNAL) : http;
      assert.ok(under, `the operation span of ${id}`);
      const statements = receiver.childrenOf(under).filter((s) => s.kind === SPAN_KIND.CLIENT);
      assert.ok(statements.length >= 1, `statements of ${id}`);
      for (const statement of statements) assertWithin(statement, under);
    }
    assert.equal(traces.size, ids.length, 'one trace per request');
  });

  it('names REST requests by route pattern, with status and error codes, statements under the request', async () => {
    const listed = await gql<{ tenants: { data: { id: string }[] } }>(server, '{ tenants { data { id } } }');
    const companyId = listed.data!.tenants.data[0]!.id;
    secrets.push(companyId);
    const searchText = unique('otel-search-secret');
    secrets.push(searchText);

    const listId = unique('otel-rest-list');
    const list = await fetch(`${server.url}/v3/companies/${companyId}/user-groups/list`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json', 'x-request-id': listId },
      body: JSON.stringify({ pagination: { offset: 0, limit: 10 }, searchText }),
    });
    assert.equal(list.status, 200, await list.text());
    const listSpan = await receiver.serverSpan(serverIdOf(listId));
    assert.equal(listSpan.name, 'POST /v3/companies/:companyId/user-groups/list');
    assert.equal(listSpan.attributes['http.route'], '/v3/companies/:companyId/user-groups/list');
    assert.equal(listSpan.attributes['http.response.status_code'], 200);
    assert.equal(listSpan.attributes['error.type'], undefined);
    // The body was read between onRequest and the handler: the handler's statements still belong to the request.
    const statements = receiver.childrenOf(listSpan);
    assert.ok(statements.length >= 1, 'the statements of a REST request are children of its span');
    for (const statement of statements) {
      assertStatementSpan(statement);
      assertWithin(statement, listSpan);
    }

    const missingId = unique('otel-rest-missing');
    const missingGroup = '00000000-0000-4000-8000-0000000000ff';
    const missing = await fetch(`${server.url}/v3/companies/${companyId}/user-groups/${missingGroup}`, {
      headers: { authorization: `Bearer ${server.apiKey}`, 'x-request-id': missingId },
    });
    assert.equal(missing.status, 404);
    const missingSpan = await receiver.serverSpan(serverIdOf(missingId));
    assert.equal(missingSpan.name, 'GET /v3/companies/:companyId/user-groups/:groupId');
    assert.equal(missingSpan.attributes['http.response.status_code'], 404);
    assert.equal(missingSpan.attributes['error.type'], 'NOT_FOUND');
    assert.deepEqual(missingSpan.attributes['roster.error.codes'], ['NOT_FOUND']);
    assert.equal(missingSpan.status, STATUS_CODE.UNSET, 'a 4xx is not an error of the server');

    // No credentials: 401 before GraphQL runs, so no operation span.
    const anonymousId = unique('otel-anonymous');
    const anonymous = await gql(server, '{ users { totalCount } }', undefined, { token: null, headers: { 'x-request-id': anonymousId } });
    assert.equal(anonymous.status, 401);
    const anonymousSpan = await receiver.serverSpan(serverIdOf(anonymousId));
    assert.equal(anonymousSpan.attributes['error.type'], 'UNAUTHENTICATED');
    assert.equal(anonymousSpan.attributes['http.response.status_code'], 401);
    assert.ok(!receiver.childrenOf(anonymousSpan).some((s) => s.kind === SPAN_KIND.INTERNAL));

    // Refused in a resolver: the operation span carries the code too.
    const refusedId = unique('otel-refused');
    const refused = await gql(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference: unique('otel-ref-secret'), email: 'not-an-email-secret' } }, {
      headers: { 'x-request-id': refusedId },
    });
    secrets.push('not-an-email-secret');
    assert.equal(refused.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
    const refusedSpan = await receiver.serverSpan(serverIdOf(refusedId));
    assert.equal(refusedSpan.attributes['http.response.status_code'], refused.status);
    assert.equal(refusedSpan.attributes['error.type'], 'BAD_USER_INPUT');
    const refusedOperation = receiver.childrenOf(refusedSpan).find((s) => s.kind === SPAN_KIND.INTERNAL);
    assert.equal(refusedOperation?.name, 'mutation createUser');
    assert.equal(refusedOperation.attributes['error.type'], 'BAD_USER_INPUT');
    assert.equal(refusedOperation.status, STATUS_CODE.UNSET);

    // No route: named by the method alone; no http.route.
    const unmatchedId = unique('otel-unmatched');
    assert.equal((await fetch(`${server.url}/no/such/${unique('route')}`, { headers: { 'x-request-id': unmatchedId } })).status, 404);
    const unmatched = await receiver.serverSpan(serverIdOf(unmatchedId));
    assert.equal(unmatched.name, 'GET');
    assert.equal(unmatched.attributes['http.route'], undefined);
    assert.equal(unmatched.attributes['error.type'], 'NOT_FOUND');

    // Probes and the scrape are not traced (as they are not counted in the metrics).
    const probeId = unique('otel-probe');
    assert.equal((await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': probeId } })).status, 200);
    assert.equal((await fetch(`${server.url}/metrics`, { headers: { 'x-request-id': probeId } })).status, 200);
    const barrier = unique('otel-barrier');
    await gql(server, '{ tenants { totalCount } }', undefined, { headers: { 'x-request-id': barrier } });
    await receiver.serverSpan(serverIdOf(barrier));
    const probeIds = serverIds.get(probeId) ?? [];
    assert.equal(probeIds.length, 2);
    assert.equal(receiver.spans.filter((s) => probeIds.includes(String(s.attributes['roster.request.id']))).length, 0);
  });

  it('exports no value from any request: no parameters, documents, URLs, bodies or credentials', async () => {
    await new Promise((r) => setTimeout(r, 100));
    const text = receiver.rawText();
    assert.ok(receiver.spans.length > 10, 'spans were exported');
    for (const secret of [...secrets, server.apiKey, 'example.test', 'collector-token']) {
      assert.ok(!text.includes(secret), `${secret} appears in what was exported`);
    }
    const keys = new Set(receiver.spans.flatMap((s) => Object.keys(s.attributes)));
    for (const key of ['db.statement', 'db.query.text', 'url.full', 'url.path', 'url.query', 'graphql.document', 'client.address', 'user_agent.original']) {
      assert.ok(!keys.has(key), `${key} recorded`);
    }
    // Only the attributes documented in docs/observability.md.
    const documented = new Set([
      'http.request.method', 'http.route', 'http.response.status_code', 'error.type', 'roster.request.id', 'roster.error.codes',
      'graphql.operation.type', 'graphql.operation.name', 'roster.graphql.operation', 'roster.graphql.root_fields',
      'db.system.name', 'db.system', 'db.operation.name', 'db.collection.name', 'db.query.summary', 'db.response.status_code',
    ]);
    for (const key of keys) assert.ok(documented.has(key), `undocumented attribute ${key}`);
  });

  it('samples by ratio, follows a sampled caller, names the service and posts to a traces endpoint as given', async () => {
    const own = await OtlpReceiver.start();
    // Another app on the same database (as a second node would be), traced on its own.
    const sibling = await startSibling(server, {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${own.url}/custom/traces`,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', // the traces endpoint wins
      OTEL_SERVICE_NAME: 'roster-eu',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging,service.name=not-this-one,team=directory%20team',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
      OTEL_BSP_SCHEDULE_DELAY: '20',
    });
    try {
      const unsampledId = unique('otel-ratio-0');
      await gql(sibling, '{ tenants { totalCount } }', undefined, { headers: { 'x-request-id': unsampledId } });
      const traceId = hex(16);
      const sampledId = unique('otel-parent-sampled');
      await gql(sibling, '{ tenants { totalCount } }', undefined, { headers: { 'x-request-id': sampledId, traceparent: traceparent(traceId, hex(8)) } });
      const span = await own.serverSpan(serverIdOf(sampledId));
      assert.equal(span.traceId, traceId);
      assert.equal(own.spans.filter((s) => s.attributes['roster.request.id'] === serverIdOf(unsampledId)).length, 0, 'ratio 0: no new trace recorded');
      assert.equal(span.resource['service.name'], 'roster-eu');
      assert.equal(span.resource['deployment.environment.name'], 'staging');
      assert.equal(span.resource.team, 'directory team');
      assert.ok(own.exports.every((e) => e.path === '/custom/traces'));
      // Its statements are its own (the two apps share the database): none of its spans reached the first app's collector.
      assert.ok(own.childrenOf(own.childrenOf(span)[0]!).length >= 1);
      const barrier = unique('otel-barrier');
      await gql(server, '{ tenants { totalCount } }', undefined, { headers: { 'x-request-id': barrier } });
      await receiver.serverSpan(serverIdOf(barrier));
      assert.equal(receiver.spans.filter((s) => s.traceId === traceId).length, 0);
    } finally {
      await sibling.close();
      await own.close();
    }
  });

  it('exports what is left when the server closes, and closes even when the collector is gone', async () => {
    const own = await OtlpReceiver.start();
    // A ten-minute schedule: only the close can export the span in time.
    const sibling = await startSibling(server, { OTEL_EXPORTER_OTLP_ENDPOINT: own.url, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const requestId = unique('otel-close');
    await gql(sibling, '{ tenants { totalCount } }', undefined, { headers: { 'x-request-id': requestId } });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(own.spans.length, 0, 'nothing exported before the schedule');
    await sibling.close();
    const span = await own.serverSpan(serverIdOf(requestId), 1000);
    assert.equal(span.name, 'POST /graphql');
    await own.close();

    // Nothing listens on this port: exports fail, the server still answers and closes.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    // The exporter retries within OTEL_EXPORTER_OTLP_TIMEOUT; the close waits for that at most (and never over 5 s).
    const orphan = await startSibling(server, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '10', OTEL_EXPORTER_OTLP_TIMEOUT: '300' });
    assert.equal((await gql(orphan, '{ tenants { totalCount } }')).status, 200);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await gql(orphan, '{ tenants { totalCount } }')).status, 200);
    const closing = Date.now();
    await orphan.close();
    assert.ok(Date.now() - closing < 3000, `closed in ${Date.now() - closing} ms`);
  });

  it('refuses a malformed endpoint or setting at start, naming the variable, and reads nothing without an endpoint', () => {
    const config = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env });
    const refuses = (env: Record<string, string>, message: RegExp) =>
      assert.throws(() => config(env), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(env));

    refuses({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, /OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:\/\/ or https:\/\/ URL/);
    refuses({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT/);
    refuses({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://collector/v1/traces' }, /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must be/);
    refuses({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes' }, /OTEL_TRACES_SAMPLER: must be one of/);
    refuses({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, /OTEL_TRACES_SAMPLER_ARG/);
    refuses({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL/);
    refuses({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_BSP_SCHEDULE_DELAY: 'soon' }, /OTEL_BSP_SCHEDULE_DELAY/);
    // A header value is a credential: the message names the variable and the entry, never the value.
    assert.throws(
      () => config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'x-ok=1,authorization=Bearer%zzsecret-value' }),
      (e: unknown) => e instanceof ConfigError && /OTEL_EXPORTER_OTLP_HEADERS: entry 2/.test(e.message) && !e.message.includes('secret-value'),
    );

    // Without an endpoint (or with OTEL_SDK_DISABLED=true) tracing is off and the other variables are not read.
    assert.equal(config({}).tracing, undefined);
    assert.equal(config({ OTEL_TRACES_SAMPLER: 'sometimes', OTEL_EXPORTER_OTLP_HEADERS: '=' }).tracing, undefined);
    assert.equal(config({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).tracing, undefined);
    assert.equal(config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' }).tracing, undefined);

    const on = config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318/otlp/' })?.tracing;
    assert.equal(on?.endpoint, 'https://collector.example:4318/otlp/v1/traces');
    assert.equal(on.serviceName, 'roster');
    assert.equal(on.sampler, 'parentbased_always_on');
    assert.equal(on.samplerRatio, 1);
    assert.deepEqual(on.batch, { scheduledDelayMillis: 5000, maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMillis: 30000 });
    assert.equal(config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing?.endpoint, 'http://c:4318/v1/traces');
    assert.equal(config({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/mine' }).tracing?.endpoint, 'http://c:4318/mine');
    const headers = config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'a=1, b = two%20words ', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'a=3' }).tracing?.headers;
    assert.deepEqual(headers, { a: '3', b: 'two words' });
  });

  it('summarizes statements by operation and table, never by value', () => {
    const cases: [string, string][] = [
      ['select "users"."id" from "users" where "email" = $1', 'SELECT users'],
      ['with u as (insert into "users" ("email") values ($1) returning *), a as (insert into "audit_log" ("x") values ($2)) select * from u', 'INSERT users'],
      ['with x(a, b) as (select 1, 2) select * from x', 'SELECT x'],
      ['update only public."user_groups" set "name" = $1 where "id" = $2', 'UPDATE public.user_groups'],
      ['delete from "user_group_members" where "group_id" = $1', 'DELETE user_group_members'],
      ['select count(*) from unnest($1::uuid[]) as t(id)', 'SELECT'],
      ['select * from (select 1) s', 'SELECT'],
      ['begin', 'BEGIN'],
      ['start transaction isolation level serializable', 'BEGIN'],
      ['commit', 'COMMIT'],
      ["select 'secret@example.test' from users", 'SELECT users'],
      ["-- from secret\nselect E'it''s \\' from secret' from t2", 'SELECT t2'],
      ['select $q$ from secret $q$ from t3', 'SELECT t3'],
      ['select * from "not a-plain name"', 'SELECT'],
      ['frobnicate secret', 'OTHER'],
      ['', 'OTHER'],
    ];
    for (const [sql, summary] of cases) assert.equal(summarizeStatement(sql).summary, summary, sql);
  });
});

describe('Roster without an OTLP endpoint', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /**
   * Runs `npm start`'s entry point with a recorder of the modules it loads, sends one GraphQL request, stops it
   * with SIGTERM and returns the `@opentelemetry/*` modules it loaded.
   */
  async function runRoster(env: Record<string, string>): Promise<string[]> {
    const dir = await mkdtemp(join(tmpdir(), 'roster-otel-'));
    dirs.push(dir);
    const recordFile = join(dir, 'imports.txt');
    const environment: Record<string, string | undefined> = { ...process.env };
    for (const key of Object.keys(environment)) if (key.startsWith('OTEL_') || key === 'DATABASE_URL') delete environment[key];
    const apiKey = 'otel-test-api-key-0123456789';
    Object.assign(environment, {
      ROSTER_DATA_DIR: 'memory://', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', NODE_ENV: 'test', ROSTER_API_KEY: apiKey, RECORD_IMPORTS_FILE: recordFile, ...env,
    });
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/helpers/record-imports.mjs', 'src/main.ts'], { cwd: serverDir, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let url: string | undefined;
      // Up to 60 s on a busy machine; the port is the one Fastify reports (PORT=0 picks a free one).
      for (let i = 0; i < 600 && url === undefined && child.exitCode === null; i++) {
        url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        if (url === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(url, `Roster did not start:\n${output}`);
      const answer = await gql({ url, apiKey }, '{ users { totalCount } }', undefined, { headers: { 'x-request-id': 'otel-child-request' } });
      assert.equal(answer.status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
    const recorded = await readFile(recordFile, 'utf8').catch(() => '');
    return recorded.split('\n').filter(Boolean);
  }

  // prom-client requires @opentelemetry/api (for exemplars) whatever the settings; the SDK is what must stay out.
  const sdkModules = (urls: string[]) => urls.filter((u) => !/\/@opentelemetry\/api\//.test(u));

  it('loads none of the OpenTelemetry SDK and exports nothing; with an endpoint it does, and flushes at SIGTERM', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      // Other OTEL_* variables alone change nothing.
      const off = await runRoster({ OTEL_SERVICE_NAME: 'roster-off', OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' });
      assert.deepEqual(sdkModules(off), [], 'no OpenTelemetry SDK module loaded');
      assert.equal(receiver.exports.length, 0, 'nothing exported');

      // The same run with an endpoint: the recorder sees the SDK, and SIGTERM's shutdown exports the request's span
      // (the default schedule is 5 s; the process is stopped right after the request).
      const on = await runRoster({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
      assert.ok(on.some((u) => u.includes('/@opentelemetry/sdk-trace-base/')), `recorded: ${on.join(', ')}`);
      assert.ok(on.some((u) => u.includes('/@opentelemetry/exporter-trace-otlp-http/')));
      const span = await receiver.serverSpan(serverIdOf('otel-child-request'), 2000);
      assert.equal(span.name, 'POST /graphql');
    } finally {
      await receiver.close();
    }
  });

  it('stops at start with a clear message when the endpoint is malformed', async () => {
    const environment: Record<string, string | undefined> = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost 4318', ROSTER_DATA_DIR: 'memory://', PORT: '0' };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: serverDir, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2, stderr);
    assert.match(stderr, /Invalid configuration:\n {2}OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:\/\/ or https:\/\/ URL/);
  });
});
