/** Queries sized beyond the configured limits are refused as client errors before anything runs. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'graphql';
import { cachedQueryCost, queryCost } from '../src/transports/graphql/limits.ts';
import { gql, startServer, type TestServer } from './helpers/server.ts';

describe('query size limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ ROSTER_QUERY_FIELDS_MAX: '20', ROSTER_QUERY_DEPTH_MAX: '4' });
  });
  after(() => server.close());

  it('refuses a document with more field selections than ROSTER_QUERY_FIELDS_MAX', async () => {
    const aliases = Array.from({ length: 25 }, (_, i) => `a${i}: users(limit: 1) { totalCount }`).join('\n');
    server.resetQueryCount();
    const res = await gql(server, `{ ${aliases} }`);
    assert.equal(res.status, 400);
    assert.equal(res.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
    assert.match(res.errors?.[0]?.message ?? '', /more than the limit of 20/);
    assert.equal(server.queryCount(), 0, 'nothing may run for a refused query');
  });

  it('accepts a document within the limit', async () => {
    const res = await gql(server, '{ users(limit: 1) { totalCount } }');
    assert.equal(res.status, 200);
    assert.equal(res.errors, undefined);
  });

  it('refuses a query nested deeper than ROSTER_QUERY_DEPTH_MAX', async () => {
    const res = await gql(server, '{ users { data { userGroups { data { users { data { userGroups { data { id } } } } } } } } }');
    assert.equal(res.status, 400);
    assert.equal(res.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
  });
});

describe('query cost limit', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ ROSTER_QUERY_COST_MAX: '10000' });
  });
  after(() => server.close());

  const nested = 'query($outer: Int, $inner: Int) { users(limit: $outer) { data { userGroups(limit: $inner) { data { id } } } } }';

  it('multiplies page sizes through nested lists, reading variables, and refuses before anything runs', async () => {
    server.resetQueryCount();
    const res = await gql(server, nested, { outer: 1000, inner: 100 });
    assert.equal(res.status, 400);
    assert.equal(res.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
    assert.match(res.errors?.[0]?.message ?? '', /^query: may return 101000 rows .*limit of 10000/);
    assert.equal(server.queryCount(), 0, 'nothing may run for a refused query');
  });

  it('accepts the same document with smaller pages (the cost is per request, not per cached document)', async () => {
    const res = await gql(server, nested, { outer: 50, inner: 50 });
    assert.equal(res.status, 200, JSON.stringify(res.errors));
  });

  it('counts lists without a page size at the default size, and lists inside fragments', async () => {
    // 100 users × 100 groups each (defaults) = 10,100 rows > 10,000.
    const res = await gql(server, 'query { users { data { ...F } } } fragment F on UserModel { userGroups { data { id } } }');
    assert.equal(res.status, 400);
    assert.match(res.errors?.[0]?.message ?? '', /may return 10100 rows/);
  });

  it('does not count lists left out by @include(if: false) or @skip(if: true), variable defaults included', async () => {
    const flagged =
      'query($limit: Int, $withGroups: Boolean = false, $skipRoles: Boolean = true) ' +
      '{ users(limit: $limit) { data { id userGroups @include(if: $withGroups) { data { id } } roles @skip(if: $skipRoles) { data { id } } } } }';
    const without = await gql(server, flagged, { limit: 1000 });
    assert.equal(without.status, 200, JSON.stringify(without.errors));
    const withGroups = await gql(server, flagged, { limit: 1000, withGroups: true });
    assert.match(withGroups.errors?.[0]?.message ?? '', /may return 101000 rows/);
    const withRoles = await gql(server, flagged, { limit: 1000, skipRoles: false });
    assert.match(withRoles.errors?.[0]?.message ?? '', /may return 101000 rows/);
    const literal = await gql(server, '{ users(limit: 1000) { data { id userGroups @include(if: true) { data { id } } } } }');
    assert.match(literal.errors?.[0]?.message ?? '', /may return 101000 rows/);
  });
});

describe('query cost, remembered per document', () => {
  it('a document whose cost reads no variable is costed once; one that reads them, every time', () => {
    const fixed = parse('query($r: String!) { users(filter: { reference: { equalTo: $r } }) { data { id userGroups(limit: 5) { data { id } } } } }');
    assert.equal(cachedQueryCost(fixed, { r: 'a' }, 100, 1e9), 600);
    assert.equal(cachedQueryCost(fixed, { r: 'b' }, 100, 1e9), 600);
    const paged = parse('query($n: Int, $g: Boolean = false) { users(limit: $n) { data { id userGroups @include(if: $g) { data { id } } } } }');
    assert.equal(cachedQueryCost(paged, { n: 10 }, 100, 1e9), 10);
    assert.equal(cachedQueryCost(paged, { n: 20 }, 100, 1e9), 20, 'the page size comes from this request');
    assert.equal(cachedQueryCost(paged, { n: 20, g: true }, 100, 1e9), 2020, 'so does the @include flag');
    assert.equal(queryCost(paged, { n: 20, g: true }, 100, 1e9), 2020);
  });
});

describe('query cost, variable defaults', () => {
  it('a variable left out counts its declared default, one passed as null the default page size, and neither is remembered', () => {
    const doc = parse('query($l: Int = 1000) { users(limit: $l) { data { userGroups(limit: $l) { data { id } } } } }');
    assert.equal(cachedQueryCost(doc, { l: 2 }, 100, 1e9), 6);
    assert.equal(cachedQueryCost(doc, undefined, 100, 1e9), 1_001_000);
    assert.equal(cachedQueryCost(doc, {}, 100, 1e9), 1_001_000);
    assert.equal(cachedQueryCost(doc, { l: null }, 100, 1e9), 10_100);
    assert.equal(cachedQueryCost(doc, { l: 2 }, 100, 1e9), 6);
    assert.equal(queryCost(parse('query($n: Int = 7) { auditEvents(first: $n) { data { id } } }'), undefined, 100, 1e9), 7);
  });
});
