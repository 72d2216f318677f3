/**
 * The userGroups list (name like, userId filter, order, paging) and nested lists that page per parent: a
 * group's `users` and a user's `userGroups`, each with its own limit/offset and totalCount.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { addManagers, addMembers, createGroup, createTenant, createUser, gqlOk, unique, type CreatedGroup, type CreatedUser } from './helpers/roster.ts';

describe('user group lists and nested paging', () => {
  let server: TestServer;
  let tenantId: string;
  let p: string;
  let users: CreatedUser[];
  let east: CreatedGroup;
  let west: CreatedGroup;
  let support: CreatedGroup;

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
    p = unique('grp');
    users = [];
    for (let i = 1; i <= 5; i++) users.push(await createUser(server, { tenantId, email: `${p}-${i}@example.test` }));
    // Created in this order; names sort the same way (east < west < support).
    east = await createGroup(server, { tenantId, name: `${p} Sales East` });
    west = await createGroup(server, { tenantId, name: `${p} Sales West` });
    support = await createGroup(server, { tenantId, name: `${p} Support` });
    await addMembers(server, east.id, users.map((u) => u.id));
    await addMembers(server, west.id, [users[0]!.id, users[1]!.id]);
    await addManagers(server, support.id, [users[2]!.id]);
    // Noise in another tenant with the same names.
    const other = await createTenant(server);
    await createGroup(server, { tenantId: other, name: `${p} Sales East` });
  });
  after(() => server.close());

  const groups = async (vars: Record<string, unknown>) => {
    // Every tenant also has its platform groups (Company Admins); these tests look at the groups they made.
    const filter = { tenantId: { equalTo: tenantId }, type: { notEqualTo: 'platform' }, ...(vars.filter as object) };
    const data = await gqlOk<{ userGroups: { data: { id: string }[]; totalCount: number } }>(
      server,
      `query($filter: UserGroupFilterArgType, $limit: Int, $offset: Int, $order: UserGroupOrderArgType) {
        userGroups(filter: $filter, limit: $limit, offset: $offset, order: $order) { data { id } totalCount } }`,
      { ...vars, filter },
    );
    return { ids: data.userGroups.data.map((g) => g.id), totalCount: data.userGroups.totalCount };
  };

  it('defaults to createdAt DESC; orders by name; pages with totalCount', async () => {
    assert.deepEqual(await groups({}), { ids: [support.id, west.id, east.id], totalCount: 3 });
    assert.deepEqual(await groups({ order: { order: 'ASC', sort: 'name' } }), { ids: [east.id, west.id, support.id], totalCount: 3 });
    assert.deepEqual(await groups({ order: { order: 'ASC', sort: 'name' }, limit: 1, offset: 2 }), { ids: [support.id], totalCount: 3 });
  });

  it('name like (case-sensitive, caller’s %), iLike and equalTo', async () => {
    const order = { order: 'ASC', sort: 'name' };
    assert.deepEqual(await groups({ filter: { name: { like: `${p} Sales%` } }, order }), { ids: [east.id, west.id], totalCount: 2 });
    assert.deepEqual(await groups({ filter: { name: { like: `${p} sales%` } } }), { ids: [], totalCount: 0 });
    assert.deepEqual(await groups({ filter: { name: { iLike: `${p} sales%` } }, order }), { ids: [east.id, west.id], totalCount: 2 });
    assert.deepEqual(await groups({ filter: { name: { equalTo: `${p} Support` } } }), { ids: [support.id], totalCount: 1 });
    // Across tenants, the other tenant's same-named group shows too.
    const all = await gqlOk<{ userGroups: { totalCount: number } }>(server, `query($n: String!) { userGroups(filter: { name: { equalTo: $n } }) { totalCount } }`, {
      n: `${p} Sales East`,
    });
    assert.equal(all.userGroups.totalCount, 2);
  });

  it('userId filter: the groups a user participates in', async () => {
    const order = { order: 'ASC', sort: 'name' };
    assert.deepEqual(await groups({ filter: { userId: { equalTo: users[0]!.id } }, order }), { ids: [east.id, west.id], totalCount: 2 });
    assert.deepEqual(await groups({ filter: { userId: { equalTo: users[4]!.id } }, order }), { ids: [east.id], totalCount: 1 });
    assert.deepEqual(await groups({ filter: { userId: { valueIn: [users[1]!.id, users[4]!.id] } }, order }), { ids: [east.id, west.id], totalCount: 2 });
  });

  it("a group's nested users page per group, each with its own totalCount", async () => {
    const data = await gqlOk<{ userGroups: { data: { id: string; users: { data: { id: string }[]; totalCount: number } }[] } }>(
      server,
      `query($t: ID!) { userGroups(filter: { tenantId: { equalTo: $t }, type: { notEqualTo: "platform" } }, order: { order: ASC, sort: name }) {
        data { id users(limit: 2, offset: 1, order: { order: ASC, sort: email }) { data { id } totalCount } } } }`,
      { t: tenantId },
    );
    const ids = (u: CreatedUser[]) => u.map((x) => x.id);
    assert.deepEqual(
      data.userGroups.data.map((g) => [g.id, g.users.data.map((u) => u.id), g.users.totalCount]),
      [
        [east.id, ids(users.slice(1, 3)), 5],
        [west.id, [users[1]!.id], 2],
        [support.id, [], 0],
      ],
    );
  });

  it('the same nested field with different arguments in one request (aliases) pages independently', async () => {
    const data = await gqlOk<{ userGroup: { first: { data: { id: string }[] }; rest: { data: { id: string }[]; totalCount: number } } }>(
      server,
      `{ userGroup(id: "${east.id}") {
        first: users(limit: 2, order: { order: ASC, sort: email }) { data { id } }
        rest: users(limit: 10, offset: 2, order: { order: ASC, sort: email }) { data { id } totalCount } } }`,
    );
    assert.deepEqual(data.userGroup.first.data.map((u) => u.id), users.slice(0, 2).map((u) => u.id));
    assert.deepEqual(data.userGroup.rest.data.map((u) => u.id), users.slice(2).map((u) => u.id));
    assert.equal(data.userGroup.rest.totalCount, 5);
  });

  it("a user's nested userGroups page per user, each with its own totalCount", async () => {
    const data = await gqlOk<{ users: { data: { id: string; userGroups: { data: { id: string }[]; totalCount: number } }[] } }>(
      server,
      `query($t: ID!) { users(filter: { tenantId: { equalTo: $t } }, order: { order: ASC, sort: email }) {
        data { id userGroups(limit: 1, order: { order: ASC, sort: name }) { data { id } totalCount } } } }`,
      { t: tenantId },
    );
    assert.deepEqual(
      data.users.data.map((u) => [u.id, u.userGroups.data.map((g) => g.id), u.userGroups.totalCount]),
      [
        [users[0]!.id, [east.id], 2],
        [users[1]!.id, [east.id], 2],
        [users[2]!.id, [east.id], 1],
        [users[3]!.id, [east.id], 1],
        [users[4]!.id, [east.id], 1],
      ],
    );
    const second = await gqlOk<{ user: { userGroups: { data: { id: string }[]; totalCount: number } } }>(
      server,
      `{ user(id: "${users[0]!.id}") { userGroups(limit: 1, offset: 1, order: { order: ASC, sort: name }) { data { id } totalCount } } }`,
    );
    assert.deepEqual(second.user.userGroups, { data: [{ id: west.id }], totalCount: 2 });
  });

  it("a group's nested users take filters: deactivated members are hidden unless asked for", async () => {
    await gqlOk(server, `mutation { updateUser(id: "${users[4]!.id}", user: { active: false }) { id } }`);
    const data = await gqlOk<{ userGroup: { visible: { totalCount: number }; all: { totalCount: number }; one: { data: { id: string }[] } } }>(
      server,
      `{ userGroup(id: "${east.id}") {
        visible: users { totalCount }
        all: users(filter: { withDeactivated: { equalTo: true } }) { totalCount }
        one: users(filter: { email: { equalTo: "${users[3]!.email}" } }) { data { id } } } }`,
    );
    assert.equal(data.userGroup.visible.totalCount, 4);
    assert.equal(data.userGroup.all.totalCount, 5);
    assert.deepEqual(data.userGroup.one.data, [{ id: users[3]!.id }]);
    await gqlOk(server, `mutation { updateUser(id: "${users[4]!.id}", user: { active: true }) { id } }`);
  });
});
