/**
 * Every bad input is a 4xx: forged keyset cursors and dates outside what PostgreSQL accepts are refused with 400
 * BAD_USER_INPUT naming the input, before any SQL, on GraphQL and REST; and whatever the database still refuses is
 * mapped by SQLSTATE class (`mapDatabaseError`): data exceptions are 400s, a statement timeout is 503
 * STATEMENT_TIMEOUT, transient database trouble 503 SERVICE_UNAVAILABLE, our own faults (42, XX) stay masked 500s.
 *
 * Real requests to a real server, on PGlite, or on PostgreSQL with DATABASE_URL (the lock and cancel cases need
 * PostgreSQL and are skipped on PGlite).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { AppError, ErrorCodes } from '../src/errors.ts';
import { mapDatabaseError } from '../src/db/errors.ts';
import { inTransaction, run } from '../src/db/transaction.ts';
import * as v from '../src/services/validate.ts';
import { rest, startServer, type TestServer } from './helpers/server.ts';
import { addMembers, createGroup, createTenant, createUsers, gql, gqlOk, type CreatedGroup, type CreatedUser } from './helpers/roster.ts';

const ON_POSTGRES = !!process.env.DATABASE_URL;

const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const decode = (cursor: string): unknown[] => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];

type Gql = Awaited<ReturnType<typeof gql>>;

/** A 400 BAD_USER_INPUT whose `field` is `field`, with nothing answered. */
function assertGqlBadInput(res: Gql, field: string, what: string): void {
  const error = res.errors?.[0];
  assert.equal(res.status, 400, `${what}: status ${res.status}, ${JSON.stringify(res.errors)}`);
  assert.equal(error?.extensions.code, 'BAD_USER_INPUT', `${what}: ${JSON.stringify(res.errors)}`);
  assert.equal(error?.extensions.field, field, `${what}: field of ${JSON.stringify(res.errors)}`);
  assert.deepEqual(error?.extensions.response, { statusCode: 400, errorCode: 'BAD_USER_INPUT', message: error?.message });
}

interface RestError {
  debugIdentifier: string;
  errorMessages: { errorCode: string; message: string; errorParameters: { name: string; value: string }[] }[];
}

function assertRestBadInput(res: { status: number; body: unknown }, field: string, what: string): void {
  const body = res.body as RestError;
  assert.equal(res.status, 400, `${what}: status ${res.status}, ${JSON.stringify(body)}`);
  const error = body.errorMessages[0];
  assert.equal(error?.errorCode, 'BAD_USER_INPUT', `${what}: ${JSON.stringify(body)}`);
  assert.equal(error?.errorParameters.find((p) => p.name === 'field')?.value, field, `${what}: field of ${JSON.stringify(body)}`);
  assert.ok(error?.message.startsWith(`${field}:`), `${what}: message ${JSON.stringify(error?.message)} names ${field}`);
}

const USERS = `query($after: String, $order: UserOrderArgType, $limit: Int) {
  users(after: $after, order: $order, limit: $limit) { data { id } pageInfo { endCursor hasNextPage } }
}`;
const MEMBERS = `query($g: ID!, $after: String) { userGroupMembers(groupId: $g, first: 2, after: $after) { edges { node { id } } pageInfo { endCursor } } }`;
const AUDIT = `query($after: String) { auditEvents(first: 2, after: $after) { endCursor } }`;

/** Timestamps PostgreSQL refuses (or that no real cursor holds), as a forged cursor would carry them. */
const BAD_TIMESTAMPS = [
  '2020-01-01 00:00:00+99:99',
  '2020-01-01 00:00:00+16:00',
  '2020-01-01 00:00:00-16',
  '2020-01-01 00:00:00+15:60',
  '+275760-09-13 00:00:00+00',
  '275760-09-13 00:00:00+00',
  '0000-01-01 00:00:00+00',
  '2020-02-30 00:00:00+00',
  '2021-02-29 00:00:00+00',
  '2020-13-01 00:00:00+00',
  '2020-01-01 25:00:00+00',
  '2020-01-01 23:60:00+00',
  '2020-01-01 00:00:00 BC',
  'infinity',
  'yesterday',
  '',
];

/** Date-times outside years 0001-9999 (UTC), or no date-time at all, as a client may send them. */
const BAD_DATE_TIMES = [
  '+275760-09-13',
  '+275760-09-13T00:00:00Z',
  '275760-09-13T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00+01:00',
  '9999-12-31T23:59:59-14:00',
  '2020-01-01T00:00:00+99:99',
  '2021-02-29T00:00:00Z',
  'not a date',
];

