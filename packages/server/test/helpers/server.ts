import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { buildApp, type RosterApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

export const TEST_API_KEY = 'test-super-admin-key-0123456789';

export interface TestServer {
  readonly url: string;
  readonly apiKey: string;
  readonly app: RosterApp;
  readonly database: DatabaseHandle;
  readonly config: Config;
  /** Statements run since the last `resetQueryCount()`. */
  queryCount(): number;
  resetQueryCount(): void;
  close(): Promise<void>;
}

/**
 * A real Roster on a fresh database: in-memory PGlite by default; with DATABASE_URL, a new PostgreSQL database
 * made for this test file and dropped afterwards, so runs never collide.
 */
/**
 * The test configuration: `env` over the defaults. Rate limiting is off unless a test turns it on (every test
 * client calls from 127.0.0.1 at full speed). An empty value unsets a default: ROSTER_API_KEY: '' starts with a
 * generated key instead.
 */
function testConfig(env: Record<string, string>): Config {
  const settings: Record<string, string> = {
    NODE_ENV: 'test',
    ROSTER_API_KEY: TEST_API_KEY,
    LOG_LEVEL: 'silent',
    ROSTER_RATE_LIMIT_API_KEY: '0',
    ROSTER_RATE_LIMIT_USER: '0',
    ROSTER_RATE_LIMIT_ANONYMOUS: '0',
    ...env,
  };
  for (const key of Object.keys(env)) if (env[key] === '') delete settings[key];
  return loadConfig(settings, {});
}

export interface SiblingServer {
  readonly url: string;
  /** The generated key when ROSTER_API_KEY was unset, else the test key. */
  readonly apiKey: string;
  readonly app: RosterApp;
  close(): Promise<void>;
}

/** Another Roster node on the same database as `server`, configured by `env` over the test defaults. */
export async function startSibling(server: TestServer, env: Record<string, string>): Promise<SiblingServer> {
  const app = await buildApp({ config: testConfig(env), db: server.database.db, logger: false });
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, apiKey: app.generatedApiKey ?? TEST_API_KEY, app, close: () => app.server.close() };
}

/** A new PostgreSQL database next to the one of `adminUrl`, for one test file; `drop` removes it. */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = testConfig(env);
  let queries = 0;
  const onQuery = () => void queries++;
  let dropDatabase: () => Promise<void> = async () => {};
  let database: DatabaseHandle;
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    const scratch = await createScratchDatabase(adminUrl, 'roster_test');
    database = await openDatabase({ databaseUrl: scratch.url, dataDir: 'unused', onQuery, jit: config.pgJit, statementTimeoutMs: config.statementTimeoutMs });
    dropDatabase = scratch.drop;
  } else {
    database = await openDatabase({ dataDir: 'memory://', onQuery });
  }
  await migrateToLatest(database.db as never);
  const app = await buildApp({ config, db: database.db, logger: process.env.TEST_LOG ? { level: 'error' } : false });
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey: TEST_API_KEY,
    app,
    database,
    config,
    queryCount: () => queries,
    resetQueryCount: () => void (queries = 0),
    close: async () => {
      await app.server.close();
      await database.close();
      await dropDatabase();
    },
  };
}

export interface GraphqlResponse<T = Record<string, unknown>> {
  status: number;
  data: T | null;
  errors?: { message: string; extensions: { code: string; field?: string; response?: { statusCode: number; errorCode: string } } }[];
}

/** POSTs a GraphQL request with a real fetch, as any client would. */
export async function gql<T = Record<string, unknown>>(
  server: Pick<TestServer, 'url' | 'apiKey'>,
  query: string,
  variables?: Record<string, unknown>,
  options: { token?: string | null; path?: string; headers?: Record<string, string> } = {},
): Promise<GraphqlResponse<T>> {
  const token = options.token === undefined ? server.apiKey : options.token;
  const response = await fetch(`${server.url}${options.path ?? '/graphql'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphqlResponse<T>, 'status'>;
  return { status: response.status, ...body };
}

/** Like gql(), but fails the test on any error, returning `data`. */
export async function gqlOk<T = Record<string, unknown>>(
  server: Pick<TestServer, 'url' | 'apiKey'>,
  query: string,
  variables?: Record<string, unknown>,
  options: { token?: string | null } = {},
): Promise<T> {
  const res = await gql<T>(server, query, variables, options);
  if (res.errors?.length || res.data == null) {
    throw new Error(`GraphQL request failed (${res.status}): ${JSON.stringify(res.errors)}`);
  }
  return res.data;
}

let counter = 0;
/** Distinct, readable test values. */
export const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;

/** A REST request with a real fetch: JSON in and out, the API key unless another token is given. */
export async function rest<T>(
  server: Pick<TestServer, 'url' | 'apiKey'>,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token ?? server.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}
