/**
 * The errors a newcomer meets in the first hour name what is wrong (issue 19): an unknown REST property by its path,
 * a bad GraphQL variable by its path in the variables, an `Authorization` header without the `Bearer` scheme, a
 * body that is not JSON (415 UNSUPPORTED_MEDIA_TYPE), a wrong method on a known path (405 METHOD_NOT_ALLOWED with
 * `Allow`), an unknown path (a plain REST 404, not a GraphQL one), and a port already in use (one line, exit 2).
 *
 * A real server and real fetch, on PGlite, or on PostgreSQL with DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';

interface RestError {
  debugIdentifier: string;
  errorMessages: { errorCode: string; message: string; errorParameters: { name: string; value: string }[] }[];
}

interface GraphqlError {
  data: unknown;
  errors: { message: string; extensions: { code: string; field?: string; response: { statusCode: number; errorCode: string; message: string } } }[];
}

interface Answer<T> {
  status: number;
  allow: string | null;
  body: T;
}

const serverDir = new URL('..', import.meta.url).pathname;

describe('first-hour errors name what is wrong', () => {
  let server: TestServer;
  let companyId: string;

  before(async () => {
    server = await startServer();
    const listed = await call<{ data: { tenants: { data: { id: string }[] } } }>('POST', '/graphql', { json: { query: '{ tenants { data { id } } }' } });
    companyId = listed.body.data.tenants.data[0]!.id;
  });
  after(() => server.close());

  /** A request with a real fetch; `json` is sent as application/json, `raw` as is with `headers`. */
  async function call<T>(
    method: string,
    path: string,
    options: { json?: unknown; raw?: string | Blob; headers?: Record<string, string>; authorization?: string | null } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = {};
    const authorization = options.authorization === undefined ? `Bearer ${server.apiKey}` : options.authorization;
    if (authorization !== null) headers.authorization = authorization;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, options.headers);
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers,
      body: options.json !== undefined ? JSON.stringify(options.json) : options.raw,
    });
    const text = await res.text();
    return { status: res.status, allow: res.headers.get('allow'), body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** The REST ErrorResponse: one error with this status and code, `field` (when given) in errorParameters. */
  function assertRestError(res: Answer<unknown>, status: number, code: string, expected: { field?: string; message: RegExp | string }): void {
    const body = res.body as RestError;
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(typeof body.debugIdentifier, 'string', JSON.stringify(body));
    assert.equal(body.errorMessages.length, 1, JSON.stringify(body));
    const error = body.errorMessages[0]!;
    assert.equal(error.errorCode, code);
    if (typeof expected.message === 'string') assert.equal(error.message, expected.message);
    else assert.match(error.message, expected.message);
    assert.equal(error.errorParameters.find((p) => p.name === 'field')?.value, expected.field);
  }

  /** The GraphQL/ROQ envelope: data null, one error with this code, `extensions.response` agreeing with it. */
  function assertGraphqlError(res: Answer<unknown>, status: number, code: string, expected: { field?: string; message: RegExp | string }): void {
    const body = res.body as GraphqlError;
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(body.data, null);
    assert.equal(body.errors.length, 1, JSON.stringify(body));
    const error = body.errors[0]!;
    assert.equal(error.extensions.code, code);
    if (typeof expected.message === 'string') assert.equal(error.message, expected.message);
    else assert.match(error.message, expected.message);
    assert.equal(error.extensions.field, expected.field);
    assert.deepEqual(error.extensions.response, { statusCode: status, errorCode: code, message: error.message });
  }

  describe('an unknown REST body property is named with its path', () => {
    it('at the top of the body', async () => {
      const res = await call('POST', `/v3/companies/${companyId}/user-groups/list`, { json: { colour: 'red', pagination: { offset: 0, limit: 10 } } });
      assertRestError(res, 400, 'BAD_USER_INPUT', { field: 'colour', message: 'colour: unknown property "colour"' });
    });

    it('inside an object of the body', async () => {
      const res = await call('POST', `/v3/companies/${companyId}/user-groups/list`, { json: { pagination: { offset: 0, limit: 10, colour: 1 } } });
      assertRestError(res, 400, 'BAD_USER_INPUT', { field: 'pagination.colour', message: 'pagination.colour: unknown property "colour"' });
    });

    it('inside a list of the body', async () => {
      const res = await call('POST', `/v3/companies/${companyId}/user-groups/list`, {
        json: { pagination: { offset: 0, limit: 10 }, filters: [{ userGroupIds: [], colour: 1 }] },
      });
      assertRestError(res, 400, 'BAD_USER_INPUT', { field: 'filters.0.colour', message: 'filters.0.colour: unknown property "colour"' });
    });
  });

  describe('a bad GraphQL variable is named by its path in the variables', () => {
    const CREATE = 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }';
    const graphql = (query: string, variables?: Record<string, unknown>) => call('POST', '/graphql', { json: { query, variables } });

    it('a missing required field: u.email (the same on every run, before and after graphql-jit compiled the query)', async () => {
      for (let run = 1; run <= 3; run++) {
        assertGraphqlError(await graphql(CREATE, { u: { reference: 'x' } }), 400, 'BAD_USER_INPUT', {
          field: 'u.email',
          message: 'u.email: required field of type "String!" was not provided',
        });
      }
    });

    it('a value of the wrong type: u.active', async () => {
      for (let run = 1; run <= 3; run++) {
        assertGraphqlError(await graphql(CREATE, { u: { reference: 'x', email: 'first-hour@example.com', active: 'yes' } }), 400, 'BAD_USER_INPUT', {
          field: 'u.active',
          message: 'u.active: Boolean cannot represent a non boolean value: "yes"',
        });
      }
    });

    it('an unknown field: u.colour', async () => {
      for (let run = 1; run <= 3; run++) {
        assertGraphqlError(await graphql(CREATE, { u: { reference: 'x', email: 'first-hour@example.com', colour: 'red' } }), 400, 'BAD_USER_INPUT', {
          field: 'u.colour',
          message: /^u\.colour: unknown field "colour" \(not defined by type "UserCreateDto"\)/,
        });
      }
    });

    it('a missing required variable: u', async () => {
      for (let run = 1; run <= 3; run++) {
        assertGraphqlError(await graphql(CREATE, {}), 400, 'BAD_USER_INPUT', { field: 'u', message: 'u: required variable of type "UserCreateDto!" was not provided' });
      }
    });

    it('a required variable sent as null: u', async () => {
      assertGraphqlError(await graphql(CREATE, { u: null }), 400, 'BAD_USER_INPUT', { field: 'u', message: 'u: must not be null (type "UserCreateDto!")' });
    });

    it('over GET, the variables read from the query string', async () => {
      const query = 'query($filter: UserFilterArgType) { users(filter: $filter) { totalCount } }';
      const search = new URLSearchParams({ query, variables: JSON.stringify({ filter: { email: { equalTo: 'x', colour: 1 } } }) });
      assertGraphqlError(await call('GET', `/graphql?${search}`), 400, 'BAD_USER_INPUT', {
        field: 'filter.email.colour',
        message: /^filter\.email\.colour: unknown field "colour" \(not defined by type "StringFilterArgType"\)/,
      });
    });

    it('a nested input and a list item: filter.createdAt.moreThan, ids[1]', async () => {
      const users = 'query($filter: UserFilterArgType) { users(filter: $filter) { totalCount } }';
      assertGraphqlError(await graphql(users, { filter: { createdAt: { moreThan: 5 } } }), 400, 'BAD_USER_INPUT', {
        field: 'filter.createdAt.moreThan',
        message: /^filter\.createdAt\.moreThan: /,
      });
      const byIds = 'query($ids: [ID!]!) { users(filter: { id: { valueIn: $ids } }) { totalCount } }';
      assertGraphqlError(await graphql(byIds, { ids: ['42103455-1e00-41bf-9714-c70a8c17caf9', null] }), 400, 'BAD_USER_INPUT', {
        field: 'ids[1]',
        message: /^ids\[1\]: must not be null/,
      });
    });
  });

  describe('an Authorization header without the Bearer scheme says so', () => {
    const cases: [what: string, header: string, says: string][] = [
      ['the key alone', `${'rk'}_0123456789abcdef`, 'got a value without the "Bearer" scheme'],
      ['the Basic scheme', 'Basic dXNlcjpwYXNzd29yZA==', 'got the "Basic" scheme'],
      ['a bare bearer', 'bearer', 'got "Bearer" without an API key or token'],
      ['Bearer and a space', 'Bearer ', 'got "Bearer" without an API key or token'],
      ['two values', 'Bearer a b', 'got more than one value after "Bearer"'],
    ];
    for (const [what, header, says] of cases) {
      it(`${what}: 401 UNAUTHENTICATED on GraphQL and REST`, async () => {
        const message = `Authorization: expected "Bearer <API key or token>" (${says})`;
        const graphql = await call('POST', '/graphql', { json: { query: '{ tenants { totalCount } }' }, authorization: header });
        assertGraphqlError(graphql, 401, 'UNAUTHENTICATED', { field: 'Authorization', message });
        const rest = await call('POST', `/v3/companies/${companyId}/user-groups/list`, { json: { pagination: { offset: 0, limit: 1 } }, authorization: header });
        assertRestError(rest, 401, 'UNAUTHENTICATED', { field: 'Authorization', message });
      });
    }

    it('the scheme is case-insensitive, and a valid key keeps working', async () => {
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const graphql = await call<{ data: { tenants: { totalCount: number } } }>('POST', '/graphql', {
          json: { query: '{ tenants { totalCount } }' },
          authorization: `${scheme} ${server.apiKey}`,
        });
        assert.equal(graphql.status, 200, JSON.stringify(graphql.body));
        assert.ok(graphql.body.data.tenants.totalCount >= 1);
        const rest = await call('POST', `/v3/companies/${companyId}/user-groups/list`, { json: { pagination: { offset: 0, limit: 1 } }, authorization: `${scheme} ${server.apiKey}` });
        assert.equal(rest.status, 200, JSON.stringify(rest.body));
      }
    });

    it('no credentials at all still says they are missing', async () => {
      const graphql = await call('POST', '/graphql', { json: { query: '{ tenants { totalCount } }' }, authorization: null });
      assertGraphqlError(graphql, 401, 'UNAUTHENTICATED', { message: 'Missing credentials: send Authorization: Bearer <API key or token>' });
    });
  });

  describe('a body that is not JSON: 415 UNSUPPORTED_MEDIA_TYPE saying what to send', () => {
    const restPath = () => `/v3/companies/${companyId}/user-groups/list`;
    const body = JSON.stringify({ pagination: { offset: 0, limit: 1 } });

    it('form data (curl -d) on REST and on GraphQL', async () => {
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const message = 'Content-Type: send application/json (got application/x-www-form-urlencoded)';
      assertRestError(await call('POST', restPath(), { raw: body, headers: form }), 415, 'UNSUPPORTED_MEDIA_TYPE', { field: 'Content-Type', message });
      const graphql = await call('POST', '/graphql', { raw: JSON.stringify({ query: '{ tenants { totalCount } }' }), headers: form });
      assertGraphqlError(graphql, 415, 'UNSUPPORTED_MEDIA_TYPE', { field: 'Content-Type', message });
    });

    it('no Content-Type at all, on REST and on GraphQL', async () => {
      // A Blob without a type: fetch adds no Content-Type for it (it would for a string).
      const message = 'Content-Type: send application/json (got no Content-Type)';
      assertRestError(await call('POST', restPath(), { raw: new Blob([body]) }), 415, 'UNSUPPORTED_MEDIA_TYPE', { field: 'Content-Type', message });
      const graphql = await call('POST', '/graphql', { raw: new Blob([JSON.stringify({ query: '{ tenants { totalCount } }' })]) });
      assertGraphqlError(graphql, 415, 'UNSUPPORTED_MEDIA_TYPE', { field: 'Content-Type', message });
    });

    it('another type, its parameters not echoed', async () => {
      const res = await call('POST', restPath(), { raw: '<x/>', headers: { 'content-type': 'application/xml; charset=utf-8' } });
      assertRestError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', { field: 'Content-Type', message: 'Content-Type: send application/json (got application/xml)' });
    });
  });

  describe('a wrong method on a known path: 405 METHOD_NOT_ALLOWED with Allow', () => {
    it('GET /v3/companies/list (only POST): not read as GET /v3/companies/{companyId}', async () => {
      const res = await call('GET', '/v3/companies/list');
      assertRestError(res, 405, 'METHOD_NOT_ALLOWED', { message: 'Method GET is not allowed on /v3/companies/list; allowed: POST' });
      assert.equal(res.allow, 'POST');
    });

    it('DELETE /healthz, with or without a body', async () => {
      for (const options of [{}, { json: {} }, { headers: { 'content-type': 'application/json' } }]) {
        const res = await call('DELETE', '/healthz', options);
        assertRestError(res, 405, 'METHOD_NOT_ALLOWED', { message: 'Method DELETE is not allowed on /healthz; allowed: GET, HEAD' });
        assert.equal(res.allow, 'GET, HEAD');
      }
    });

    it('PUT /graphql and its aliases: the GraphQL envelope', async () => {
      for (const path of ['/graphql', '/v01/server/graphql', '/graphql/']) {
        const res = await call('PUT', path, { json: { query: '{ tenants { totalCount } }' } });
        assertGraphqlError(res, 405, 'METHOD_NOT_ALLOWED', { message: `Method PUT is not allowed on ${path}; allowed: GET, HEAD, POST` });
        assert.equal(res.allow, 'GET, HEAD, POST');
      }
    });

    it('parametric paths: a group’s members (POST, PATCH) and a group (GET, HEAD, PATCH, DELETE)', async () => {
      const group = crypto.randomUUID();
      const members = await call('GET', `/v3/companies/${companyId}/user-groups/${group}/members`);
      assertRestError(members, 405, 'METHOD_NOT_ALLOWED', { message: /^Method GET is not allowed on \/v3\/companies\/.+\/members; allowed: POST, PATCH$/ });
      assert.equal(members.allow, 'POST, PATCH');
      const one = await call('POST', `/v3/companies/${companyId}/user-groups/${group}`, { json: {} });
      assertRestError(one, 405, 'METHOD_NOT_ALLOWED', { message: /allowed: GET, HEAD, PATCH, DELETE$/ });
      assert.equal(one.allow, 'GET, HEAD, PATCH, DELETE');
    });
  });

  describe('an unknown path: a plain 404 NOT_FOUND in the REST error format', () => {
    for (const path of ['/nope', '/v01/foo', '/v3/nope', '/graphql/nope']) {
      it(`GET ${path}`, async () => {
        const res = await call('GET', `${path}?x=1`);
        assertRestError(res, 404, 'NOT_FOUND', { message: `No route GET ${path}` });
        assert.equal(res.allow, null);
      });
    }
  });
});

describe('a port already in use', () => {
  let holder: Server;
  let port: number;
  before(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('stops the server with one line on stderr, no stack trace, exit code 2', async () => {
    const environment: Record<string, string | undefined> = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ROSTER_DATA_DIR: 'memory://',
      ROSTER_API_KEY: 'first-hour-test-key-0123456789',
      ROSTER_WORKERS: '1',
    };
    delete environment.DATABASE_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: serverDir, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2, stderr);
    assert.equal(stderr, `Roster cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE); set PORT to another port\n`);
  });
});