describe('every bad input is a 4xx', () => {
  let server: TestServer;
  let tenantId: string;
  let users: CreatedUser[];
  let group: CreatedGroup;
  /** A real cursor of each kind, to forge others from. */
  let usersByCreatedAt: string;
  let usersByEmail: string;
  let usersByActive: string;
  let membersCursor: string;

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
    users = await createUsers(server, 4, tenantId);
    group = await createGroup(server, { tenantId });
    await addMembers(server, group.id, users.map((u) => u.id));
    const cursorOf = async (sort: string) => {
      const data = await gqlOk<{ users: { pageInfo: { endCursor: string } } }>(server, USERS, { order: { sort, order: 'ASC' }, limit: 1 });
      return data.users.pageInfo.endCursor;
    };
    usersByCreatedAt = await cursorOf('createdAt');
    usersByEmail = await cursorOf('email');
    usersByActive = await cursorOf('active');
    membersCursor = (await gqlOk<{ userGroupMembers: { pageInfo: { endCursor: string } } }>(server, MEMBERS, { g: group.id })).userGroupMembers.pageInfo.endCursor;
  });
  after(() => server.close());

  describe('forged cursors', () => {
    it('users(after): a cursor of the real list whose timestamp PostgreSQL refuses is 400 on `after`', async () => {
      const [digest, value, id] = decode(usersByCreatedAt);
      assert.equal(typeof value, 'string');
      // The real cursor still works: the refusals below are about the forged value only.
      assert.equal((await gql(server, USERS, { after: usersByCreatedAt, order: { sort: 'createdAt', order: 'ASC' } })).status, 200);
      for (const bad of BAD_TIMESTAMPS) {
        const res = await gql(server, USERS, { after: encode([digest, bad, id]), order: { sort: 'createdAt', order: 'ASC' } });
        assertGqlBadInput(res, 'after', `users cursor with ${JSON.stringify(bad)}`);
      }
    });

    it('users(after): garbage, wrong types, a NUL in a text value, a non-boolean for a boolean sort are 400 on `after`', async () => {
      const [digest, , id] = decode(usersByCreatedAt);
      const [emailDigest] = decode(usersByEmail);
      const [activeDigest] = decode(usersByActive);
      const cases: [string, string, string][] = [
        ['garbage', '%%%not base64%%%', 'createdAt'],
        ['not JSON', Buffer.from('{[', 'utf8').toString('base64url'), 'createdAt'],
        ['an object', encode({ digest, value: '2020-01-01 00:00:00+00', id }), 'createdAt'],
        ['two entries', encode([digest, '2020-01-01 00:00:00+00']), 'createdAt'],
        ['a number as value', encode([digest, 1_700_000_000, id]), 'createdAt'],
        ['a number as id', encode([digest, '2020-01-01 00:00:00+00', 42]), 'createdAt'],
        ['an id that is no UUID', encode([digest, '2020-01-01 00:00:00+00', "1' or 1=1 --"]), 'createdAt'],
        ['another list', encode(['AAAAAAAAAAAA', '2020-01-01 00:00:00+00', id]), 'createdAt'],
        ['a NUL in an email', encode([emailDigest, 'a\u0000b@example.test', id]), 'email'],
        ['an over-long value', encode([emailDigest, 'x'.repeat(1500), id]), 'email'],
        ['maybe as a boolean', encode([activeDigest, 'maybe', id]), 'active'],
      ];
      for (const [what, after, sort] of cases) {
        const res = await gql(server, USERS, { after, order: { sort, order: 'ASC' } });
        assertGqlBadInput(res, 'after', `users cursor: ${what}`);
      }
      const wrongType = await gql(server, USERS, { after: 12345 });
      assertGqlBadInput(wrongType, 'after', 'users cursor: a number');
    });

    it('userGroupMembers(after): forged added-at timestamps, garbage and wrong types are 400 on `after`', async () => {
      const [addedAt, userId] = decode(membersCursor);
      assert.equal(typeof addedAt, 'string');
      assert.equal((await gql(server, MEMBERS, { g: group.id, after: membersCursor })).status, 200);
      for (const bad of BAD_TIMESTAMPS) {
        assertGqlBadInput(await gql(server, MEMBERS, { g: group.id, after: encode([bad, userId]) }), 'after', `members cursor with ${JSON.stringify(bad)}`);
      }
      for (const [what, after] of [
        ['garbage', '!!!'],
        ['a number as time', encode([1, userId])],
        ['three entries', encode([addedAt, userId, userId])],
        ['an id that is no UUID', encode([addedAt, 'x'])],
      ] as const) {
        assertGqlBadInput(await gql(server, MEMBERS, { g: group.id, after }), 'after', `members cursor: ${what}`);
      }
    });

    it('auditEvents(after) and REST audit-events?after=: garbage is 400 on `after`', async () => {
      assertGqlBadInput(await gql(server, AUDIT, { after: encode(['2020-01-01 00:00:00+99:99']) }), 'after', 'audit cursor');
      for (const after of ['garbage', encode('+275760-09-13'), encode(['2020-01-01 00:00:00+99:99', users[0]!.id])]) {
        const res = await rest(server, 'GET', `/v3/companies/${tenantId}/audit-events?after=${encodeURIComponent(after)}`);
        assertRestBadInput(res, 'after', `REST audit cursor ${after}`);
      }
    });
  });

  describe('dates outside years 0001-9999', () => {
    it('REST members filters: addedAfter and addedBefore out of range or malformed are 400 naming the filter', async () => {
      const path = `/v3/companies/${tenantId}/user-groups/${group.id}/members`;
      for (const bad of BAD_DATE_TIMES) {
        for (const key of ['addedAfter', 'addedBefore']) {
          const res = await rest(server, 'POST', path, { pagination: { offset: 0, limit: 10 }, filters: [{}, { [key]: { iso8601: bad } }] });
          assertRestBadInput(res, `filters.1.${key}`, `${key} ${bad}`);
        }
      }
      // The bounds themselves are accepted.
      for (const ok of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2024-02-29']) {
        const res = await rest<{ members: unknown[] }>(server, 'POST', path, { pagination: { offset: 0, limit: 10 }, filters: [{ addedAfter: { iso8601: ok } }] });
        assert.equal(res.status, 200, `${ok}: ${JSON.stringify(res.body)}`);
      }
    });

    it('REST audit-events occurredAfter/occurredBefore and api-keys expiresAt out of range are 400 naming the parameter', async () => {
      for (const bad of BAD_DATE_TIMES) {
        for (const key of ['occurredAfter', 'occurredBefore']) {
          const res = await rest(server, 'GET', `/v3/companies/${tenantId}/audit-events?${key}=${encodeURIComponent(bad)}`);
          assertRestBadInput(res, key, `${key} ${bad}`);
        }
        assertRestBadInput(await rest(server, 'POST', '/v3/api-keys', { name: 'never', expiresAt: bad }), 'expiresAt', `expiresAt ${bad}`);
      }
    });

    it('GraphQL Date filters, as variables and as literals: out of range is 400 naming the argument', async () => {
      const queries: [string, string][] = [
        ['users', `query($filter: UserFilterArgType) { users(filter: $filter) { totalCount } }`],
        ['userGroups', `query($filter: UserGroupFilterArgType) { userGroups(filter: $filter) { totalCount } }`],
      ];
      const inRange = ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z'];
      for (const [name, query] of queries) {
        for (const op of ['moreThan', 'lessThanEqual', 'equalTo']) {
          for (const bad of BAD_DATE_TIMES) {
            const variables = { filter: { createdAt: { [op]: bad } } };
            assertGqlBadInput(await gql(server, query, variables), `filter.createdAt.${op}`, `${name} variable ${op} ${bad}`);
            const literal = `{ ${name}(filter: { updatedAt: { ${op}: ${JSON.stringify(bad)} } }) { totalCount } }`;
            assertGqlBadInput(await gql(server, literal), `filter.updatedAt.${op}`, `${name} literal ${op} ${bad}`);
          }
          for (const ok of inRange) assert.equal((await gql(server, query, { filter: { createdAt: { [op]: ok } } })).status, 200, `${name} ${op} ${ok}`);
        }
      }
      for (const bad of BAD_DATE_TIMES) {
        const audit = await gql(server, `query($f: AuditEventFilter) { auditEvents(filter: $f) { endCursor } }`, { f: { occurredAfter: bad } });
        assertGqlBadInput(audit, 'f.occurredAfter', `auditEvents occurredAfter ${bad}`);
        const key = await gql(server, `mutation { createApiKey(name: "never", expiresAt: ${JSON.stringify(bad)}) { key } }`);
        assertGqlBadInput(key, 'expiresAt', `createApiKey expiresAt ${bad}`);
      }
    });
  });

  describe('properties: random cursors and dates never make a 5xx', () => {
    const NO_5XX = (what: string, status: number, body: unknown) => assert.ok(status < 500, `${what} answered ${status}: ${JSON.stringify(body)}`);

    it('random cursor strings, and forged cursors with random timestamps, on users and userGroupMembers', async () => {
      const [digest, , id] = decode(usersByCreatedAt);
      const [, userId] = decode(membersCursor);
      const timestampish = fc.oneof(
        fc.string({ maxLength: 40 }),
        fc
          .tuple(
            fc.integer({ min: -1, max: 300_000 }),
            fc.integer({ min: 0, max: 99 }),
            fc.integer({ min: 0, max: 99 }),
            fc.integer({ min: 0, max: 99 }),
            fc.integer({ min: 0, max: 99 }),
            fc.constantFrom('', '+', '-'),
            fc.integer({ min: 0, max: 99 }),
            fc.integer({ min: 0, max: 99 }),
          )
          .map(([y, mo, d, h, mi, sign, oh, om]) => {
            const p = (n: number, w = 2) => String(n).padStart(w, '0');
            return `${p(y, 4)}-${p(mo)}-${p(d)} ${p(h)}:${p(mi)}:00${sign ? `${sign}${p(oh)}:${p(om)}` : ''}`;
          }),
      );
      const cursor = fc.oneof(
        fc.string({ maxLength: 120 }),
        fc.base64String({ maxLength: 120 }),
        timestampish.map((t) => ({ users: encode([digest, t, id]), members: encode([t, userId]) })),
        fc.jsonValue({ maxDepth: 2 }).map((j) => encode(j)),
      );
      await fc.assert(
        fc.asyncProperty(cursor, async (c) => {
          const usersAfter = typeof c === 'string' ? c : c.users;
          const membersAfter = typeof c === 'string' ? c : c.members;
          const u = await gql(server, USERS, { after: usersAfter, order: { sort: 'createdAt', order: 'ASC' } });
          NO_5XX(`users(after: ${JSON.stringify(usersAfter)})`, u.status, u.errors);
          const m = await gql(server, MEMBERS, { g: group.id, after: membersAfter });
          NO_5XX(`userGroupMembers(after: ${JSON.stringify(membersAfter)})`, m.status, m.errors);
        }),
        { numRuns: 150 },
      );
    });

    it('random Date values (the whole JavaScript range) as GraphQL filters and REST dates', async () => {
      const anyDate = fc.oneof(
        fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }),
        fc.constantFrom(new Date(-8.64e15), new Date(8.64e15), v.DATE_MIN, v.DATE_MAX, new Date(v.DATE_MAX.getTime() + 1), new Date(v.DATE_MIN.getTime() - 1)),
      );
      const asText = fc.tuple(anyDate, fc.constantFrom('iso', 'offset', 'date')).map(([d, style]) => {
        const iso = d.toISOString();
        return style === 'iso' ? iso : style === 'date' ? iso.slice(0, iso.indexOf('T')) : iso.replace('Z', '-14:00');
      });
      await fc.assert(
        fc.asyncProperty(asText, async (text) => {
          const g = await gql(server, `query($f: UserFilterArgType) { users(filter: $f) { totalCount } }`, { f: { createdAt: { lessThan: text } } });
          NO_5XX(`users createdAt.lessThan ${text}`, g.status, g.errors);
          const r = await rest(server, 'POST', `/v3/companies/${tenantId}/user-groups/${group.id}/members`, { pagination: { offset: 0, limit: 1 }, filters: [{ addedAfter: { iso8601: text } }] });
          NO_5XX(`addedAfter ${text}`, r.status, r.body);
          const a = await rest(server, 'GET', `/v3/companies/${tenantId}/audit-events?limit=1&occurredBefore=${encodeURIComponent(text)}`);
          NO_5XX(`occurredBefore ${text}`, a.status, a.body);
        }),
        { numRuns: 150 },
      );
    });
  });

  describe('validation helpers', () => {
    it('isPgTimestamp accepts what PostgreSQL prints and refuses what it would refuse', () => {
      for (const ok of ['2020-01-01 00:00:00+00', '2020-01-01 00:00:00.123456+00', '2024-02-29T23:59:59Z', '2020-01-01 00:00:00+05:30', '1890-01-01 00:00:00+00:53:28', '2020-01-01 00:00:00-15:59:59', '0001-01-01 00:00:00', '9999-12-31 23:59:59.999999-0800']) {
        assert.equal(v.isPgTimestamp(ok), true, ok);
      }
      for (const bad of BAD_TIMESTAMPS) assert.equal(v.isPgTimestamp(bad), false, bad);
    });

    it('dateTime and date name the field and accept exactly years 0001-9999 (UTC)', () => {
      assert.equal(v.dateTime('x', '0001-01-01T00:00:00Z').getTime(), v.DATE_MIN.getTime());
      assert.equal(v.dateTime('x', '9999-12-31T23:59:59.999Z').getTime(), v.DATE_MAX.getTime());
      for (const bad of BAD_DATE_TIMES) {
        assert.throws(() => v.dateTime('when.after', bad), (e: unknown) => e instanceof AppError && e.code === 'BAD_USER_INPUT' && e.details.field === 'when.after' && e.message.startsWith('when.after:'), bad);
      }
      assert.throws(() => v.date('d', new Date(8.64e15)), /d: must be a date-time between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z/);
      assert.throws(() => v.date('d', new Date(Number.NaN)), /d: must be an ISO-8601 date-time/);
    });
  });

  describe('mapDatabaseError', () => {
    const pgError = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`SQLSTATE ${code}`), { code, ...extra });

    it('maps a representative SQLSTATE of each class to its catalog code and status', () => {
      const table: [sqlstate: string, code: keyof typeof ErrorCodes | null, status: number][] = [
        ['22008', 'BAD_USER_INPUT', 400], // datetime_field_overflow
        ['22009', 'BAD_USER_INPUT', 400], // invalid_time_zone_displacement_value
        ['22P02', 'BAD_USER_INPUT', 400], // invalid_text_representation
        ['22021', 'BAD_USER_INPUT', 400], // character_not_in_repertoire
        ['2201B', 'BAD_USER_INPUT', 400], // invalid_regular_expression
        ['54001', 'BAD_USER_INPUT', 400], // statement_too_complex
        ['54000', 'BAD_USER_INPUT', 400], // program_limit_exceeded
        ['57014', 'STATEMENT_TIMEOUT', 503], // query_canceled
        ['53100', 'SERVICE_UNAVAILABLE', 503], // disk_full
        ['53200', 'SERVICE_UNAVAILABLE', 503], // out_of_memory
        ['53300', 'SERVICE_UNAVAILABLE', 503], // too_many_connections
        ['57P01', 'SERVICE_UNAVAILABLE', 503], // admin_shutdown
        ['57P02', 'SERVICE_UNAVAILABLE', 503], // crash_shutdown
        ['57P03', 'SERVICE_UNAVAILABLE', 503], // cannot_connect_now
        ['08006', 'SERVICE_UNAVAILABLE', 503], // connection_failure
        ['08001', 'SERVICE_UNAVAILABLE', 503], // sqlclient_unable_to_establish_sqlconnection
        ['55P03', 'SERVICE_UNAVAILABLE', 503], // lock_not_available
        ['40001', 'SERVICE_UNAVAILABLE', 503], // serialization_failure, once retries are spent
        ['40P01', 'SERVICE_UNAVAILABLE', 503], // deadlock_detected, once retries are spent
        ['ECONNREFUSED', 'SERVICE_UNAVAILABLE', 503],
        ['23503', 'NOT_FOUND', 404], // foreign_key_violation
        ['23505', 'CONFLICT', 409], // unique_violation
        ['42703', null, 500], // undefined_column: our bug, masked
        ['42601', null, 500], // syntax_error: our bug, masked
        ['XX000', null, 500], // internal_error
        ['0A000', null, 500], // feature_not_supported
      ];
      for (const [sqlstate, code, status] of table) {
        const original = pgError(sqlstate);
        const mapped = mapDatabaseError(original);
        if (code === null) {
          assert.equal(mapped, original, `${sqlstate} stays unmapped (a masked 500)`);
          continue;
        }
        assert.ok(mapped instanceof AppError, `${sqlstate} maps to an AppError`);
        assert.equal(mapped.code, code, sqlstate);
        assert.equal(mapped.status, status, sqlstate);
        assert.equal(ErrorCodes[mapped.code], status, sqlstate);
        assert.equal(mapped.cause, original, `${sqlstate} keeps the database error as its cause`);
      }
      const timeout = mapDatabaseError(pgError('57014')) as AppError;
      assert.match(timeout.message, /statement timeout.*narrow it \(filters, page size\) or retry/);
      const known = mapDatabaseError(pgError('23505', { constraint: 'users__email' })) as AppError;
      assert.equal(known.details.field, 'email');
      const appError = new AppError('FORBIDDEN', 'no');
      assert.equal(mapDatabaseError(appError), appError);
      const plain = new Error('boom');
      assert.equal(mapDatabaseError(plain), plain);
    });

    it('a real data exception raised by the database (a +99:99 offset, year 0) maps to 400 BAD_USER_INPUT', async () => {
      const db = server.database.db;
      for (const [literal, sqlstate] of [['2020-01-01 00:00+99:99', '22009'], ['0000-01-01T00:00:00Z', '22008'], ['+275760-09-13T00:00:00.000Z', '22009']] as const) {
        const raw = await sql`select ${literal}::timestamptz`.execute(db).then(
          () => assert.fail(`${literal} was accepted`),
          (e: unknown) => e,
        );
        assert.equal((raw as { code?: string }).code, sqlstate, literal);
        const mapped = await run(() => sql`select ${literal}::timestamptz`.execute(db)).then(
          () => assert.fail(`${literal} was accepted`),
          (e: unknown) => e,
        );
        assert.ok(mapped instanceof AppError, literal);
        assert.equal(mapped.code, 'BAD_USER_INPUT');
        assert.equal(mapped.status, 400);
        assert.equal(mapped.details.sqlstate, sqlstate);
      }
    });

    it('a real statement timeout maps to 503 STATEMENT_TIMEOUT', { skip: !ON_POSTGRES && 'PGlite has no statement_timeout' }, async () => {
      const db = server.database.db;
      const error = await inTransaction(db, async (tx) => {
        await sql`set local statement_timeout = 50`.execute(tx);
        await sql`select pg_sleep(1)`.execute(tx);
      }).then(
        () => assert.fail('pg_sleep(1) finished within a 50 ms statement timeout'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof AppError, String(error));
      assert.equal(error.code, 'STATEMENT_TIMEOUT');
      assert.equal(error.status, 503);
      assert.equal((error.cause as { code?: string }).code, '57014');
    });

    it('over HTTP: a cancelled statement is 503 STATEMENT_TIMEOUT with Retry-After, a terminated session 503 SERVICE_UNAVAILABLE', { skip: !ON_POSTGRES && 'needs PostgreSQL sessions' }, async () => {
      const db = server.database.db;
      for (const [action, code] of [['pg_cancel_backend', 'STATEMENT_TIMEOUT'], ['pg_terminate_backend', 'SERVICE_UNAVAILABLE']] as const) {
        let answer: Response | undefined;
        // The audit log is locked, so the request's read waits; then its session is cancelled or terminated.
        await db.transaction().execute(async (tx) => {
          await sql`lock table audit_log in access exclusive mode`.execute(tx);
          const request = fetch(`${server.url}/v3/companies/${tenantId}/audit-events?limit=1`, { headers: { authorization: `Bearer ${server.apiKey}` } });
          let stopped = false;
          // The session waiting for the lock: nothing else uses this test's database meanwhile. Within a
          // transaction pg_stat_activity is a snapshot, taken afresh after pg_stat_clear_snapshot().
          for (let i = 0; i < 400 && !stopped; i++) {
            await sql`select pg_stat_clear_snapshot()`.execute(tx);
            const { rows } = await sql<{ pid: number }>`
              select pid from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`.execute(tx);
            if (rows[0]) {
              await sql`select ${sql.raw(action)}(${rows[0].pid})`.execute(tx);
              stopped = true;
            } else {
              await new Promise((r) => setTimeout(r, 25));
            }
          }
          // Not found: roll back (releasing the lock) rather than wait for the request forever.
          if (!stopped) throw new Error('the request never waited for the audit_log lock');
          answer = await request;
        });
        assert.ok(answer, 'answered');
        const body = (await answer.json()) as RestError;
        assert.equal(answer.status, 503, `${action}: ${JSON.stringify(body)}`);
        assert.equal(body.errorMessages[0]?.errorCode, code);
        assert.equal(answer.headers.get('retry-after'), '1');
      }
      // The pool recovers: the next request is answered.
      assert.equal((await rest(server, 'GET', `/v3/companies/${tenantId}/audit-events?limit=1`)).status, 200);
    });
  });
});
