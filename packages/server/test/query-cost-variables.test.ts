/**
 * The query cost (rows a query may return) counts page sizes however they reach execution: literals, variables
 * passed, variables left out (their declared default), explicit nulls (the server's default page size), through
 * aliases, fragments and inline fragments. Each case: refused over the limit, accepted just under it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gql, gqlOk, startServer, unique, type GraphqlResponse, type TestServer } from './helpers/server.ts';

// ROSTER_QUERY_COST_MAX 10,000; the default page size is 100, the largest 1,000.
const MAX = 10_000;

function assertOverCost(res: GraphqlResponse, rows: number): void {
  assert.equal(res.status, 400, JSON.stringify(res));
  assert.equal(res.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
  assert.equal(res.errors?.[0]?.extensions.field, 'query');
  assert.match(res.errors?.[0]?.message ?? '', new RegExp(`^query: may return ${rows} rows .*limit of ${MAX}`));
}

function assertRuns(res: GraphqlResponse): void {
  assert.equal(res.status, 200, JSON.stringify(res.errors));
  assert.equal(res.errors, undefined);
}

describe('query cost: page sizes from variables and their defaults', () => {
  let server: TestServer;
  let groupId: string;
  before(async () => {
    server = await startServer({ ROSTER_QUERY_COST_MAX: String(MAX) });
    const created = await gqlOk<{ createUserGroup: { id: string } }>(server, 'mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id } }', {
      g: { name: unique('cost'), reference: unique('cost') },
    });
    groupId = created.createUserGroup.id;
  });
  after(() => server.close());

  it('a variable left out counts its declared default (the reported bypass), and nothing runs', async () => {
    const over = 'query($l: Int = 1000) { users(limit: $l) { data { userGroups(limit: $l) { data { id } } } } }';
    server.resetQueryCount();
    assertOverCost(await gql(server, over), 1_001_000);
    assert.equal(server.queryCount(), 0, 'nothing may run for a refused query');
    assertOverCost(await gql(server, over, {}), 1_001_000);
    // 100 + 100 × 99 = 10,000: at the limit.
    assertRuns(await gql(server, 'query($o: Int = 100, $i: Int = 99) { users(limit: $o) { data { userGroups(limit: $i) { data { id } } } } }'));
  });

  it('a variable passed overrides its default, both ways', async () => {
    const doc = 'query($o: Int = 1, $i: Int = 1) { users(limit: $o) { data { userGroups(limit: $i) { data { id } } } } }';
    assertOverCost(await gql(server, doc, { o: 100, i: 100 }), 10_100);
    assertRuns(await gql(server, doc, { o: 100, i: 99 }));
    const big = 'query($o: Int = 1000, $i: Int = 1000) { users(limit: $o) { data { userGroups(limit: $i) { data { id } } } } }';
    assertRuns(await gql(server, big, { o: 100, i: 99 }));
  });

  it('a variable passed as null pages by the server default (as the resolvers do), not by its declared default', async () => {
    const doc = 'query($o: Int = 1000, $i: Int = 1000) { users(limit: $o) { data { userGroups(limit: $i) { data { id } } } } }';
    // null → 100 each: 100 + 10,000.
    assertOverCost(await gql(server, doc, { o: null, i: null }), 10_100);
    // null → 100, then 99: 100 + 9,900.
    assertRuns(await gql(server, doc, { o: null, i: 99 }));
    assertRuns(await gql(server, 'query { users(limit: null) { data { userGroups(limit: 99) { data { id } } } } }'));
  });

  it('the cost of a document read from the cache still follows each request: given, then left out, then given', async () => {
    const doc = 'query($l: Int = 1000) { users(limit: $l) { data { userGroups(limit: $l) { data { id } } } } }';
    assertRuns(await gql(server, doc, { l: 5 }));
    assertRuns(await gql(server, doc, { l: 5 }));
    assertOverCost(await gql(server, doc), 1_001_000);
    assertRuns(await gql(server, doc, { l: 5 }));
    assertOverCost(await gql(server, doc, { l: 1000 }), 1_001_000);
  });

  it('`first` (keyset lists) counts its variable default too, nested lists included', async () => {
    const doc = (n: number) =>
      `query($g: ID!, $n: Int = ${n}) { userGroupMembers(groupId: $g, first: $n) { edges { node { userGroups(limit: $n) { data { id } } } } } }`;
    // 1,000 + 1,000 × 1,000.
    assertOverCost(await gql(server, doc(1000), { g: groupId }), 1_001_000);
    // 99 + 99 × 99 = 9,900.
    assertRuns(await gql(server, doc(99), { g: groupId }));
    const audit = (n: number) => `query($n: Int = 1000) { ${Array.from({ length: n }, (_, i) => `a${i}: auditEvents(first: $n) { data { id } }`).join(' ')} }`;
    assertOverCost(await gql(server, audit(11)), 11_000);
    assertRuns(await gql(server, audit(10)));
  });

  it('aliases: every alias of a list counts, with the variable default', async () => {
    const doc = (n: number) => `query($l: Int = 1000) { ${Array.from({ length: n }, (_, i) => `u${i}: users(limit: $l) { totalCount }`).join(' ')} }`;
    assertOverCost(await gql(server, doc(11)), 11_000);
    assertRuns(await gql(server, doc(10)));
  });

  it('named fragments: a variable default used inside a fragment', async () => {
    const doc = (inner: number) =>
      `query($o: Int = 100, $i: Int = ${inner}) { users(limit: $o) { data { ...G } } } fragment G on UserModel { userGroups(limit: $i) { data { id } } }`;
    assertOverCost(await gql(server, doc(100)), 10_100);
    assertRuns(await gql(server, doc(99)));
  });

  it('inline fragments: a variable default used inside an inline fragment', async () => {
    const doc = (inner: number) =>
      `query($o: Int = 100, $i: Int = ${inner}) { users(limit: $o) { data { ... on UserModel { roles(limit: $i) { data { id } } } } } }`;
    assertOverCost(await gql(server, doc(100)), 10_100);
    assertRuns(await gql(server, doc(99)));
  });

  it('lists without a page size count at the default size inside a list paged by a variable default', async () => {
    // 100 (default $o) + 100 × 100 (managers, no limit).
    const over = 'query($o: Int = 100) { userGroups(limit: $o) { data { managers { data { id } } } } }';
    assertOverCost(await gql(server, over), 10_100);
    // 99 + 99 × 100 = 9,999.
    assertRuns(await gql(server, 'query($o: Int = 99) { userGroups(limit: $o) { data { managers { data { id } } } } }'));
  });

  it('each operation of a document reads its own variable defaults (@include flags and page sizes)', async () => {
    // B's `$g = false` must not leave out A's selection.
    const doc = (l: number) =>
      `query A($g: Boolean = true, $l: Int = ${l}) { users(limit: $l) { data { userGroups @include(if: $g) { data { id } } } } } ` +
      'query B($g: Boolean = false, $l: Int = 1) { users(limit: $l) { data { userGroups @include(if: $g) { data { id } } } } }';
    const send = async (query: string): Promise<GraphqlResponse> => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
        body: JSON.stringify({ query, operationName: 'A' }),
      });
      return { status: res.status, ...((await res.json()) as Omit<GraphqlResponse, 'status'>) };
    };
    // A: 100 + 10,000 (counting stops there, over the limit).
    assertOverCost(await send(doc(100)), 10_100);
    // A: 98 + 9,800; B: 1.
    assertRuns(await send(doc(98)));
  });

  it('a variable default above ROSTER_LIST_LIMIT_MAX, or negative, is refused (by the cost or by the list)', async () => {
    // Within the cost, over the list cap: the list refuses it.
    const capped = await gql(server, 'query($l: Int = 5000) { users(limit: $l) { totalCount } }');
    assert.equal(capped.status, 400);
    assert.equal(capped.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
    assert.equal(capped.errors?.[0]?.extensions.field, 'limit');
    // Over the cost: refused before anything runs.
    assertOverCost(await gql(server, 'query($l: Int = 20000) { users(limit: $l) { totalCount } }'), 20_000);
    const negative = await gql(server, 'query($l: Int = -1) { users(limit: $l) { totalCount } }');
    assert.equal(negative.status, 400);
    assert.equal(negative.errors?.[0]?.extensions.field, 'limit');
    const negativeFirst = await gql(server, 'query($n: Int = -1) { auditEvents(first: $n) { data { id } } }');
    assert.equal(negativeFirst.status, 400);
    assert.equal(negativeFirst.errors?.[0]?.extensions.field, 'first');
    // A negative page cannot lower the count of the lists around it: the nested list counts at the default size.
    assertOverCost(await gql(server, 'query($l: Int = 1000, $n: Int = -1) { users(limit: $l) { data { userGroups(limit: $n) { data { id } } } } }'), 101_000);
  });
});
