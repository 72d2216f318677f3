/**
 * GET /metrics: Prometheus text with request, GraphQL, error and database metrics, labelled by route pattern and
 * root field names (never by raw path or client-chosen names); the optional bearer token; ROSTER_METRICS=false.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parse } from 'graphql';
import { gql, rest, startServer, unique, type TestServer } from './helpers/server.ts';
import { createUser } from './helpers/roster.ts';
import { RosterMetrics, graphqlOperationOf } from '../src/observability/metrics.ts';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A strict reader of the Prometheus text format (0.0.4): `# HELP` and `# TYPE` once per family and before its
 * samples, sample lines `name{label="value",...} number`. Anything else fails the test.
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const familyOf = (name: string) =>
    types.has(name) ? name : (/^(.*)_(bucket|sum|count|total|created)$/.exec(name)?.[1] ?? name);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      if (kind === 'TYPE') {
        assert.ok(!types.has(name), `TYPE of ${name} given twice`);
        assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/);
        types.set(name, rest);
      } else {
        assert.ok(!helps.has(name), `HELP of ${name} given twice`);
        helps.add(name);
      }
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${JSON.stringify(line)}`);
    const [, name, rawLabels, rawValue] = match as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    if (rawLabels) {
      const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
      let at = 0;
      while (at < rawLabels.length) {
        labelRe.lastIndex = at;
        const l = labelRe.exec(rawLabels);
        assert.ok(l, `bad labels in ${JSON.stringify(line)}`);
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
        at = labelRe.lastIndex;
      }
    }
    // Prometheus reads NaN and Inf in any case (prom-client writes an empty event-loop histogram's mean as `Nan`).
    const value = /^[+-]?inf$/i.test(rawValue) ? (rawValue.startsWith('-') ? -Infinity : Infinity) : /^nan$/i.test(rawValue) ? NaN : Number(rawValue);
    assert.ok(/^nan$/i.test(rawValue) || (rawValue.trim() !== '' && !Number.isNaN(value)), `bad value in ${JSON.stringify(line)}`);
    const family = familyOf(name);
    assert.ok(types.has(family) || types.has(name), `sample ${name} before its TYPE`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

class Scrape {
  constructor(
    readonly samples: readonly Sample[],
    readonly types: ReadonlyMap<string, string>,
  ) {}

  /** The sum of the samples of `name` whose labels include `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.matching(name, labels).reduce((total, s) => total + s.value, 0);
  }

  matching(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** Distinct values of one label of one metric. */
  values(name: string, label: string): Set<string> {
    return new Set(this.samples.filter((s) => s.name === name && s.labels[label] !== undefined).map((s) => s.labels[label]!));
  }
}

