/**
 * The compiled-statement cache (db/statement-cache.ts): for any statement, what it hands to the executor is exactly
 * what Kysely's own compile gives (text and parameters), whether the shape is new or was seen before; shapes it
 * cannot account for are compiled as usual; and it runs real statements on the database.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, type RawBuilder } from 'kysely';
import { cachedShapeCount, clearStatementCache, compileCached, executeCached, MAX_STEPS, shapeOf, stepCount } from '../src/db/statement-cache.ts';
import { userConditions } from '../src/repositories/users.ts';
import { and, orderBy, ref } from '../src/repositories/sql-conditions.ts';
import type { UserFilter } from '../src/domain/types.ts';
import { openDatabase } from '../src/db/database.ts';
import { createScratchDatabase } from './helpers/server.ts';

// Kysely's documented way to compile without a connection: nothing is executed through it.
const compiler = new Kysely<never>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});
const executor = compiler.getExecutor();

function assertSameAsKysely(builder: RawBuilder<unknown>): void {
  const expected = builder.compile(compiler);
  const actual = compileCached(builder, executor);
  assert.equal(actual.sql, expected.sql);
  assert.deepEqual(actual.parameters, expected.parameters);
}

const text = fc.string({ maxLength: 6 });
const uuid = fc.uuid();
const stringFilter = fc.record(
  {
    equalTo: fc.option(text),
    notEqualTo: fc.option(text),
    valueIn: fc.array(text, { maxLength: 3 }),
    valueNotIn: fc.array(text, { maxLength: 3 }),
    like: text,
    iLike: text,
  },
  { requiredKeys: [] },
);
const idFilter = fc.record({ equalTo: fc.option(uuid), valueIn: fc.array(uuid, { maxLength: 3 }) }, { requiredKeys: [] });
const dateFilter = fc.record(
  { lessThan: fc.date({ noInvalidDate: true }), moreThanEqual: fc.date({ noInvalidDate: true }), equalTo: fc.constant(null) },
  { requiredKeys: [] },
);
const userFilter = fc.record(
  {
    id: idFilter,
    reference: stringFilter,
    email: stringFilter,
    firstName: stringFilter,
    active: fc.record({ equalTo: fc.option(fc.boolean()) }, { requiredKeys: [] }),
    tenantId: idFilter,
    createdAt: dateFilter,
    userGroupId: fc.record({ equalTo: uuid, valueIn: fc.array(uuid, { minLength: 1, maxLength: 2 }), all: fc.array(uuid, { maxLength: 2 }) }, { requiredKeys: [] }),
    userGroupName: fc.record({ equalTo: text, all: fc.array(text, { maxLength: 2 }) }, { requiredKeys: [] }),
    roleKey: stringFilter,
    search: text,
    customData: fc.record({ contains: fc.dictionary(fc.string({ maxLength: 3 }), fc.integer()), hasKey: text }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<UserFilter>;

const listStatement = (filter: UserFilter, sortColumn: 'created_at' | 'email', order: 'ASC' | 'DESC', limit: number, offset: number, columns: string[]) =>
  sql`select ${sql.join(columns.map((c) => ref(`u.${c}`)))} from users u where ${and(userConditions(filter, undefined))}
    order by ${orderBy(ref(`u.${sortColumn}`), ref('u.id'), order)} limit ${limit} offset ${offset}`;

describe('compiled-statement cache', () => {
  // Each test starts from an empty cache, so one test's shapes cannot fill the cache before another's are cached.
  beforeEach(() => clearStatementCache());

  it('gives the text and parameters Kysely gives, for random user filters seen once or many times', () => {
    fc.assert(
      fc.property(
        userFilter,
        fc.constantFrom('created_at' as const, 'email' as const),
        fc.constantFrom('ASC' as const, 'DESC' as const),
        fc.nat(500),
        fc.nat(500),
        fc.subarray(['id', 'email', 'tenant_id', 'first_name'], { minLength: 1 }),
        (filter, sort, order, limit, offset, columns) => {
          // Twice: the first call may fill the cache, the second must read it and still agree.
          assertSameAsKysely(listStatement(filter, sort, order, limit, offset, columns));
          assertSameAsKysely(listStatement(filter, sort, order, limit + 1, offset, columns));
        },
      ),
      { numRuns: 150 },
    );
    assert.ok(cachedShapeCount() > 100, `shapes were cached: ${cachedShapeCount()}`);
    assert.ok(stepCount() < MAX_STEPS, `the cache never filled up (${stepCount()} of ${MAX_STEPS} steps): every run went through it`);
  });

  it('one shape with other values reuses the text; another shape gets its own', () => {
    const byRef = (r: string) => sql`select * from users u where ${and(userConditions({ reference: { equalTo: r } }, undefined))}`;
    const a = compileCached(byRef('a'), executor);
    const b = compileCached(byRef('b'), executor);
    assert.equal(a.sql, b.sql);
    assert.deepEqual(b.parameters, ['b']);
    assert.equal(shapeOf(byRef('a').toOperationNode())?.key, shapeOf(byRef('zzz').toOperationNode())?.key);
    const isNull = compileCached(sql`select * from users u where ${and(userConditions({ reference: { equalTo: null } }, undefined))}`, executor);
    assert.match(isNull.sql, /is null/);
    assert.notEqual(isNull.sql, a.sql);
  });

  it('statements that differ only in an operator or a column are told apart', () => {
    const one: UserFilter[] = [
      { reference: { equalTo: 'a' } },
      { reference: { notEqualTo: 'a' } },
      { reference: { like: 'a' } },
      { reference: { iLike: 'a' } },
      { email: { equalTo: 'a' } },
      { email: { like: 'a' } },
      { id: { equalTo: '00000000-0000-7000-8000-000000000001' } },
      { tenantId: { equalTo: '00000000-0000-7000-8000-000000000001' } },
      { userGroupId: { equalTo: '00000000-0000-7000-8000-000000000001' } },
      { userGroupId: { notEqualTo: '00000000-0000-7000-8000-000000000001' } },
      { search: 'a' },
    ];
    // One template, a value and a column in either order: the same values and columns, different texts.
    const pair = (a: unknown, b: unknown) => sql`select ${a}, ${b}`;
    for (let round = 0; round < 2; round++) {
      assertSameAsKysely(pair(1, ref('u.id')));
      assertSameAsKysely(pair(ref('u.id'), 1));
      assertSameAsKysely(pair(ref('u.id'), ref('u.id')));
      assertSameAsKysely(pair(1, 1));
    }
    for (let round = 0; round < 2; round++) {
      for (const filter of one) {
        for (const order of ['ASC', 'DESC'] as const) assertSameAsKysely(listStatement(filter, 'email', order, 10, 0, ['id']));
      }
    }
  });

  it('raw text and inlined literals are part of the shape, not parameters', () => {
    for (const op of ['<', '>=']) assertSameAsKysely(sql`select 1 where 2 ${sql.raw(op)} ${3}`);
    for (const lit of [1, 2, 'x', "it's", true, null]) assertSameAsKysely(sql`select ${sql.lit(lit)} as v, ${lit} as p`);
    assert.notEqual(compileCached(sql`select ${sql.lit(1)}`, executor).sql, compileCached(sql`select ${sql.lit(2)}`, executor).sql);
  });

  it('compiles what it cannot walk: inlined dates, embedded query builders with values', () => {
    const day = (d: string) => sql`select ${sql.lit(new Date(d))} as d`;
    assert.equal(shapeOf(day('2026-01-01T00:00:00.001Z').toOperationNode()), undefined);
    assertSameAsKysely(day('2026-01-01T00:00:00.001Z'));
    assertSameAsKysely(day('2026-01-01T00:00:00.002Z'));
    const sub = (n: number) => sql`select exists (${compiler.selectFrom('users' as never).select(sql`1`.as('x')).where(sql`id`, '=', n)}) as e, ${n} as n`;
    assert.equal(shapeOf(sub(1).toOperationNode()), undefined);
    assertSameAsKysely(sub(1));
    assertSameAsKysely(sub(2));
  });

  it('runs on the database: the same shape with other values returns their rows', async () => {
    const adminUrl = process.env.DATABASE_URL;
    const scratch = adminUrl ? await createScratchDatabase(adminUrl, 'roster_stmt') : undefined;
    const handle = await openDatabase(scratch ? { databaseUrl: scratch.url, dataDir: 'unused' } : { dataDir: 'memory://' });
    try {
      const pick = (n: number) => executeCached(sql<{ n: number }>`select x::int as n from generate_series(1, 5) x where x = ${n}`, handle.db);
      for (const n of [1, 2, 3, 4, 5, 2]) assert.deepEqual((await pick(n)).rows, [{ n }]);
      assert.deepEqual((await pick(9)).rows, []);
    } finally {
      await handle.close();
      await scratch?.drop();
    }
  });
});
