/**
 * Uniqueness within a tenant: a second user with the same reference or email (compared case-insensitively), or a
 * second group with the same reference, is a CONFLICT naming the field, and nothing is written. Other tenants
 * may reuse both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { countGroups, countUsers, createGroup, createTenant, createUser, expectError, gql, gqlOk, unique } from './helpers/roster.ts';

const CREATE_USER = `mutation($u: UserCreateDto!) { createUser(user: $u) { id reference email tenantId } }`;
const CREATE_GROUP = `mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id reference tenantId } }`;

describe('uniqueness conflicts', () => {
  let server: TestServer;
  let tenantA: string;
  let tenantB: string;

  before(async () => {
    server = await startServer();
    tenantA = await createTenant(server);
    tenantB = await createTenant(server);
  });
  after(() => server.close());

  it('a duplicate user reference in the same tenant is a CONFLICT naming reference; nothing written', async () => {
    const first = await createUser(server, { tenantId: tenantA });
    const before = await countUsers(server, tenantA);
    const res = await gql(server, CREATE_USER, { u: { reference: first.reference, email: `${unique('other')}@example.test`, tenantId: tenantA } });
    const error = expectError(res, 'CONFLICT', 'reference');
    assert.equal(error.extensions.field, 'reference');
    assert.equal(await countUsers(server, tenantA), before);
  });

  it('a duplicate email, in any letter case, is a CONFLICT naming email; nothing written', async () => {
    const first = await createUser(server, { tenantId: tenantA });
    const before = await countUsers(server, tenantA);
    for (const email of [first.email, first.email.toUpperCase(), first.email.replace(/^./, (c) => c.toUpperCase())]) {
      const res = await gql(server, CREATE_USER, { u: { reference: unique('dup-email'), email, tenantId: tenantA } });
      expectError(res, 'CONFLICT', 'email');
    }
    assert.equal(await countUsers(server, tenantA), before);
    const byEmail = await gqlOk<{ users: { data: { id: string }[] } }>(
      server,
      `query($e: String!) { users(filter: { email: { iLike: $e } }) { data { id } } }`,
      { e: first.email },
    );
    assert.deepEqual(byEmail.users.data.map((u) => u.id), [first.id]);
  });

  it('the same reference and email in another tenant are fine', async () => {
    const first = await createUser(server, { tenantId: tenantA });
    const data = await gqlOk<{ createUser: { id: string; reference: string; email: string; tenantId: string } }>(server, CREATE_USER, {
      u: { reference: first.reference, email: first.email.toUpperCase(), tenantId: tenantB },
    });
    assert.notEqual(data.createUser.id, first.id);
    assert.equal(data.createUser.reference, first.reference);
    assert.equal(data.createUser.tenantId, tenantB);
    const both = await gqlOk<{ users: { totalCount: number } }>(
      server,
      `query($r: String!) { users(filter: { reference: { equalTo: $r } }) { totalCount } }`,
      { r: first.reference },
    );
    assert.equal(both.users.totalCount, 2);
  });

  it("changing a user's email to another user's (other case) is a CONFLICT and leaves it unchanged", async () => {
    const a = await createUser(server, { tenantId: tenantA });
    const b = await createUser(server, { tenantId: tenantA, firstName: 'Unchanged' });
    const res = await gql(server, `mutation($id: ID!, $u: UserUpdateDto!) { updateUser(id: $id, user: $u) { id } }`, {
      id: b.id,
      u: { email: a.email.toUpperCase(), firstName: 'Changed' },
    });
    expectError(res, 'CONFLICT', 'email');
    const data = await gqlOk<{ user: { email: string; firstName: string; version: number } }>(server, `{ user(id: "${b.id}") { email firstName version } }`);
    assert.deepEqual(data.user, { email: b.email, firstName: 'Unchanged', version: 1 });
  });

  it('a duplicate group reference in the same tenant is a CONFLICT; another tenant may reuse it', async () => {
    const group = await createGroup(server, { tenantId: tenantA });
    const before = await countGroups(server, tenantA);
    expectError(await gql(server, CREATE_GROUP, { g: { name: 'again', reference: group.reference, tenantId: tenantA } }), 'CONFLICT', 'reference');
    assert.equal(await countGroups(server, tenantA), before);

    const other = await gqlOk<{ createUserGroup: { id: string; tenantId: string; reference: string } }>(server, CREATE_GROUP, {
      g: { name: 'again', reference: group.reference, tenantId: tenantB },
    });
    assert.notEqual(other.createUserGroup.id, group.id);
    assert.equal(other.createUserGroup.tenantId, tenantB);
    assert.equal(other.createUserGroup.reference, group.reference);

    const second = await createGroup(server, { tenantId: tenantA });
    const rename = await gql(server, `mutation($id: ID!, $g: UserGroupUpdateDto!) { updateUserGroup(id: $id, userGroup: $g) { id } }`, {
      id: second.id,
      g: { reference: group.reference, name: 'renamed' },
    });
    expectError(rename, 'CONFLICT', 'reference');
    const unchanged = await gqlOk<{ userGroup: { reference: string; name: string } }>(server, `{ userGroup(id: "${second.id}") { reference name } }`);
    assert.deepEqual(unchanged.userGroup, { reference: second.reference, name: second.name });
  });

  it('Pluvo updateOrCreateUser cannot create a second user with a taken email', async () => {
    const existing = await createUser(server, { tenantId: tenantA });
    const before = await countUsers(server, tenantA);
    const res = await gql(
      server,
      `mutation($ref: String, $t: UUID, $u: UserUpsertDto!) { updateOrCreateUser(ref: $ref, tenantId: $t, user: $u) { created } }`,
      { ref: unique('new-ref'), t: tenantA, u: { email: existing.email.toUpperCase() } },
    );
    expectError(res, 'CONFLICT', 'email');
    assert.equal(await countUsers(server, tenantA), before);
  });

  it('a duplicate role key in the same tenant is a CONFLICT naming key', async () => {
    const key = unique('editor');
    await gqlOk(server, `mutation($r: RoleCreateDto!) { createRole(role: $r) { id } }`, { r: { key, name: 'Editor', tenantId: tenantA } });
    expectError(
      await gql(server, `mutation($r: RoleCreateDto!) { createRole(role: $r) { id } }`, { r: { key, name: 'Editor 2', tenantId: tenantA } }),
      'CONFLICT',
      'key',
    );
    const inB = await gqlOk<{ createRole: { key: string; tenantId: string } }>(
      server,
      `mutation($r: RoleCreateDto!) { createRole(role: $r) { key tenantId } }`,
      { r: { key, name: 'Editor', tenantId: tenantB } },
    );
    assert.deepEqual(inB.createRole, { key, tenantId: tenantB });
    const count = await gqlOk<{ roles: { totalCount: number } }>(server, `query($k: String!) { roles(filter: { key: { equalTo: $k } }) { totalCount } }`, { k: key });
    assert.equal(count.roles.totalCount, 2);
  });
});
