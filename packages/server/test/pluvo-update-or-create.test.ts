/**
 * Pluvo's updateOrCreateUser(ref, email, tenantId, user): updates the user found by ref (else by email) in the
 * tenant, or creates it with ref as its reference (an email is then required). Returns { created, user }.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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
