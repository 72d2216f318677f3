/**
 * Roles: createRole (platform or tenant), assignRolesToUser / unassignRolesFromUser by key (all or nothing: an
 * unknown key is NOT_FOUND and assigns nothing), and reading them back from the user, the roles list and the role.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { createTenant, createUser, expectError, gql, gqlOk, unique, userToken, type CreatedUser } from './helpers/roster.ts';

const CREATE = 'mutation($r: RoleCreateDto!) { createRole(role: $r) { id key name tenantId isSystemManaged } }';
const ASSIGN = 'mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }';
const UNASSIGN = 'mutation($u: ID!, $k: [String!]!) { unassignRolesFromUser(userId: $u, roleKeys: $k) }';

interface Role { id: string; key: string; name: string; tenantId: string | null; isSystemManaged: boolean }

describe('roles', () => {
  let server: TestServer;
  let tenantId: string;
  let otherTenantId: string;
  let platformRole: Role;
  let tenantRole: Role;
  let foreignRole: Role;

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
    otherTenantId = await createTenant(server);
    platformRole = (await gqlOk<{ createRole: Role }>(server, CREATE, { r: { key: unique('platform'), name: 'Platform' } })).createRole;
    tenantRole = (await gqlOk<{ createRole: Role }>(server, CREATE, { r: { key: unique('editor'), name: 'Editor', tenantId } })).createRole;
    foreignRole = (await gqlOk<{ createRole: Role }>(server, CREATE, { r: { key: unique('foreign'), name: 'Foreign', tenantId: otherTenantId } })).createRole;
  });
  after(() => server.close());

  const rolesOf = async (user: CreatedUser) => {
    const data = await gqlOk<{ user: { roles: { data: { key: string }[]; totalCount: number } } }>(
      server,
      `{ user(id: "${user.id}") { roles(order: { order: ASC, sort: key }) { data { key } totalCount } } }`,
    );
    return { keys: data.user.roles.data.map((r) => r.key), totalCount: data.user.roles.totalCount };
  };
  const holders = async (role: Role) =>
    (await gqlOk<{ role: { users: { totalCount: number } } }>(server, `{ role(id: "${role.id}") { users { totalCount } } }`)).role.users.totalCount;

  it('createRole makes platform roles and tenant roles', () => {
    assert.equal(platformRole.tenantId, null);
    assert.equal(platformRole.isSystemManaged, false);
    assert.equal(tenantRole.tenantId, tenantId);
    assert.equal(tenantRole.name, 'Editor');
  });

  it('assigns and unassigns roles by key; reads them from the user, the roles list and the role', async () => {
    const user = await createUser(server, { tenantId });
    const bystander = await createUser(server, { tenantId });
    assert.deepEqual(await gqlOk(server, ASSIGN, { u: user.id, k: [tenantRole.key, platformRole.key] }), { assignRolesToUser: true });
    assert.deepEqual(await rolesOf(user), { keys: [tenantRole.key, platformRole.key].sort(), totalCount: 2 });
    assert.deepEqual(await rolesOf(bystander), { keys: [], totalCount: 0 });

    const listed = await gqlOk<{ roles: { data: { id: string }[]; totalCount: number } }>(
      server,
      `{ roles(filter: { userId: { equalTo: "${user.id}" } }) { data { id } totalCount } }`,
    );
    assert.deepEqual(listed.roles.data.map((r) => r.id).sort(), [tenantRole.id, platformRole.id].sort());
    assert.equal(listed.roles.totalCount, 2);
    assert.equal(await holders(tenantRole), 1);

    // Assigning again is a no-op.
    assert.deepEqual(await gqlOk(server, ASSIGN, { u: user.id, k: [tenantRole.key, tenantRole.key] }), { assignRolesToUser: true });
    assert.equal((await rolesOf(user)).totalCount, 2);
    await gqlOk(server, ASSIGN, { u: bystander.id, k: [tenantRole.key] });
    assert.equal(await holders(tenantRole), 2);

    assert.deepEqual(await gqlOk(server, UNASSIGN, { u: user.id, k: [tenantRole.key] }), { unassignRolesFromUser: true });
    assert.deepEqual(await rolesOf(user), { keys: [platformRole.key], totalCount: 1 });
    assert.equal(await holders(tenantRole), 1);
    // Unassigning a role the user does not hold is a no-op.
    assert.deepEqual(await gqlOk(server, UNASSIGN, { u: user.id, k: [tenantRole.key] }), { unassignRolesFromUser: true });
    assert.deepEqual(await rolesOf(user), { keys: [platformRole.key], totalCount: 1 });
  });

  it('an unknown key rejects the whole call: NOT_FOUND naming it, nothing assigned or unassigned', async () => {
    const user = await createUser(server, { tenantId });
    const res = await gql(server, ASSIGN, { u: user.id, k: [tenantRole.key, 'no-such-role'] });
    expectError(res, 'NOT_FOUND', 'no-such-role');
    assert.deepEqual(await rolesOf(user), { keys: [], totalCount: 0 });

    await gqlOk(server, ASSIGN, { u: user.id, k: [tenantRole.key] });
    expectError(await gql(server, UNASSIGN, { u: user.id, k: [tenantRole.key, 'no-such-role'] }), 'NOT_FOUND', 'no-such-role');
    assert.deepEqual(await rolesOf(user), { keys: [tenantRole.key], totalCount: 1 });
  });

  it("another tenant's role is unknown to this tenant's users", async () => {
    const user = await createUser(server, { tenantId });
    expectError(await gql(server, ASSIGN, { u: user.id, k: [foreignRole.key] }), 'NOT_FOUND', foreignRole.key);
    assert.deepEqual(await rolesOf(user), { keys: [], totalCount: 0 });
    assert.equal(await holders(foreignRole), 0);
  });

  it('unknown or malformed users, and malformed keys, are refused', async () => {
    expectError(await gql(server, ASSIGN, { u: '00000000-0000-4000-8000-000000000000', k: [tenantRole.key] }), 'NOT_FOUND', 'userId');
    expectError(await gql(server, ASSIGN, { u: 'nope', k: [tenantRole.key] }), 'BAD_USER_INPUT', 'userId');
    expectError(await gql(server, UNASSIGN, { u: 'nope', k: [tenantRole.key] }), 'BAD_USER_INPUT', 'userId');
    expectError(await gql(server, CREATE, { r: { key: 'has spaces', name: 'x' } }), 'BAD_USER_INPUT', 'role.key');
    expectError(await gql(server, CREATE, { r: { key: unique('k'), name: '' } }), 'BAD_USER_INPUT', 'role.name');
    expectError(await gql(server, CREATE, { r: { key: unique('k'), name: 'x', tenantId: '00000000-0000-4000-8000-000000000000' } }), 'NOT_FOUND', 'role.tenantId');
  });

  it('a user token reads its own roles but cannot assign or list roles', async () => {
    const user = await createUser(server, { tenantId });
    await gqlOk(server, ASSIGN, { u: user.id, k: [tenantRole.key] });
    const token = await userToken(server, user.id);
    const own = await gqlOk<{ user: { roles: { data: { key: string }[] } } }>(server, `{ user(id: "${user.id}") { roles { data { key } } } }`, undefined, { token });
    assert.deepEqual(own.user.roles.data, [{ key: tenantRole.key }]);
    expectError(await gql(server, ASSIGN, { u: user.id, k: [platformRole.key] }, { token }), 'FORBIDDEN');
    expectError(await gql(server, '{ roles { totalCount } }', undefined, { token }), 'FORBIDDEN');
    assert.equal((await rolesOf(user)).totalCount, 1);
  });
});