async function scrape(server: Pick<TestServer, 'url'>, token?: string): Promise<Scrape> {
  const response = await fetch(`${server.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const { samples, types } = parsePrometheus(text);
  return new Scrape(samples, types);
}

/** Sends raw bytes and returns the status line's code (for requests no fetch can make). */
function rawStatus(url: string, bytes: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(bytes));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
  });
}

const isPostgres = process.env.DATABASE_URL !== undefined;
const METRICS_TOKEN = 'metrics-scrape-token-0123456789';

describe('GET /metrics', () => {
  let server: TestServer;
  let guarded: TestServer;

  before(async () => {
    // Two apps in one process, each with its own registry.
    server = await startServer();
    guarded = await startServer({ ROSTER_METRICS_TOKEN: METRICS_TOKEN, ROSTER_RATE_LIMIT_ANONYMOUS: '2' });
  });
  after(async () => {
    await server?.close();
    await guarded?.close();
  });

  it('counts requests by route pattern, GraphQL operations by root fields, and errors by code', async () => {
    const user = await createUser(server);
    const before = await scrape(server);

    // GraphQL: three `users` queries (two under client-chosen operation names, one of them by GET), a query with two
    // root fields, one mutation that succeeds and one refused with BAD_USER_INPUT, and a document of two operations.
    const users = await gql(server, '{ users { totalCount } }');
    assert.equal(users.status, 200);
    assert.equal((await gql(server, 'query DashboardCustomName123 { users { totalCount } }')).status, 200);
    assert.equal((await gql(server, '{ tenants { totalCount } users { totalCount } }')).status, 200);
    const ref = unique('metrics');
    const created = await gql(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference: ref, email: `${ref}@example.test` } });
    assert.equal(created.status, 200, JSON.stringify(created.errors));
    const refused = await gql(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference: unique('metrics'), email: 'not an e-mail' } });
    assert.equal(refused.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
    const twoOps = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body: JSON.stringify({ query: 'query A { users { totalCount } } query B($id: ID!) { user(id: $id) { id } }', variables: { id: user.id }, operationName: 'B' }),
    });
    assert.equal(twoOps.status, 200, await twoOps.text());
    // GET /graphql, with the operation named in the query string.
    const viaGet = await fetch(`${server.url}/graphql?query=${encodeURIComponent('query GetNamedXyz { users { totalCount } }')}&operationName=GetNamedXyz`, {
      headers: { authorization: `Bearer ${server.apiKey}` },
    });
    assert.equal(viaGet.status, 200, await viaGet.text());

    // REST: a read through a pattern with two path parameters, and a group that does not exist (404 NOT_FOUND).
    const companyId = user.tenantId;
    const missingGroup = '00000000-0000-4000-8000-000000000001';
    const list = await rest(server, 'POST', `/v3/companies/${companyId}/user-groups/list`, { pagination: { offset: 0, limit: 10 } });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const missing = await rest(server, 'GET', `/v3/companies/${companyId}/user-groups/${missingGroup}`);
    assert.equal(missing.status, 404);

    // No route: 404 NOT_FOUND under "unmatched", whatever the path. A malformed request line: 400 BAD_USER_INPUT.
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${server.url}/no/such/route-${i}-${unique('x')}?q=${i}`)).status, 404);
    assert.equal(await rawStatus(server.url, 'NOT A REQUEST\r\n\r\n'), 400);
    // Probes and the scrape itself are not counted.
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

    const after = await scrape(server);
    const delta = (name: string, labels: Record<string, string> = {}) => after.sum(name, labels) - before.sum(name, labels);

    assert.equal(delta('roster_http_requests_total', { method: 'POST', route: '/graphql', status: '200' }), 5);
    assert.equal(delta('roster_http_requests_total', { method: 'POST', route: '/graphql', status: '400' }), 1);
    assert.equal(delta('roster_http_requests_total', { method: 'POST', route: '/v3/companies/:companyId/user-groups/list', status: '200' }), 1);
    assert.equal(delta('roster_http_requests_total', { method: 'GET', route: '/v3/companies/:companyId/user-groups/:groupId', status: '404' }), 1);
    assert.equal(delta('roster_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 5);
    assert.equal(delta('roster_http_requests_total', { method: 'GET', route: '/graphql', status: '200' }), 1);
    assert.equal(delta('roster_http_requests_total'), 5 + 1 + 1 + 1 + 1 + 5);

    assert.equal(delta('roster_graphql_operations_total', { operation: 'users', type: 'query' }), 3);
    assert.equal(delta('roster_graphql_operations_total', { operation: 'tenants+users', type: 'query' }), 1);
    assert.equal(delta('roster_graphql_operations_total', { operation: 'createUser', type: 'mutation' }), 2);
    assert.equal(delta('roster_graphql_operations_total', { operation: 'user', type: 'query' }), 1);
    assert.equal(delta('roster_graphql_operations_total'), 7);
    assert.equal(delta('roster_graphql_operation_duration_seconds_count', { operation: 'users' }), 3);
    assert.equal(delta('roster_graphql_operation_duration_seconds_count', { operation: 'createUser' }), 2);

    assert.equal(delta('roster_errors_total', { code: 'BAD_USER_INPUT' }), 2); // the refused mutation, the bad request line
    assert.equal(delta('roster_errors_total', { code: 'NOT_FOUND' }), 6); // the missing group, the five unknown routes
    assert.equal(delta('roster_errors_total'), 8);

    // Histograms: count = +Inf bucket, buckets cumulative, sum positive.
    const labels = { method: 'POST', route: '/graphql' };
    assert.equal(delta('roster_http_request_duration_seconds_count', labels), 6);
    const buckets = after.matching('roster_http_request_duration_seconds_bucket', labels);
    assert.ok(buckets.length >= 10);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, 'buckets are cumulative');
    assert.equal(buckets.at(-1)?.labels.le, '+Inf');
    assert.equal(buckets.at(-1)?.value, after.sum('roster_http_request_duration_seconds_count', labels));
    assert.ok(after.sum('roster_http_request_duration_seconds_sum', labels) > 0);
    assert.equal(after.types.get('roster_http_request_duration_seconds'), 'histogram');
    assert.equal(after.types.get('roster_http_requests_total'), 'counter');

    // Labels are patterns and fixed names: no raw path, id or client-chosen operation name anywhere.
    const routes = after.values('roster_http_requests_total', 'route');
    assert.deepEqual([...routes].sort(), ['/graphql', '/v3/companies/:companyId/user-groups/:groupId', '/v3/companies/:companyId/user-groups/list', 'unmatched']);
    const text = after.samples.map((s) => JSON.stringify(s.labels)).join('\n');
    for (const leak of [companyId, missingGroup, 'route-0', 'DashboardCustomName123', 'GetNamedXyz', '/metrics', '/healthz', '/readyz']) {
      assert.ok(!text.includes(leak), `${leak} appears in a label`);
    }

    // Database: every statement timed; the pool's gauges on PostgreSQL; what Roster runs on.
    assert.ok(delta('roster_db_query_duration_seconds_count') >= 6, 'database statements counted');
    assert.ok(after.sum('roster_db_query_duration_seconds_sum') > 0);
    const info = after.matching('roster_info');
    assert.equal(info.length, 1);
    assert.equal(info[0]?.value, 1);
    assert.equal(info[0]?.labels.database, isPostgres ? 'postgresql' : 'pglite');
    assert.match(info[0]?.labels.version ?? '', /^\d+\.\d+\.\d+/);
    for (const gauge of ['roster_db_pool_total', 'roster_db_pool_idle', 'roster_db_pool_waiting']) {
      assert.equal(after.matching(gauge).length, isPostgres ? 1 : 0, gauge);
    }
    if (isPostgres) assert.ok(after.sum('roster_db_pool_total') >= 1);

    // The process's own metrics, prefixed.
    for (const name of ['roster_process_cpu_user_seconds_total', 'roster_process_resident_memory_bytes', 'roster_nodejs_eventloop_lag_seconds', 'roster_nodejs_heap_size_used_bytes']) {
      assert.equal(after.matching(name).length, 1, name);
    }
  });

  it('keeps route labels bounded whatever the paths and methods requested', async () => {
    for (let i = 0; i < 30; i++) {
      await fetch(`${server.url}/${unique('junk')}/${i}`, { method: ['GET', 'POST', 'DELETE'][i % 3]! });
      await rest(server, 'GET', `/v3/companies/${crypto.randomUUID()}/user-groups/${crypto.randomUUID()}`);
    }
    const after = await scrape(server);
    const routes = after.values('roster_http_requests_total', 'route');
    assert.ok(routes.has('unmatched'));
    assert.ok(routes.size <= 8, `route labels: ${[...routes].join(', ')}`);
    for (const route of routes) assert.ok(route === 'unmatched' || route.startsWith('/'), route);
  });

  it('requires ROSTER_METRICS_TOKEN when it is set, and is never rate limited', async () => {
    const anonymous = await fetch(`${guarded.url}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
    const body = (await anonymous.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'UNAUTHENTICATED');
    assert.equal((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789abc' } })).status, 401);
    // The API key is no metrics token.
    assert.equal((await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${guarded.apiKey}` } })).status, 401);

    // Anonymous callers get 2 requests per window here; the scrape is not limited.
    let last: Scrape | undefined;
    for (let i = 0; i < 5; i++) last = await scrape(guarded, METRICS_TOKEN);
    assert.ok(last!.sum('roster_errors_total', { code: 'UNAUTHENTICATED' }) >= 3);
    // This app's registry is its own: the other server's requests are not in it.
    assert.equal(last!.sum('roster_graphql_operations_total'), 0);
  });
});

