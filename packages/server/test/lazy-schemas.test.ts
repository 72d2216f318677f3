/**
 * Route schemas are compiled after start-up (transports/http/lazy-schemas.ts): none is compiled while the app is
 * built, every one of them compiles when warmed, and validation and serialisation behave the same before and
 * after: a request that arrives first compiles its own route's schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp, type RosterApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type DatabaseHandle } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { LazySchemas } from '../src/transports/http/lazy-schemas.ts';
import { TEST_API_KEY } from './helpers/server.ts';

describe('route schemas compiled after start-up', () => {
  let database: DatabaseHandle;
  let app: RosterApp;
  before(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    await migrateToLatest(database.db as never);
    const config = loadConfig({ NODE_ENV: 'test', ROSTER_API_KEY: TEST_API_KEY, LOG_LEVEL: 'silent', ROSTER_RATE_LIMIT_API_KEY: '0' }, {});
    app = await buildApp({ config, db: database.db, logger: false });
    await app.server.ready();
  });
  after(async () => {
    await app.server.close();
    await database.close();
  });

  const listGroups = (body: unknown) =>
    app.server.inject({
      method: 'POST',
      url: '/v3/companies/00000000-0000-4000-8000-000000000000/user-groups/list',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  it('nothing is compiled by building the app; a request compiles its own route and validates as before', async () => {
    const pending = app.schemas.pendingCount;
    // Request validators, response serializers and response validators of some 20 REST routes.
    assert.ok(pending > 40, `only ${pending} compilations deferred`);
    const bad = await listGroups({ pagination: { limit: 'ten' } });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.match(bad.body, /"errorCode":"BAD_USER_INPUT".*pagination\.limit/);
    assert.ok(app.schemas.pendingCount < pending, 'the route compiled its schema on first use');
  });

  it('the order of compilation does not matter: a route whose response is a shared schema does not hide it from the next', async () => {
    // Reading a group compiles the serializer of RoleUserGroup itself; the company's list refers to it by $ref.
    // Once, fast-json-stringify's compiler dropped the schema from the shared set for every later route.
    const ctx = { actor: { kind: 'superAdmin' as const, keyId: 'test' }, requestId: 'lazy-schemas' };
    const tenant = await app.services.tenants.defaultTenant();
    const group = await app.services.groups.create(ctx, { name: 'Order test', reference: 'order-test', tenantId: tenant.id } as never);
    const headers = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };
    const read = await app.server.inject({ method: 'GET', url: `/v3/companies/${tenant.id}/user-groups/${group.id}`, headers: { authorization: headers.authorization } });
    assert.equal(read.statusCode, 200, read.body);
    const list = await app.server.inject({ method: 'POST', url: `/v3/companies/${tenant.id}/user-groups/list`, headers, payload: JSON.stringify({ pagination: { offset: 0, limit: 10 } }) });
    assert.equal(list.statusCode, 200, list.body);
    assert.ok((JSON.parse(list.body) as { userGroups: { id: string }[] }).userGroups.some((g) => g.id === group.id));
  });

  it('warm() compiles every remaining schema, and the routes answer the same afterwards', async () => {
    await app.schemas.warm();
    assert.equal(app.schemas.pendingCount, 0);
    const bad = await listGroups({ pagination: { limit: 'ten' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /pagination\.limit/);
  });

  it('a schema that does not compile fails warm(), and its validator fails the same way when called', async () => {
    const schemas = new LazySchemas();
    const ajv = schemas.ajv({ strict: true });
    const validate = ajv.compile({ type: 'object', properties: { a: { type: 'no-such-type' } } });
    assert.equal(schemas.pendingCount, 1);
    await assert.rejects(schemas.warm(), /no-such-type|type must be/);
    assert.throws(() => validate({ a: 1 }), /no-such-type|type must be/);
  });

  it('a deferred validator reports its errors like Ajv’s own', () => {
    const schemas = new LazySchemas();
    const validate = schemas.ajv({ allErrors: true }).compile({ type: 'object', required: ['name'], properties: { name: { type: 'string' } } });
    assert.equal(validate({}), false);
    assert.equal(validate.errors?.[0]?.params.missingProperty, 'name');
    assert.equal(validate({ name: 'x' }), true);
    assert.equal(validate.errors, null);
  });
});
