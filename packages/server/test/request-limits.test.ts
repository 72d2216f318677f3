/**
 * Configured request limits: a membership call naming more users than ROSTER_BATCH_MAX is refused whole, and a
 * body over ROSTER_BODY_LIMIT_BYTES is a 413. Neither writes anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { countUsers, createGroup, createUsers, expectError, gql, gqlOk, managerIds, memberIds, unique } from './helpers/roster.ts';

const BODY_LIMIT = 4096;

describe('request limits', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ ROSTER_BATCH_MAX: '5', ROSTER_BODY_LIMIT_BYTES: String(BODY_LIMIT) });
  });
  after(() => server.close());

  it('ROQ addUsersToUserGroup with more than ROSTER_BATCH_MAX users is refused; nothing added', async () => {
    const group = await createGroup(server);
    const users = await createUsers(server, 6);
    const ids = users.map((u) => u.id);
    const res = await gql(server, 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }', { g: group.id, u: ids });
    expectError(res, 'BAD_USER_INPUT', 'userIds');
    assert.match(res.errors?.[0]?.message ?? '', /at most 5/);
    assert.deepEqual(await memberIds(server, group.id), []);

    const ok = await gqlOk<{ addUsersToUserGroup: boolean }>(
      server,
      'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }',
      { g: group.id, u: ids.slice(0, 5) },
    );
    assert.equal(ok.addUsersToUserGroup, true);
    assert.deepEqual(await memberIds(server, group.id), ids.slice(0, 5).sort());

    const remove = await gql(server, 'mutation($g: ID!, $u: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $u) }', { g: group.id, u: ids });
    expectError(remove, 'BAD_USER_INPUT', 'userIds');
    assert.deepEqual(await memberIds(server, group.id), ids.slice(0, 5).sort());
  });

  it('Pluvo calls count ids and refs together against the cap', async () => {
    const group = await createGroup(server);
    const users = await createUsers(server, 6);
    const args = { g: group.id, ids: users.slice(0, 3).map((u) => u.id), refs: users.slice(3).map((u) => u.reference) };
    const add = await gql(
      server,
      'mutation($g: UUID, $ids: [UUID!], $refs: [String!]) { addUsersToGroup(groupId: $g, userIds: $ids, userRefs: $refs) { addedIds } }',
      args,
    );
    expectError(add, 'BAD_USER_INPUT', 'userIds');
    assert.deepEqual(await memberIds(server, group.id), []);
    const managers = await gql(
      server,
      'mutation($g: UUID, $ids: [UUID!], $refs: [String!]) { addManagersToGroup(groupId: $g, userIds: $ids, userRefs: $refs) { response { succeededIds } } }',
      args,
    );
    expectError(managers, 'BAD_USER_INPUT', 'userIds');
    assert.deepEqual(await managerIds(server, group.id), []);
  });

  it('a body over ROSTER_BODY_LIMIT_BYTES is a 413 and writes nothing', async () => {
    const before = await countUsers(server);
    const reference = unique('big');
    const body = JSON.stringify({
      query: 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }',
      variables: { u: { reference, email: `${reference}@example.test`, customData: { pad: 'x'.repeat(BODY_LIMIT) } } },
    });
    assert.ok(Buffer.byteLength(body) > BODY_LIMIT);
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body,
    });
    assert.equal(response.status, 413);
    const json = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    assert.equal(json.errors?.[0]?.extensions?.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(await countUsers(server), before);

    // Just under the limit is accepted.
    const small = await gqlOk<{ createUser: { id: string } }>(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', {
      u: { reference, email: `${reference}@example.test`, customData: { pad: 'x'.repeat(BODY_LIMIT / 2) } },
    });
    assert.match(small.createUser.id, /^[0-9a-f-]{36}$/);
    assert.equal(await countUsers(server), before + 1);
  });

  it('the body limit also guards the SDK path and the token endpoint', async () => {
    const big = JSON.stringify({ query: `{ users { totalCount } }`, pad: 'y'.repeat(BODY_LIMIT) });
    const viaAlias = await fetch(`${server.url}/v01/server/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body: big,
    });
    assert.equal(viaAlias.status, 413);
    const token = await fetch(`${server.url}/v01/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body: JSON.stringify({ userId: 'x', pad: 'z'.repeat(BODY_LIMIT) }),
    });
    assert.equal(token.status, 413);
  });

  it('a body that is not JSON is a 400, not a 500', async () => {
    for (const path of ['/graphql', '/v01/authorize']) {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
        body: '{"query": ',
      });
      assert.equal(response.status, 400, path);
    }
  });
});
