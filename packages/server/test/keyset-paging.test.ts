/**
 * userGroupMembers(groupId, relation, first, after): keyset pages over a group's participants or managers in the
 * order they were added; every member exactly once; a cursor not issued by the API is BAD_USER_INPUT.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { addManagers, addMembers, createGroup, createTenant, createUsers, expectError, gql, gqlOk, type CreatedGroup, type CreatedUser } from './helpers/roster.ts';

const PAGE = `query($g: ID!, $rel: GroupRelation, $first: Int, $after: String) {
  userGroupMembers(groupId: $g, relation: $rel, first: $first, after: $after) {
    edges { node { id } addedAt cursor }
    pageInfo { endCursor hasNextPage }
  }
}`;

interface Page {
  userGroupMembers: {
    edges: { node: { id: string }; addedAt: string; cursor: string }[];
    pageInfo: { endCursor: string | null; hasNextPage: boolean };
  };
}

describe('keyset paging of group members', () => {
  let server: TestServer;
  let group: CreatedGroup;
  let users: CreatedUser[];
  /** Member ids in the order they were added. */
  let addedOrder: string[];

  before(async () => {
    server = await startServer();
    const tenantId = await createTenant(server);
    users = await createUsers(server, 250, tenantId);
    group = await createGroup(server, { tenantId });
    // Five calls, newest users first, so the added order differs from the creation (and id) order. Within one
    // call every row gets the same added_at, and the user id breaks the tie.
    addedOrder = [];
    for (let batch = 4; batch >= 0; batch--) {
      const ids = users.slice(batch * 50, batch * 50 + 50).map((u) => u.id);
      await addMembers(server, group.id, ids);
      addedOrder.push(...[...ids].sort());
    }
  });
  after(() => server.close());

  async function walk(relation: 'PARTICIPANTS' | 'MANAGERS', first: number, groupId = group.id): Promise<{ ids: string[]; pages: Page['userGroupMembers'][] }> {
    const ids: string[] = [];
    const pages: Page['userGroupMembers'][] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const data: Page = await gqlOk<Page>(server, PAGE, { g: groupId, rel: relation, first, after });
      const page = data.userGroupMembers;
      pages.push(page);
      ids.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) return { ids, pages };
      assert.equal(page.pageInfo.endCursor, page.edges.at(-1)?.cursor);
      after = page.pageInfo.endCursor;
    }
    throw new Error('paging did not end');
  }

  it('walks a 250-member group with first: 100: each member once, in added order', async () => {
    const { ids, pages } = await walk('PARTICIPANTS', 100);
    assert.deepEqual(pages.map((p) => p.edges.length), [100, 100, 50]);
    assert.deepEqual(pages.map((p) => p.pageInfo.hasNextPage), [true, true, false]);
    assert.equal(new Set(ids).size, 250);
    assert.deepEqual(ids, addedOrder);
    const addedAt = pages.flatMap((p) => p.edges.map((e) => Date.parse(e.addedAt)));
    for (let i = 1; i < addedAt.length; i++) assert.ok(addedAt[i]! >= addedAt[i - 1]!, 'addedAt must not decrease');
    assert.ok(addedAt[249]! > addedAt[0]!, 'later batches were added later');
  });

  it('other page sizes give the same sequence; a page ending exactly at the end has no next page', async () => {
    assert.deepEqual((await walk('PARTICIPANTS', 7)).ids, addedOrder);
    const exact = await walk('PARTICIPANTS', 125);
    assert.deepEqual(exact.pages.map((p) => [p.edges.length, p.pageInfo.hasNextPage]), [[125, true], [125, false]]);
  });

  it('members added after a cursor was issued appear on later pages, none repeated', async () => {
    const tenantGroup = await createGroup(server, { tenantId: users[0]!.tenantId });
    await addMembers(server, tenantGroup.id, users.slice(0, 3).map((u) => u.id));
    const first = await gqlOk<Page>(server, PAGE, { g: tenantGroup.id, first: 3 });
    assert.equal(first.userGroupMembers.pageInfo.hasNextPage, false);
    await addMembers(server, tenantGroup.id, [users[3]!.id]);
    const next = await gqlOk<Page>(server, PAGE, { g: tenantGroup.id, first: 3, after: first.userGroupMembers.pageInfo.endCursor });
    assert.deepEqual(next.userGroupMembers.edges.map((e) => e.node.id), [users[3]!.id]);
  });

  it('relation: MANAGERS pages the managers only', async () => {
    const managed = await createGroup(server, { tenantId: users[0]!.tenantId });
    await addMembers(server, managed.id, [users[10]!.id]);
    await addManagers(server, managed.id, [users[20]!.id]);
    await addManagers(server, managed.id, [users[21]!.id]);
    const { ids } = await walk('MANAGERS', 1, managed.id);
    assert.deepEqual(ids, [users[20]!.id, users[21]!.id]);
    assert.deepEqual((await walk('PARTICIPANTS', 10, managed.id)).ids, [users[10]!.id]);
  });

  it('an empty group has no edges and no end cursor', async () => {
    const empty = await createGroup(server, { tenantId: users[0]!.tenantId });
    const data = await gqlOk<Page>(server, PAGE, { g: empty.id, first: 10 });
    assert.deepEqual(data.userGroupMembers, { edges: [], pageInfo: { endCursor: null, hasNextPage: false } });
  });

  it('a garbage after cursor is BAD_USER_INPUT naming after', async () => {
    const valid = (await gqlOk<Page>(server, PAGE, { g: group.id, first: 1 })).userGroupMembers.pageInfo.endCursor!;
    const forged = Buffer.from(JSON.stringify(['not a time', users[0]!.id])).toString('base64url');
    const injected = Buffer.from(JSON.stringify(["2024-01-01 00:00:00+00'; drop table users; --", users[0]!.id])).toString('base64url');
    for (const after of ['garbage', '!!!', '', forged, injected, valid.slice(0, -3), Buffer.from('{}').toString('base64url')]) {
      const res = await gql(server, PAGE, { g: group.id, first: 10, after });
      expectError(res, 'BAD_USER_INPUT', 'after');
    }
    // The group is intact.
    assert.equal((await walk('PARTICIPANTS', 250)).ids.length, 250);
  });

  it('answers every selected member field (fragments, aliases, a nested tenant) now that only those are read, and each edge cursor pages on', async () => {
    const member = users[7]!;
    const narrow = await gqlOk<{ userGroupMembers: { edges: { node: { id: string; email: string } }[] } }>(
      server,
      'query($g: ID!) { userGroupMembers(groupId: $g, first: 250) { edges { node { id email } } } }',
      { g: group.id },
    );
    const wide = await gqlOk<{ userGroupMembers: { edges: { cursor: string; node: Record<string, unknown> }[] } }>(
      server,
      `query($g: ID!) { userGroupMembers(groupId: $g, first: 250) { edges { cursor node { ...F mail: email tenant { id } } } } }
       fragment F on UserModel { id reference customData createdAt active }`,
      { g: group.id },
    );
    const fromNarrow = narrow.userGroupMembers.edges.find((e) => e.node.id === member.id)!;
    assert.equal(fromNarrow.node.email, member.email);
    const fromWide = wide.userGroupMembers.edges.find((e) => e.node.id === member.id)!;
    assert.equal(fromWide.node.mail, member.email);
    assert.equal(fromWide.node.reference, member.reference);
    assert.deepEqual(fromWide.node.customData, {});
    assert.equal(fromWide.node.active, true);
    assert.notEqual(fromWide.node.createdAt, new Date(0).toISOString(), 'createdAt was fetched, not left at its neutral value');
    assert.deepEqual(fromWide.node.tenant, { id: member.tenantId });
    // The edge's cursor (encoded only when selected) starts the page right after that member.
    const next = await gqlOk<Page>(server, PAGE, { g: group.id, first: 1, after: fromWide.cursor });
    const at = addedOrder.indexOf(member.id);
    assert.deepEqual(next.userGroupMembers.edges.map((e) => e.node.id), [addedOrder[at + 1]]);
  });

  it('first outside 1..1000 is BAD_USER_INPUT; an unknown group NOT_FOUND', async () => {
    for (const first of [0, -1, 1001]) expectError(await gql(server, PAGE, { g: group.id, first }), 'BAD_USER_INPUT', 'first');
    expectError(await gql(server, PAGE, { g: '00000000-0000-4000-8000-000000000000', first: 1 }), 'NOT_FOUND', 'groupId');
  });
});
