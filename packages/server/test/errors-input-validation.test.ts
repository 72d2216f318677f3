/**
 * Bad input is a BAD_USER_INPUT (HTTP 400 in `extensions.response`) naming the field, never a 500, and a
 * rejected write writes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { countGroups, countUsers, createGroup, createTenant, createUser, expectError, gql, gqlOk, memberIds, unique } from './helpers/roster.ts';

const CREATE_USER = `mutation($u: UserCreateDto!) { createUser(user: $u) { id } }`;
const UPDATE_USER = `mutation($id: ID!, $u: UserUpdateDto!) { updateUser(id: $id, user: $u) { id firstName locale timezone customData } }`;
const NIL = '00000000-0000-4000-8000-000000000000';

describe('input validation errors', () => {
  let server: TestServer;
  let tenantId: string;

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
  });
  after(() => server.close());

  /** Tries to create a user with `fields` overriding a valid input; asserts the error and that no user was added. */
  async function rejectCreate(fields: Record<string, unknown>, field: string | RegExp): Promise<void> {
    const before = await countUsers(server, tenantId);
    const reference = unique('bad');
    const res = await gql(server, CREATE_USER, { u: { reference, email: `${reference}@example.test`, tenantId, ...fields } });
    expectError(res, 'BAD_USER_INPUT', field);
    assert.equal(await countUsers(server, tenantId), before);
  }

  describe('malformed UUIDs', () => {
    it('in ID arguments of queries and mutations', async () => {
      for (const [query, field] of [
        ['{ user(id: "nope") { id } }', 'id'],
        ['{ userGroup(id: "nope") { id } }', 'id'],
        ['{ tenant(id: "nope") { id } }', 'id'],
        ['{ role(id: "nope") { id } }', 'id'],
        ['{ userGroupMembers(groupId: "nope") { edges { cursor } } }', 'groupId'],
      ] as const) {
        const res = await gql(server, query);
        expectError(res, 'BAD_USER_INPUT', field);
        assert.equal(res.status, 400);
      }
    });

    it('in UUID-typed variables, with extensions.field naming the variable (graphql-js coercion errors)', async () => {
      const res = await gql(server, 'mutation($g: UUID) { addUsersToGroup(groupId: $g, userIds: []) { addedIds } }', { g: 'nope' });
      const error = expectError(res, 'BAD_USER_INPUT', 'g');
      assert.equal(error.extensions.field, 'g');
      const missing = await gql(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference: 'x' } });
      assert.equal(expectError(missing, 'BAD_USER_INPUT').extensions.field, 'u.email');
      const nested = await gql(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference: 'x', email: 5 } });
      // graphql-jit names the nested variable `$email`, graphql-js `$u` … at "u.email": either way the field is named.
      assert.match(String(expectError(nested, 'BAD_USER_INPUT').extensions.field), /(^|\.)email$/);
    });

    it('in filter ids', async () => {
      expectError(await gql(server, '{ users(filter: { id: { equalTo: "nope" } }) { totalCount } }'), 'BAD_USER_INPUT', 'filter.id.equalTo');
      expectError(
        await gql(server, '{ users(filter: { userGroupId: { valueIn: ["42103455-1e00-41bf-9714-c70a8c17caf9", "x"] } }) { totalCount } }'),
        'BAD_USER_INPUT',
        'filter.userGroupId.valueIn',
      );
      expectError(await gql(server, '{ users(filter: { tenantId: { notEqualTo: "1234" } }) { totalCount } }'), 'BAD_USER_INPUT', 'filter.tenantId.notEqualTo');
      expectError(await gql(server, '{ userGroups(filter: { userId: { equalTo: "nope" } }) { totalCount } }'), 'BAD_USER_INPUT', 'filter.userId.equalTo');
      expectError(await gql(server, '{ roles(filter: { userId: { equalTo: "nope" } }) { totalCount } }'), 'BAD_USER_INPUT', 'filter.userId.equalTo');
    });

    it('in userIds of addUsersToUserGroup: nothing is added', async () => {
      const group = await createGroup(server, { tenantId });
      const user = await createUser(server, { tenantId });
      const res = await gql(server, 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }', {
        g: group.id,
        u: [user.id, 'not-a-uuid'],
      });
      expectError(res, 'BAD_USER_INPUT', 'userIds');
      assert.deepEqual(await memberIds(server, group.id), []);
      expectError(
        await gql(server, 'mutation($u: [ID!]!) { addUsersToUserGroup(userGroupId: "nope", userIds: $u) }', { u: [user.id] }),
        'BAD_USER_INPUT',
        'userGroupId',
      );
    });

    it("in Pluvo's UUID-typed arguments: a 400 naming the argument, nothing added", async () => {
      const group = await createGroup(server, { tenantId });
      const user = await createUser(server, { tenantId });
      const viaVariables = await gql(
        server,
        'mutation($g: UUID, $u: [UUID!]) { addUsersToGroup(groupId: $g, userIds: $u) { addedIds } }',
        { g: group.id, u: [user.id, 'nope'] },
      );
      // Named by its path in the variables: the second item of $u.
      assert.equal(expectError(viaVariables, 'BAD_USER_INPUT', /^u\[1\]: /).extensions.field, 'u[1]');
      assert.equal(viaVariables.status, 400);
      const badGroup = await gql(server, 'mutation($g: UUID, $u: [UUID!]) { addUsersToGroup(groupId: $g, userIds: $u) { addedIds } }', {
        g: 'nope',
        u: [user.id],
      });
      assert.equal(expectError(badGroup, 'BAD_USER_INPUT', /^g: /).extensions.field, 'g');
      const literal = await gql(server, `mutation { addManagersToGroup(groupId: "${group.id}", userIds: ["nope"]) { response { failedIds } } }`);
      expectError(literal, 'BAD_USER_INPUT', /UUID/);
      assert.equal(literal.status, 400);
      const tenantArg = await gql(server, `mutation { removeUsersFromGroup(groupRef: "${group.reference}", userRefs: ["x"], tenantId: "t-1") { removedIds } }`);
      expectError(tenantArg, 'BAD_USER_INPUT', /UUID/);
      assert.deepEqual(await memberIds(server, group.id), []);
    });
  });

  describe('unknown ids are NOT_FOUND', () => {
    it('for every single-record query and mutation', async () => {
      for (const [query, field] of [
        [`{ user(id: "${NIL}") { id } }`, NIL],
        [`{ userGroup(id: "${NIL}") { id } }`, NIL],
        [`{ tenant(id: "${NIL}") { id } }`, NIL],
        [`{ role(id: "${NIL}") { id } }`, NIL],
        [`mutation { updateUser(id: "${NIL}", user: { firstName: "x" }) { id } }`, NIL],
        [`mutation { deleteUser(id: "${NIL}") }`, NIL],
        [`mutation { updateUserGroup(id: "${NIL}", userGroup: { name: "x" }) { id } }`, NIL],
        [`mutation { deleteUserGroup(id: "${NIL}") }`, NIL],
        [`mutation { addUsersToUserGroup(userGroupId: "${NIL}", userIds: []) }`, 'userGroupId'],
        [`mutation { addUsersToGroup(groupId: "${NIL}", userIds: []) { addedIds } }`, NIL],
        [`mutation { addUsersToGroup(groupRef: "no-such-group", userIds: []) { addedIds } }`, 'groupRef'],
      ] as const) {
        expectError(await gql(server, query), 'NOT_FOUND', field);
      }
    });

    it('a user created in an unknown tenant is NOT_FOUND and not written', async () => {
      const before = await countUsers(server);
      const reference = unique('orphan');
      expectError(
        await gql(server, CREATE_USER, { u: { reference, email: `${reference}@example.test`, tenantId: NIL } }),
        'NOT_FOUND',
        'user.tenantId',
      );
      expectError(
        await gql(server, `mutation { createUserGroup(userGroup: { name: "g", reference: "${reference}", tenantId: "${NIL}" }) { id } }`),
        'NOT_FOUND',
        'userGroup.tenantId',
      );
      assert.equal(await countUsers(server), before);
    });
  });

  describe('user fields', () => {
    it('invalid email', async () => {
      await rejectCreate({ email: 'not-an-email' }, 'user.email');
      await rejectCreate({ email: 'two@@example.test' }, 'user.email');
      await rejectCreate({ email: '' }, 'user.email');
    });

    it('unknown locale', async () => {
      await rejectCreate({ locale: 'xx-invalid-locale-!!' }, 'user.locale');
    });

    it('unknown IANA time zone', async () => {
      await rejectCreate({ timezone: 'Mars/Phobos' }, 'user.timezone');
      await rejectCreate({ timezone: '../../etc/passwd' }, 'user.timezone');
    });

    it('strings over 255 characters for names and reference', async () => {
      const long = 'a'.repeat(256);
      await rejectCreate({ reference: long }, 'user.reference');
      await rejectCreate({ firstName: long }, 'user.firstName');
      await rejectCreate({ lastName: long }, 'user.lastName');
      // 255 is still fine.
      const ok = await createUser(server, { tenantId, firstName: 'b'.repeat(255), reference: 'c'.repeat(255) });
      assert.equal(ok.reference, 'c'.repeat(255));
    });

    it('customData over 64 KiB or not an object', async () => {
      await rejectCreate({ customData: { blob: 'x'.repeat(64 * 1024) } }, 'user.customData');
      // Not an object: refused while coercing the variable, whose path names the field.
      await rejectCreate({ customData: [1, 2, 3] }, /customData/);
      await rejectCreate({ customData: 'a string' }, /customData/);
      await rejectCreate({ customData: [1, 2, 3] }, /customData/);
      const ok = await createUser(server, { tenantId, customData: { blob: 'x'.repeat(60 * 1024), nested: { n: 1 } } });
      const data = await gqlOk<{ user: { customData: { nested: unknown } } }>(server, `{ user(id: "${ok.id}") { customData } }`);
      assert.deepEqual(data.user.customData.nested, { n: 1 });
    });

    it('an invalid update leaves the user unchanged', async () => {
      const user = await createUser(server, { tenantId, firstName: 'Before', locale: 'de-DE', timezone: 'Europe/Berlin' });
      for (const [patch, field] of [
        [{ firstName: 'After', locale: 'xx-invalid-locale-!!' }, 'user.locale'],
        [{ firstName: 'After', timezone: 'Mars/Phobos' }, 'user.timezone'],
        [{ firstName: 'After', email: 'broken' }, 'user.email'],
        [{ firstName: 'x'.repeat(256) }, 'user.firstName'],
        [{ firstName: 'After', customData: { blob: 'x'.repeat(70_000) } }, 'user.customData'],
      ] as const) {
        expectError(await gql(server, UPDATE_USER, { id: user.id, u: patch }), 'BAD_USER_INPUT', field);
      }
      const data = await gqlOk<{ user: { firstName: string; locale: string; timezone: string; customData: unknown; version: number } }>(
        server,
        `{ user(id: "${user.id}") { firstName locale timezone customData version } }`,
      );
      assert.deepEqual(data.user, { firstName: 'Before', locale: 'de-DE', timezone: 'Europe/Berlin', customData: {}, version: 1 });
    });
  });

  describe('group fields', () => {
    it('names and references over 255 characters; nothing written', async () => {
      const before = await countGroups(server, tenantId);
      const long = 'g'.repeat(256);
      for (const [input, field] of [
        [{ name: long, reference: unique('r') }, 'userGroup.name'],
        [{ name: 'ok', reference: long }, 'userGroup.reference'],
        [{ name: '', reference: unique('r') }, 'userGroup.name'],
      ] as const) {
        expectError(
          await gql(server, 'mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id } }', { g: { ...input, tenantId } }),
          'BAD_USER_INPUT',
          field,
        );
      }
      assert.equal(await countGroups(server, tenantId), before);
    });
  });

  describe('list arguments', () => {
    it('limit over the cap or negative, negative offset', async () => {
      for (const list of ['users', 'userGroups', 'roles', 'tenants']) {
        const over = await gql(server, `{ ${list}(limit: 1001) { totalCount } }`);
        expectError(over, 'BAD_USER_INPUT', 'limit');
        assert.equal(over.status, 400);
        expectError(await gql(server, `{ ${list}(limit: -1) { totalCount } }`), 'BAD_USER_INPUT', 'limit');
        expectError(await gql(server, `{ ${list}(offset: -5) { totalCount } }`), 'BAD_USER_INPUT', 'offset');
      }
      const atCap = await gqlOk<{ users: { totalCount: number } }>(server, '{ users(limit: 1000) { totalCount } }');
      assert.ok(atCap.users.totalCount >= 0);
    });

    it('the cap applies to nested lists too', async () => {
      const res = await gql(server, '{ userGroups(limit: 1) { data { users(limit: 5000) { totalCount } } } }');
      // Either the page is empty (nothing to resolve) or the nested limit is refused: never a 500.
      assert.notEqual(res.status, 500);
      await createGroup(server, { tenantId });
      const refused = await gql(server, '{ userGroups(limit: 1) { data { users(limit: 5000) { totalCount } } } }');
      assert.equal(refused.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
      assert.match(refused.errors?.[0]?.message ?? '', /limit/);
    });

    it('unknown filter keys fail GraphQL validation with HTTP 400', async () => {
      for (const query of [
        '{ users(filter: { nickname: { equalTo: "x" } }) { totalCount } }',
        '{ userGroups(filter: { colour: { equalTo: "x" } }) { totalCount } }',
        '{ users(filter: { email: { startsWith: "x" } }) { totalCount } }',
      ]) {
        const res = await gql(server, query);
        expectError(res, 'BAD_USER_INPUT');
        assert.equal(res.status, 400);
        assert.equal(res.data, null);
      }
      const viaVariable = await gql(server, 'query($f: UserFilterArgType) { users(filter: $f) { totalCount } }', { f: { nickname: { equalTo: 'x' } } });
      expectError(viaVariable, 'BAD_USER_INPUT', 'nickname');
      assert.equal(viaVariable.status, 400);
    });

    it('unknown fields, syntax errors and wrong argument types are 400 too', async () => {
      for (const query of ['{ users { data { shoeSize } } }', '{ users(', '{ users(limit: "ten") { totalCount } }', 'mutation { createUser { id } }']) {
        const res = await gql(server, query);
        expectError(res, 'BAD_USER_INPUT');
        assert.equal(res.status, 400);
      }
    });
  });

  describe('query depth', () => {
    it('a query nested deeper than the limit (8) is refused before it runs', async () => {
      const deep = `{ users { data { userGroups { data { users { data { userGroups { data { users { data { userGroups { data { id } } } } } } } } } } } } }`;
      const res = await gql(server, deep);
      expectError(res, 'BAD_USER_INPUT');
      assert.equal(res.status, 400);
      const shallow = await gql(server, '{ users(limit: 1) { data { userGroups { data { users { data { id } } } } } } }');
      assert.equal(shallow.errors, undefined);
    });
  });
});