describe('the GraphQL operation label', () => {
  it('is the sorted root field names, following fragments, capped, never the operation name', () => {
    const label = (query: string, name?: string) => graphqlOperationOf(parse(query), name);
    assert.deepEqual(label('query Whatever { users { totalCount } }'), { name: 'users', type: 'query' });
    assert.deepEqual(label('mutation { a: createUser(user: {}) { id } b: createUser(user: {}) { id } }'), { name: 'createUser', type: 'mutation' });
    assert.deepEqual(label('{ users { totalCount } ...F ... on Query { roles { totalCount } } } fragment F on Query { tenants { totalCount } }'), { name: 'roles+tenants+users', type: 'query' });
    assert.deepEqual(label('{ users { totalCount } tenants { totalCount } roles { totalCount } user(id: "x") { id } }'), { name: 'roles+tenants+user+more', type: 'query' });
    assert.deepEqual(label('query A { users { totalCount } } mutation B { deleteUser(id: "x") }', 'B'), { name: 'deleteUser', type: 'mutation' });
    assert.equal(label('query A { users { totalCount } } query B { roles { totalCount } }'), null); // ambiguous: not executed
  });

  it('stops taking new values after 100 per app', () => {
    const metrics = new RosterMetrics('pglite');
    for (let i = 0; i < 100; i++) assert.equal(metrics.operationLabel(`op${i}`), `op${i}`);
    assert.equal(metrics.operationLabel('op100'), 'other');
    assert.equal(metrics.operationLabel('op7'), 'op7');
  });
});

describe('ROSTER_METRICS=false', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ ROSTER_METRICS: 'false' });
  });
  after(() => server?.close());

  it('serves no /metrics', async () => {
    assert.equal((await gql(server, '{ users { totalCount } }')).status, 200);
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 404);
    // Not the GraphQL endpoint: the REST error body.
    const body = (await response.json()) as { errorMessages: { errorCode: string }[] };
    assert.equal(body.errorMessages[0]?.errorCode, 'NOT_FOUND');
  });
});
