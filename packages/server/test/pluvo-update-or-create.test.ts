/**
 * Pluvo's updateOrCreateUser(ref, email, tenantId, user): updates the user found by ref (else by email) in the
 * tenant, or creates it with ref as its reference (an email is then required). Returns { created, user }.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startServer, type TestServer } from './helpers/server.ts';
import { countUsers, createTenant, createUser, expectError, gql, gqlOk, unique } from './helpers/roster.ts';

const UPSERT = `mutation($ref: String, $email: String, $tenantId: UUID, $user: UserUpsertDto!) {
  updateOrCreateUser(ref: $ref, email: $email, tenantId: $tenantId, user: $user) {
    created user { id reference email firstName tenantId locale }
  }
}`;

interface Upserted {
  created: boolean;
  user: { id: string; reference: string; email: string; firstName: string | null; tenantId: string; locale: string | null };
}
type Vars = { ref?: string; email?: string; tenantId?: string; user: Record<string, unknown> };

describe('Pluvo updateOrCreateUser', () => {
  let server: TestServer;
  let tenantId: string;
  let otherTenantId: string;
  let defaultTenantId: string;

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
    otherTenantId = await createTenant(server);
    defaultTenantId = (await createUser(server)).tenantId;
  });
  after(() => server.close());

  const upsert = async (v: Vars) => (await gqlOk<{ updateOrCreateUser: Upserted }>(server, UPSERT, v)).updateOrCreateUser;

  it('creates the user with ref as its reference when absent, then updates it by ref', async () => {
    const ref = unique('EMP');
    const email = `${ref}@example.test`;
    const created = await upsert({ ref, tenantId, user: { email, firstName: 'Ada', locale: 'en-gb' } });
    assert.equal(created.created, true);
    assert.deepEqual(
      { ...created.user, id: undefined },
      { id: undefined, reference: ref, email, firstName: 'Ada', tenantId, locale: 'en-GB' },
    );

    const before = await countUsers(server, tenantId);
    const updated = await upsert({ ref, tenantId, user: { firstName: 'Grace' } });
    assert.equal(updated.created, false);
    assert.equal(updated.user.id, created.user.id);
    assert.equal(updated.user.firstName, 'Grace');
    assert.equal(updated.user.email, email);
    assert.equal(await countUsers(server, tenantId), before);
  });

  it('creating requires an email: BAD_USER_INPUT naming user.email, nothing written', async () => {
    const before = await countUsers(server, tenantId);
    const res = await gql(server, UPSERT, { ref: unique('no-email'), tenantId, user: { firstName: 'X' } });
    expectError(res, 'BAD_USER_INPUT', 'user.email');
    assert.equal(await countUsers(server, tenantId), before);
  });

  it('neither ref nor email is BAD_USER_INPUT', async () => {
    const before = await countUsers(server, tenantId);
    expectError(await gql(server, UPSERT, { tenantId, user: { email: `${unique('x')}@example.test` } }), 'BAD_USER_INPUT', 'ref');
    assert.equal(await countUsers(server, tenantId), before);
  });

  it('by email alone: updates the user with that email (any case), else creates one with it', async () => {
    const existing = await createUser(server, { tenantId, firstName: 'Old' });
    const updated = await upsert({ email: existing.email.toUpperCase(), tenantId, user: { firstName: 'New' } });
    assert.equal(updated.created, false);
    assert.equal(updated.user.id, existing.id);
    assert.equal(updated.user.reference, existing.reference);
    assert.equal(updated.user.firstName, 'New');

    const email = `${unique('fresh')}@example.test`;
    const created = await upsert({ email, tenantId, user: { firstName: 'Fresh' } });
    assert.equal(created.created, true);
    assert.equal(created.user.email, email);
    assert.ok(created.user.reference.length > 0);
  });

  it('a ref not found falls back to the email', async () => {
    const existing = await createUser(server, { tenantId });
    const before = await countUsers(server, tenantId);
    const result = await upsert({ ref: unique('unknown-ref'), email: existing.email, tenantId, user: { firstName: 'Matched' } });
    assert.equal(result.created, false);
    assert.equal(result.user.id, existing.id);
    assert.equal(result.user.firstName, 'Matched');
    assert.equal(await countUsers(server, tenantId), before);
  });

  it('looks only in the given tenant; without tenantId, in the default tenant', async () => {
    const ref = unique('shared');
    const inA = await upsert({ ref, tenantId, user: { email: `${ref}@a.test`, firstName: 'A' } });
    const inB = await upsert({ ref, tenantId: otherTenantId, user: { email: `${ref}@b.test`, firstName: 'B' } });
    assert.equal(inB.created, true);
    assert.notEqual(inB.user.id, inA.user.id);
    assert.equal(inB.user.tenantId, otherTenantId);

    const updatedB = await upsert({ ref, tenantId: otherTenantId, user: { firstName: 'B2' } });
    assert.equal(updatedB.user.id, inB.user.id);
    const a = await gqlOk<{ user: { firstName: string } }>(server, `{ user(id: "${inA.user.id}") { firstName } }`);
    assert.equal(a.user.firstName, 'A');

    const inDefault = await upsert({ ref, user: { email: `${ref}@default.test` } });
    assert.equal(inDefault.created, true);
    assert.equal(inDefault.user.tenantId, defaultTenantId);
  });

  it('invalid fields or an unknown tenant write nothing', async () => {
    const ref = unique('invalid');
    const before = await countUsers(server, tenantId);
    expectError(
      await gql(server, UPSERT, { ref, tenantId, user: { email: `${ref}@example.test`, locale: 'xx-invalid-locale-!!' } }),
      'BAD_USER_INPUT',
      'user.locale',
    );
    expectError(
      await gql(server, UPSERT, { ref, tenantId, user: { email: `${ref}@example.test`, timezone: 'Mars/Phobos' } }),
      'BAD_USER_INPUT',
      'user.timezone',
    );
    expectError(await gql(server, UPSERT, { ref: 'r'.repeat(256), tenantId, user: { email: `${ref}@example.test` } }), 'BAD_USER_INPUT', 'ref');
    expectError(
      await gql(server, UPSERT, { ref, tenantId: '00000000-0000-4000-8000-000000000001', user: { email: `${ref}@example.test` } }),
      'NOT_FOUND',
      'tenantId',
    );
    assert.equal(await countUsers(server, tenantId), before);
  });
});

describe('user updates: one statement with their audit record', () => {
  let server: TestServer;
  let tenantId: string;
  const AUDIT = 'query($t: String!) { auditEvents(filter: { targetId: $t }, first: 100) { data { operation changes } } }';
  const auditOf = async (userId: string) =>
    (await gqlOk<{ auditEvents: { data: { operation: string; changes: Record<string, unknown> }[] } }>(server, AUDIT, { t: userId })).auditEvents.data;

  before(async () => {
    // No background API-key refresh inside a counted window: it would add a statement at random.
    server = await startServer({ ROSTER_KEY_REFRESH_SECONDS: '86400' });
    tenantId = await createTenant(server);
  });
  after(() => server.close());

  it('updateOrCreateUser on an existing user: the tenant, the user, then the update and its record in one statement', async () => {
    const ref = unique('EMP');
    const user = { email: `${ref}@example.test`, firstName: 'Ada', lastName: 'Lovelace', customData: { team: 'a', level: 2 } };
    const first = await gqlOk<{ updateOrCreateUser: Upserted }>(server, UPSERT, { ref, tenantId, user });
    server.resetQueryCount();
    // The same custom data in another key order, and the same last name: neither is a change.
    const vars = { ref, tenantId, user: { firstName: 'Grace', lastName: 'Lovelace', customData: { level: 2, team: 'a' } } };
    const second = await gqlOk<{ updateOrCreateUser: Upserted }>(server, UPSERT, vars);
    assert.equal(server.queryCount(), 3);
    assert.equal(second.updateOrCreateUser.created, false);
    assert.equal(second.updateOrCreateUser.user.firstName, 'Grace');

    const records = await auditOf(first.updateOrCreateUser.user.id);
    assert.deepEqual(records.map((r) => r.operation), ['user.update', 'user.create']);
    assert.deepEqual(records[0]!.changes, { firstName: { from: 'Ada', to: 'Grace' } });
    assert.equal(records[1]!.changes.firstName, 'Ada');
  });

  it('updateUser at a stale version changes nothing and records nothing; at the current one it records the change', async () => {
    const UPDATE = 'mutation($id: ID!, $u: UserUpdateDto!, $v: Int) { updateUser(id: $id, user: $u, expectedVersion: $v) { version firstName customData } }';
    const created = await gqlOk<{ updateOrCreateUser: Upserted }>(server, UPSERT, { ref: unique('EMP'), tenantId, user: { email: `${unique('e')}@example.test`, firstName: 'Ada' } });
    const id = created.updateOrCreateUser.user.id;

    expectError(await gql(server, UPDATE, { id, u: { firstName: 'Stale' }, v: 7 }), 'CONFLICT', 'expectedVersion');
    assert.deepEqual((await auditOf(id)).map((r) => r.operation), ['user.create']);

    const done = await gqlOk<{ updateUser: { version: number; firstName: string; customData: unknown } }>(server, UPDATE, { id, u: { firstName: 'Bea', customData: { k: [1, 'x'] } }, v: 1 });
    assert.deepEqual(done.updateUser, { version: 2, firstName: 'Bea', customData: { k: [1, 'x'] } });
    assert.deepEqual((await auditOf(id))[0]!.changes, { firstName: { from: 'Ada', to: 'Bea' }, customData: { from: {}, to: { k: [1, 'x'] } } });
  });

  it('on PostgreSQL: an update that waited for another one records its own changes, against the row it replaced', { skip: process.env.DATABASE_URL ? false : 'DATABASE_URL is not set (PGlite runs one statement at a time)' }, async () => {
    const ref = unique('EMP');
    const created = await gqlOk<{ updateOrCreateUser: Upserted }>(server, UPSERT, { ref, tenantId, user: { email: `${ref}@example.test`, firstName: 'Ada' } });
    const id = created.updateOrCreateUser.user.id;
    const db = server.database.db;
    let pending: ReturnType<typeof gqlOk<{ updateOrCreateUser: Upserted }>> | undefined;
    await db.transaction().execute(async (tx) => {
      await sql`update users set first_name = 'Xia', last_name = 'Concurrent' where id = ${id}`.execute(tx);
      pending = gqlOk<{ updateOrCreateUser: Upserted }>(server, UPSERT, { ref, tenantId, user: { firstName: 'Yan' } });
      // Commit only once the upsert waits for this transaction's row lock.
      for (let i = 0; ; i++) {
        const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`.execute(db);
        if (waiting.rows[0]!.n > 0) break;
        assert.ok(i < 500, 'the upsert never waited for the lock');
        await sleep(10);
      }
    });
    const done = await pending!;
    assert.equal(done.updateOrCreateUser.user.firstName, 'Yan');
    // Not "from Ada", and not the other transaction's last name.
    assert.deepEqual((await auditOf(id))[0]!.changes, { firstName: { from: 'Xia', to: 'Yan' } });
  });
});
