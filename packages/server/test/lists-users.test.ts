/**
 * The users list: default order createdAt DESC, explicit order, limit/offset with totalCount, and the ROQ filters
 * (reference, email iLike / like, equalTo null, userGroupId equalTo / valueIn / all / notEqualTo, tenantId,
 * active, withDeactivated) and search.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { addMembers, createGroup, createTenant, createUser, gqlOk, unique, type CreatedGroup, type CreatedUser } from './helpers/roster.ts';

const LIST = `query($filter: UserFilterArgType, $limit: Int, $offset: Int, $order: UserOrderArgType, $search: UserSearchArgType) {
  users(filter: $filter, limit: $limit, offset: $offset, order: $order, search: $search) { data { id email } totalCount }
}`;

describe('users list', () => {
  let server: TestServer;
  let tenantId: string;
  let p: string;
  // Created in this order: charlie, alpha, bravo, delta (deactivated), echo.
  let charlie: CreatedUser;
  let alpha: CreatedUser;
  let bravo: CreatedUser;
  let delta: CreatedUser;
  let echo: CreatedUser;
  let g1: CreatedGroup;
  let g2: CreatedGroup;

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
    // Another tenant's users must never show in this tenant's lists.
    const noiseTenant = await createTenant(server);
    p = unique('lst').toLowerCase();
    const make = (name: string, fields: Record<string, unknown> = {}) =>
      createUser(server, { tenantId, reference: `${p}-ref-${name}`, email: `${p}-${name}@example.test`, firstName: name, ...fields });
    charlie = await make('charlie', { phone: '+15550000001' });
    await createUser(server, { tenantId: noiseTenant, email: `${p}-charlie@example.test` });
    alpha = await make('alpha');
    bravo = await make('bravo', { lastName: 'Smith' });
    delta = await make('delta', { phone: '+15550000004', active: false });
    echo = await make('echo', { phone: '+15550000005' });
    g1 = await createGroup(server, { tenantId });
    g2 = await createGroup(server, { tenantId });
    await addMembers(server, g1.id, [charlie.id, alpha.id, bravo.id]);
    await addMembers(server, g2.id, [alpha.id, delta.id, echo.id]);
  });
  after(() => server.close());

  const list = async (vars: { filter?: Record<string, unknown>; limit?: number; offset?: number; order?: unknown; search?: unknown }) => {
    const filter = { tenantId: { equalTo: tenantId }, ...vars.filter };
    const data = await gqlOk<{ users: { data: { id: string; email: string }[]; totalCount: number } }>(server, LIST, { ...vars, filter });
    return { ids: data.users.data.map((u) => u.id), totalCount: data.users.totalCount };
  };

  it('user(id) answers each field it selects, alone or all together, as the list does (it reads only those columns)', async () => {
    const ALL = 'id reference email firstName lastName phone locale timezone avatarUrl active isOptedIn synced tenantId customData createdAt updatedAt version tenant { id }';
    const one = await gqlOk<{ user: Record<string, unknown> }>(server, `query($id: ID!) { user(id: $id) { ${ALL} } }`, { id: charlie.id });
    const listed = await gqlOk<{ users: { data: Record<string, unknown>[] } }>(server, `query($id: ID!) { users(filter: { id: { equalTo: $id } }) { data { ${ALL} } } }`, { id: charlie.id });
    assert.deepEqual(one.user, listed.users.data[0]);
    assert.equal(one.user.phone, '+15550000001');
    assert.deepEqual(one.user.tenant, { id: tenantId });
    for (const field of ['email', 'createdAt', 'version', 'customData', 'phone']) {
      const alone = await gqlOk<{ user: Record<string, unknown> }>(server, `query($id: ID!) { user(id: $id) { ${field} } }`, { id: charlie.id });
      assert.deepEqual(alone.user, { [field]: one.user[field] }, field);
    }
  });

  it('defaults to createdAt DESC, leaving deactivated users out', async () => {
    assert.deepEqual(await list({}), { ids: [echo.id, bravo.id, alpha.id, charlie.id], totalCount: 4 });
  });

  it('withDeactivated includes them; active: false asks for them alone', async () => {
    assert.deepEqual(await list({ filter: { withDeactivated: { equalTo: true } } }), {
      ids: [echo.id, delta.id, bravo.id, alpha.id, charlie.id],
      totalCount: 5,
    });
    assert.deepEqual(await list({ filter: { active: { equalTo: false } } }), { ids: [delta.id], totalCount: 1 });
    assert.deepEqual((await list({ filter: { active: { equalTo: true } } })).totalCount, 4);
  });

  it('orders by email ASC and DESC', async () => {
    assert.deepEqual((await list({ order: { order: 'ASC', sort: 'email' } })).ids, [alpha.id, bravo.id, charlie.id, echo.id]);
    assert.deepEqual((await list({ order: { order: 'DESC', sort: 'email' } })).ids, [echo.id, charlie.id, bravo.id, alpha.id]);
    assert.deepEqual((await list({ order: { order: 'ASC', sort: 'createdAt' } })).ids, [charlie.id, alpha.id, bravo.id, echo.id]);
  });

  it('pages with limit and offset; totalCount ignores them', async () => {
    const order = { order: 'ASC', sort: 'email' };
    assert.deepEqual(await list({ order, limit: 2 }), { ids: [alpha.id, bravo.id], totalCount: 4 });
    assert.deepEqual(await list({ order, limit: 2, offset: 1 }), { ids: [bravo.id, charlie.id], totalCount: 4 });
    assert.deepEqual(await list({ order, limit: 2, offset: 3 }), { ids: [echo.id], totalCount: 4 });
    assert.deepEqual(await list({ order, offset: 10 }), { ids: [], totalCount: 4 });
    assert.deepEqual(await list({ order, limit: 0 }), { ids: [], totalCount: 4 });
  });

  it('reference equalTo and valueIn', async () => {
    assert.deepEqual(await list({ filter: { reference: { equalTo: alpha.reference } } }), { ids: [alpha.id], totalCount: 1 });
    const some = await list({ filter: { reference: { valueIn: [alpha.reference, echo.reference, 'nobody'] } }, order: { order: 'ASC', sort: 'email' } });
    assert.deepEqual(some, { ids: [alpha.id, echo.id], totalCount: 2 });
    assert.deepEqual(await list({ filter: { reference: { equalTo: alpha.reference.toUpperCase() } } }), { ids: [], totalCount: 0 });
  });

  it('email iLike is case-insensitive; like takes the caller’s % and is case-sensitive', async () => {
    assert.deepEqual(await list({ filter: { email: { iLike: `${p}-BRAVO%` } } }), { ids: [bravo.id], totalCount: 1 });
    assert.deepEqual(await list({ filter: { email: { like: `${p}-b%` } } }), { ids: [bravo.id], totalCount: 1 });
    assert.deepEqual(await list({ filter: { email: { like: `${p}-B%` } } }), { ids: [], totalCount: 0 });
    assert.deepEqual((await list({ filter: { email: { like: `%@example.test` } } })).totalCount, 4);
    // Without a %, like is an exact match.
    assert.deepEqual(await list({ filter: { email: { like: `${p}-b` } } }), { ids: [], totalCount: 0 });
  });

  it('equalTo: null means IS NULL; notEqualTo: null means IS NOT NULL', async () => {
    const order = { order: 'ASC', sort: 'email' };
    assert.deepEqual(await list({ filter: { phone: { equalTo: null } }, order }), { ids: [alpha.id, bravo.id], totalCount: 2 });
    assert.deepEqual(await list({ filter: { phone: { notEqualTo: null } }, order }), { ids: [charlie.id, echo.id], totalCount: 2 });
    assert.deepEqual(await list({ filter: { lastName: { equalTo: null } } }).then((r) => r.totalCount), 3);
  });

  it('userGroupId equalTo, valueIn, all and notEqualTo', async () => {
    const order = { order: 'ASC', sort: 'email' };
    assert.deepEqual(await list({ filter: { userGroupId: { equalTo: g1.id } }, order }), { ids: [alpha.id, bravo.id, charlie.id], totalCount: 3 });
    assert.deepEqual(await list({ filter: { userGroupId: { valueIn: [g1.id, g2.id] } }, order }), {
      ids: [alpha.id, bravo.id, charlie.id, echo.id],
      totalCount: 4,
    });
    assert.deepEqual(await list({ filter: { userGroupId: { all: [g1.id, g2.id] } }, order }), { ids: [alpha.id], totalCount: 1 });
    assert.deepEqual(await list({ filter: { userGroupId: { notEqualTo: g1.id } }, order }), { ids: [echo.id], totalCount: 1 });
    assert.deepEqual(
      await list({ filter: { userGroupId: { notEqualTo: g1.id }, withDeactivated: { equalTo: true } }, order }),
      { ids: [delta.id, echo.id], totalCount: 2 },
    );
  });

  it('search { key: email } is a case-insensitive substring; its wildcards are literal', async () => {
    assert.deepEqual(await list({ search: { key: 'email', value: `${p}-ALPHA` } }), { ids: [alpha.id], totalCount: 1 });
    assert.deepEqual(await list({ search: { key: 'email', value: 'ch' } }).then((r) => r.ids), [echo.id, charlie.id]);
    assert.deepEqual(await list({ search: { key: 'email', value: '%' } }), { ids: [], totalCount: 0 });
    assert.deepEqual(await list({ search: { key: 'email', value: `${p}-_lpha` } }), { ids: [], totalCount: 0 });
  });

  it('filters combine with AND', async () => {
    const res = await list({ filter: { userGroupId: { equalTo: g2.id }, phone: { equalTo: null } } });
    assert.deepEqual(res, { ids: [alpha.id], totalCount: 1 });
  });
});
