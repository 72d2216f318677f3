/**
 * The top-level users list by keyset cursor (`after`, `pageInfo`), for every sort and direction including sorts
 * over NULLable columns and with ties; cursors refused when malformed, forged, or used with another query; the
 * `customData` filter (contains, hasKey); and substring search served by the trigram indexes of migration 0005.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startServer, type TestServer } from './helpers/server.ts';
import { addMembers, createGroup, createTenant, createUser, expectError, gql, gqlOk, unique, type CreatedUser } from './helpers/roster.ts';

const LIST = `query($filter: UserFilterArgType, $limit: Int, $offset: Int, $order: UserOrderArgType, $search: UserSearchArgType, $after: String) {
  users(filter: $filter, limit: $limit, offset: $offset, order: $order, search: $search, after: $after) {
    data { id } totalCount pageInfo { endCursor hasNextPage }
  }
}`;

interface ListPage {
  users: { data: { id: string }[]; totalCount: number; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
}

const SORTS = ['createdAt', 'updatedAt', 'email', 'firstName', 'lastName', 'locale', 'phone', 'timezone', 'active'] as const;

describe('users list: keyset cursors, customData filter, indexed search', () => {
  let server: TestServer;
  let tenantId: string;
  let p: string;
  let users: CreatedUser[];

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
    const noise = await createTenant(server);
    p = unique('ks').toLowerCase();
    users = [];
    // 23 users: NULLs in every nullable sort column, repeated values (ties broken by id), some deactivated.
    for (let i = 0; i < 23; i++) {
      users.push(
        await createUser(server, {
          tenantId,
          reference: `${p}-ref-${i}`,
          email: `${p}-${String.fromCharCode(97 + ((i * 7) % 23))}@example.test`,
          firstName: i % 4 === 0 ? null : `First${i % 5}`,
          lastName: i % 3 === 0 ? null : `Last${i % 2}`,
          phone: i % 2 === 0 ? null : `+1555000${String(i % 6).padStart(4, '0')}`,
          locale: i % 5 === 0 ? null : ['en', 'de', 'fr'][i % 3],
          timezone: i % 6 === 0 ? null : 'Europe/Berlin',
          active: i % 7 !== 3,
          customData: { plan: i % 2 === 0 ? 'pro' : 'free', seats: i % 3, nested: { region: i < 10 ? 'eu' : 'us' }, ...(i % 4 === 1 ? { trial: true } : {}) },
        }),
      );
    }
    // Another tenant's users with the same custom data must never appear.
    await createUser(server, { tenantId: noise, email: `${p}-noise@example.test`, customData: { plan: 'pro' } });
  });
  after(() => server.close());

  const list = (vars: Record<string, unknown> & { filter?: Record<string, unknown> }) =>
    gql<ListPage>(server, LIST, { ...vars, filter: { tenantId: { equalTo: tenantId }, ...vars.filter } });
  const listOk = async (vars: Record<string, unknown> & { filter?: Record<string, unknown> }) => {
    const res = await list(vars);
    assert.ok(!res.errors && res.data, JSON.stringify(res.errors));
    return res.data.users;
  };

  /** Every id by following cursors `limit` at a time; checks pageInfo on the way. */
  async function walk(vars: Record<string, unknown> & { filter?: Record<string, unknown> }, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const page = await listOk({ ...vars, limit, after: cursor });
      ids.push(...page.data.map((u) => u.id));
      if (!page.pageInfo.hasNextPage) return ids;
      assert.equal(page.data.length, limit, 'a page before the last is full');
      assert.ok(page.pageInfo.endCursor);
      cursor = page.pageInfo.endCursor;
    }
    throw new Error('paging did not end');
  }

  for (const sort of SORTS) {
    for (const order of ['ASC', 'DESC'] as const) {
      it(`cursor pages in ${sort} ${order} give the offset order, each user once`, async () => {
        const vars = { order: { sort, order }, filter: { withDeactivated: { equalTo: true } } };
        const whole = (await listOk({ ...vars, limit: 1000 })).data.map((u) => u.id);
        assert.equal(whole.length, 23);
        assert.deepEqual(await walk(vars, 4), whole);
        assert.deepEqual(await walk(vars, 1), whole);
      });
    }
  }

  it('the last page has no next page; an exact fit ends with an empty-free page', async () => {
    const vars = { order: { sort: 'email', order: 'ASC' } };
    const first = await listOk({ ...vars, limit: 10 });
    assert.equal(first.totalCount, 20); // 3 of 23 deactivated
    assert.equal(first.pageInfo.hasNextPage, true);
    const second = await listOk({ ...vars, limit: 10, after: first.pageInfo.endCursor });
    assert.equal(second.data.length, 10);
    assert.equal(second.pageInfo.hasNextPage, false);
    // A cursor past the end yields an empty page that keeps the cursor it was given.
    const past = await listOk({ ...vars, limit: 10, after: second.pageInfo.endCursor });
    assert.deepEqual(past.data, []);
    assert.equal(past.pageInfo.hasNextPage, false);
    assert.equal(past.pageInfo.endCursor, second.pageInfo.endCursor);
  });

  it('users created after a cursor was issued appear on later pages, none repeated', async () => {
    const vars = { order: { sort: 'createdAt', order: 'ASC' }, filter: { email: { iLike: `${p}-late%` } } };
    const early = [];
    for (let i = 0; i < 3; i++) early.push(await createUser(server, { tenantId, email: `${p}-late${i}@example.test` }));
    const first = await listOk({ ...vars, limit: 2 });
    const late = await createUser(server, { tenantId, email: `${p}-late9@example.test` });
    const rest = await listOk({ ...vars, limit: 100, after: first.pageInfo.endCursor });
    assert.deepEqual([...first.data, ...rest.data].map((u) => u.id), [...early.map((u) => u.id), late.id]);
  });

  it('a cursor used with another order, filter or search is refused, naming after', async () => {
    const page = await listOk({ order: { sort: 'email', order: 'ASC' }, limit: 2 });
    const cursor = page.pageInfo.endCursor;
    expectError(await list({ order: { sort: 'email', order: 'DESC' }, limit: 2, after: cursor }), 'BAD_USER_INPUT', 'after');
    expectError(await list({ order: { sort: 'firstName', order: 'ASC' }, limit: 2, after: cursor }), 'BAD_USER_INPUT', 'after');
    expectError(await list({ order: { sort: 'email', order: 'ASC' }, filter: { active: { equalTo: false } }, limit: 2, after: cursor }), 'BAD_USER_INPUT', 'after');
    expectError(await list({ order: { sort: 'email', order: 'ASC' }, search: { key: 'email', value: 'x' }, limit: 2, after: cursor }), 'BAD_USER_INPUT', 'after');
    // The limit may change between pages.
    assert.equal((await listOk({ order: { sort: 'email', order: 'ASC' }, limit: 5, after: cursor })).data.length, 5);
  });

  it('malformed, forged and oversize cursors, and after with offset, are 400s naming the field', async () => {
    const vars = { order: { sort: 'createdAt', order: 'DESC' }, limit: 2 };
    const { pageInfo } = await listOk(vars);
    const [digest, , id] = JSON.parse(Buffer.from(pageInfo.endCursor!, 'base64url').toString()) as [string, string, string];
    const forge = (value: unknown, forgedId: unknown = id) => Buffer.from(JSON.stringify([digest, value, forgedId])).toString('base64url');
    for (const bad of ['', 'not-a-cursor', '!!!', Buffer.from('[1,2]').toString('base64url'), forge('not a date'), forge('2026-01-01 00:00:00+00', 'x'), forge(5), 'a'.repeat(5000)]) {
      expectError(await list({ ...vars, after: bad }), 'BAD_USER_INPUT', 'after');
    }
    // Shaped like a timestamp but not one: refused by PostgreSQL's cast, still a 400.
    expectError(await list({ ...vars, after: forge('2026-13-45 99:00:00+00') }), 'BAD_USER_INPUT');
    expectError(await list({ ...vars, offset: 2, after: pageInfo.endCursor }), 'BAD_USER_INPUT', 'offset');
  });

  it('customData contains: top-level and nested values, combined with other filters, tenant-scoped', async () => {
    const ids = async (customData: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      (await listOk({ limit: 100, order: { sort: 'email', order: 'ASC' }, filter: { customData, withDeactivated: { equalTo: true }, reference: { like: `${p}-ref-%` }, ...extra } })).data
        .map((u) => u.id)
        .sort();
    const expected = (pred: (i: number) => boolean) => users.filter((_, i) => pred(i)).map((u) => u.id).sort();
    assert.deepEqual(await ids({ contains: { plan: 'pro' } }), expected((i) => i % 2 === 0));
    assert.deepEqual(await ids({ contains: { plan: 'pro', seats: 1 } }), expected((i) => i % 2 === 0 && i % 3 === 1));
    assert.deepEqual(await ids({ contains: { nested: { region: 'eu' } } }), expected((i) => i < 10));
    assert.deepEqual(await ids({ hasKey: 'trial' }), expected((i) => i % 4 === 1));
    assert.deepEqual(await ids({ hasKey: 'trial', contains: { seats: 0 } }), expected((i) => i % 4 === 1 && i % 3 === 0));
    assert.deepEqual(await ids({ contains: { plan: 'pro' } }, { active: { equalTo: false } }), expected((i) => i % 2 === 0 && i % 7 === 3));
    assert.deepEqual(await ids({ contains: { plan: 'enterprise' } }), []);
    assert.deepEqual(await ids({ hasKey: 'absent' }), []);
    // An empty object is contained in every object.
    assert.equal((await ids({ contains: {} })).length, 23);
  });

  it('customData filters apply to nested lists and to totalCount', async () => {
    const group = await createGroup(server, { tenantId });
    await addMembers(server, group.id, users.slice(0, 8).map((u) => u.id));
    const data = await gqlOk<{ userGroup: { users: { data: { id: string }[]; totalCount: number; pageInfo: null } } }>(
      server,
      `query($id: ID!, $f: UserFilterArgType) { userGroup(id: $id) { users(filter: $f, limit: 100) { data { id } totalCount pageInfo { endCursor } } } }`,
      { id: group.id, f: { customData: { contains: { plan: 'free' } } } },
    );
    // Members 0-7 that are on the free plan and active: 1, 5, 7 (3 is deactivated).
    assert.deepEqual(data.userGroup.users.data.map((u) => u.id).sort(), [users[1]!.id, users[5]!.id, users[7]!.id].sort());
    assert.equal(data.userGroup.users.totalCount, 3);
    assert.equal(data.userGroup.users.pageInfo, null);
  });

  it('bad customData filters are 400s naming the field', async () => {
    expectError(await list({ filter: { customData: { contains: [1, 2] } } }), 'BAD_USER_INPUT', 'contains');
    expectError(await list({ filter: { customData: { contains: 'pro' } } }), 'BAD_USER_INPUT', 'contains');
    expectError(await list({ filter: { customData: { hasKey: 'k'.repeat(300) } } }), 'BAD_USER_INPUT', 'filter.customData.hasKey');
    expectError(await list({ filter: { customData: { contains: { k: 'x'.repeat(70_000) } } } }), 'BAD_USER_INPUT', 'filter.customData.contains');
    expectError(await list({ filter: { customData: { unknown: 1 } } }), 'BAD_USER_INPUT', 'unknown');
  });

  it('substring search matches inside words, case-insensitively, also under three characters', async () => {
    const target = users[5]!;
    const emailPart = target.email.slice(p.length - 4, p.length + 3).toUpperCase();
    const found = await listOk({ limit: 100, filter: { search: emailPart } });
    assert.ok(found.data.some((u) => u.id === target.id));
    const short = await listOk({ limit: 100, filter: { search: 'IRST' } });
    assert.equal(short.totalCount, users.filter((_, i) => i % 4 !== 0 && i % 7 !== 3).length);
    const two = await listOk({ limit: 100, search: { key: 'lastName', value: 't1' } });
    assert.equal(two.totalCount, users.filter((_, i) => i % 3 !== 0 && i % 2 === 1 && i % 7 !== 3).length);
  });

  it('the trigram and customData indexes exist on this database (PGlite loads pg_trgm too)', async () => {
    const { rows } = await sql<{ indexname: string }>`
      select indexname from pg_indexes
      where indexname like '%\_trgm' or indexname in ('users__custom_data', 'users__tenant_id_covering') order by indexname`.execute(server.database.db);
    assert.deepEqual(rows.map((r) => r.indexname), [
      'user_groups__name_trgm',
      'user_groups__reference_trgm',
      'users__custom_data',
      'users__email_trgm',
      'users__first_name_trgm',
      'users__last_name_trgm',
      'users__phone_trgm',
      'users__reference_trgm',
      'users__tenant_id_covering',
    ]);
  });
});
