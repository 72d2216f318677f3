/**
 * Optimistic concurrency. Users, groups and tenants carry `version` (1 at creation, +1 on every update).
 * GraphQL: `updateUser` / `updateUserGroup` / `updateTenant` take `expectedVersion`; a stale one is a CONFLICT
 * naming the current version and nothing changes; without it the last writer wins; 0 or negative is
 * BAD_USER_INPUT. REST: a group read returns `ETag: "<version>"`, which PATCH and DELETE accept as `If-Match`
 * (stale → 409, `*` or absent → unconditional, malformed → 400). Membership calls leave the version alone, and
 * of N concurrent updates sending the same expected version exactly one wins.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rest, startServer, type GraphqlResponse, type TestServer } from './helpers/server.ts';
import { addManagers, addMembers, createGroup, createTenant, createUser, createUsers, expectError, gql, gqlOk, unique } from './helpers/roster.ts';

const CONCURRENCY = 16;

/** An entity with a version, as GraphQL exposes it: how to create one, read it, and update its label. */
interface Versioned {
  readonly entity: string;
  create(server: TestServer): Promise<string>;
  /** The entity's label field and version, as read back. */
  read(server: TestServer, id: string): Promise<{ label: string; version: number }>;
  /** `updateX(...)` with the given label and, unless `undefined`, `expectedVersion`. */
  update(server: TestServer, id: string, label: string, expectedVersion?: number | null): Promise<GraphqlResponse<Record<string, { label: string; version: number } | null>>>;
}

/** The update mutation, with the `expectedVersion` argument only when one is given (so "absent" is really absent). */
function updater(field: string, argName: string, argType: string, labelField: string) {
  return (server: TestServer, id: string, label: string, expectedVersion?: number | null) => {
    const withVersion = expectedVersion !== undefined;
    const query = `mutation($id: ID!, $in: ${argType}!${withVersion ? ', $v: Int' : ''}) {
      result: ${field}(id: $id, ${argName}: $in${withVersion ? ', expectedVersion: $v' : ''}) { label: ${labelField} version }
    }`;
    return gql<Record<string, { label: string; version: number } | null>>(server, query, { id, in: { [labelField]: label }, ...(withVersion ? { v: expectedVersion } : {}) });
  };
}

const ENTITIES: Versioned[] = [
  {
    entity: 'user',
    create: async (server) => (await createUser(server, { firstName: 'Initial' })).id,
    read: async (server, id) => (await gqlOk<{ x: { label: string; version: number } }>(server, `query($id: ID!) { x: user(id: $id) { label: firstName version } }`, { id })).x,
    update: updater('updateUser', 'user', 'UserUpdateDto', 'firstName'),
  },
  {
    entity: 'user group',
    create: async (server) => (await createGroup(server, { name: 'Initial' })).id,
    read: async (server, id) => (await gqlOk<{ x: { label: string; version: number } }>(server, `query($id: ID!) { x: userGroup(id: $id) { label: name version } }`, { id })).x,
    update: updater('updateUserGroup', 'userGroup', 'UserGroupUpdateDto', 'name'),
  },
  {
    entity: 'tenant',
    create: (server) => createTenant(server, 'Initial'),
    read: async (server, id) => (await gqlOk<{ x: { label: string; version: number } }>(server, `query($id: ID!) { x: tenant(id: $id) { label: name version } }`, { id })).x,
    update: updater('updateTenant', 'tenant', 'TenantUpdateDto', 'name'),
  },
];

interface StaleExtensions {
  code: string;
  currentVersion?: unknown;
  expectedVersion?: unknown;
}

/** A CONFLICT whose message names expectedVersion and the current version, with both in the extensions. */
function expectStale(res: GraphqlResponse<unknown>, expected: number, current: number): void {
  const error = expectError(res, 'CONFLICT', 'expectedVersion');
  assert.match(error.message, new RegExp(`\\b${current}\\b`), `message ${JSON.stringify(error.message)} does not name the current version ${current}`);
  const extensions = error.extensions as StaleExtensions;
  assert.equal(extensions.currentVersion, current);
  assert.equal(extensions.expectedVersion, expected);
}

interface RestError {
  debugIdentifier: string;
  errorMessages: { errorCode: string; message: string; errorParameters: { name: string; value: string }[] }[];
}

interface RoleUserGroup {
  id: string;
  name: string;
  description: string;
  isUnmodifiable: boolean;
}

describe('optimistic concurrency', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  for (const e of ENTITIES) {
    describe(`GraphQL: ${e.entity}`, () => {
      it('starts at version 1; every update, with or without expectedVersion, adds one', async () => {
        const id = await e.create(server);
        assert.deepEqual(await e.read(server, id), { label: 'Initial', version: 1 });

        const first = await e.update(server, id, 'Second', 1);
        assert.equal(first.errors, undefined, JSON.stringify(first.errors));
        assert.deepEqual(first.data?.result, { label: 'Second', version: 2 });

        const second = await e.update(server, id, 'Third');
        assert.equal(second.errors, undefined, JSON.stringify(second.errors));
        assert.deepEqual(second.data?.result, { label: 'Third', version: 3 });

        const third = await e.update(server, id, 'Fourth', null);
        assert.equal(third.errors, undefined, JSON.stringify(third.errors));
        assert.deepEqual(third.data?.result, { label: 'Fourth', version: 4 });

        const fourth = await e.update(server, id, 'Fifth', 4);
        assert.deepEqual(fourth.data?.result, { label: 'Fifth', version: 5 });
        assert.deepEqual(await e.read(server, id), { label: 'Fifth', version: 5 });
      });

      it('a stale (or future) expectedVersion is a CONFLICT naming the current version; nothing changes', async () => {
        const id = await e.create(server);
        await e.update(server, id, 'Changed once');
        await e.update(server, id, 'Changed twice');
        assert.deepEqual(await e.read(server, id), { label: 'Changed twice', version: 3 });

        for (const stale of [1, 2, 4, 99, 2147483647]) {
          const res = await e.update(server, id, `Lost update ${stale}`, stale);
          expectStale(res, stale, 3);
          assert.equal(res.status, 409);
          assert.deepEqual(await e.read(server, id), { label: 'Changed twice', version: 3 }, `expectedVersion ${stale} changed the ${e.entity}`);
        }
        // The current version still applies afterwards.
        const ok = await e.update(server, id, 'Applied', 3);
        assert.deepEqual(ok.data?.result, { label: 'Applied', version: 4 });
      });

      it('without expectedVersion the last writer wins, whatever happened in between', async () => {
        const id = await e.create(server);
        await e.update(server, id, 'Someone else', 1);
        const res = await e.update(server, id, 'Last writer');
        assert.deepEqual(res.data?.result, { label: 'Last writer', version: 3 });
        assert.deepEqual(await e.read(server, id), { label: 'Last writer', version: 3 });
      });

      it('expectedVersion 0 or negative is BAD_USER_INPUT naming expectedVersion; nothing changes', async () => {
        const id = await e.create(server);
        for (const bad of [0, -1, -2147483648]) {
          const res = await e.update(server, id, `Bad ${bad}`, bad);
          const error = expectError(res, 'BAD_USER_INPUT', 'expectedVersion');
          assert.equal(error.extensions.field, 'expectedVersion');
          assert.deepEqual(await e.read(server, id), { label: 'Initial', version: 1 });
        }
      });

      it('an unknown id with an expectedVersion is NOT_FOUND, not a CONFLICT', async () => {
        const res = await e.update(server, '00000000-0000-4000-8000-0000000000ab', 'Ghost', 1);
        expectError(res, 'NOT_FOUND');
      });

      it(`${CONCURRENCY} concurrent updates sending the same expectedVersion: exactly one applies, the rest are CONFLICT`, async () => {
        const id = await e.create(server);
        await e.update(server, id, 'Before the race');
        const start = (await e.read(server, id)).version;
        assert.equal(start, 2);
        const labels = Array.from({ length: CONCURRENCY }, (_, i) => `Racer ${i}`);
        const results = await Promise.all(labels.map((label) => e.update(server, id, label, start)));
        const winners = results.flatMap((r, i) => (r.errors === undefined && r.data?.result ? [{ i, result: r.data.result }] : []));
        assert.equal(winners.length, 1, `expected one winner, got ${JSON.stringify(results.map((r) => r.errors?.[0]?.extensions.code ?? 'ok'))}`);
        const winner = winners[0]!;
        assert.deepEqual(winner.result, { label: labels[winner.i], version: start + 1 });
        for (const [i, res] of results.entries()) if (i !== winner.i) expectStale(res, start, start + 1);
        assert.deepEqual(await e.read(server, id), { label: labels[winner.i], version: start + 1 });
      });

      it(`${CONCURRENCY} concurrent updates without expectedVersion all apply, and none of their increments is lost`, async () => {
        const id = await e.create(server);
        const results = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => e.update(server, id, `Writer ${i}`)));
        for (const res of results) assert.equal(res.errors, undefined, JSON.stringify(res.errors));
        const versions = results.map((r) => r.data!.result!.version).sort((a, b) => a - b);
        assert.deepEqual(versions, Array.from({ length: CONCURRENCY }, (_, i) => i + 2));
        const last = results.find((r) => r.data!.result!.version === CONCURRENCY + 1)!.data!.result!;
        assert.deepEqual(await e.read(server, id), { label: last.label, version: CONCURRENCY + 1 });
      });
    });
  }

  describe('GraphQL: which other writes change a version', () => {
    it('membership and manager calls leave the group version (and a stale-free expectedVersion) alone', async () => {
      const group = await createGroup(server);
      const [a, b] = await createUsers(server, 2);
      await addMembers(server, group.id, [a!.id, b!.id]);
      await gqlOk(server, `mutation($g: ID!, $u: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $u) }`, { g: group.id, u: [b!.id] });
      await gqlOk(server, `mutation($g: UUID!, $u: [UUID!]) { addUsersToGroup(groupId: $g, userIds: $u) { addedIds } }`, { g: group.id, u: [b!.id] });
      await addManagers(server, group.id, [a!.id]);
      await gqlOk(server, `mutation($g: UUID!, $u: [UUID!]) { removeManagersFromGroup(groupId: $g, userIds: $u) { response { succeededIds } } }`, { g: group.id, u: [a!.id] });
      // Changing a member does not touch the group either.
      await gqlOk(server, `mutation($id: ID!) { updateUser(id: $id, user: { firstName: "Renamed" }) { id } }`, { id: a!.id });

      const read = await gqlOk<{ userGroup: { version: number; users: { totalCount: number } } }>(server, `query($id: ID!) { userGroup(id: $id) { version users { totalCount } } }`, { id: group.id });
      assert.deepEqual(read.userGroup, { version: 1, users: { totalCount: 2 } });
      const update = await gqlOk<{ updateUserGroup: { version: number } }>(server, `mutation($id: ID!) { updateUserGroup(id: $id, userGroup: { description: "d" }, expectedVersion: 1) { version } }`, { id: group.id });
      assert.equal(update.updateUserGroup.version, 2);
    });

    it("Pluvo's updateOrCreateUser updating an existing user bumps its version like updateUser", async () => {
      const user = await createUser(server, { firstName: 'Initial' });
      const upsert = await gqlOk<{ updateOrCreateUser: { created: boolean; user: { id: string; firstName: string; version: number } } }>(
        server,
        `mutation($ref: String, $t: UUID) { updateOrCreateUser(ref: $ref, tenantId: $t, user: { firstName: "Upserted" }) { created user { id firstName version } } }`,
        { ref: user.reference, t: user.tenantId },
      );
      assert.deepEqual(upsert.updateOrCreateUser, { created: false, user: { id: user.id, firstName: 'Upserted', version: 2 } });
      // A client still holding version 1 is now stale.
      const stale = await gql(server, `mutation($id: ID!) { updateUser(id: $id, user: { firstName: "Stale" }, expectedVersion: 1) { id } }`, { id: user.id });
      expectStale(stale, 1, 2);
    });

    it('a rejected update (duplicate reference) does not bump the version', async () => {
      const taken = await createGroup(server);
      const group = await createGroup(server);
      const res = await gql(server, `mutation($id: ID!, $r: String!) { updateUserGroup(id: $id, userGroup: { reference: $r }, expectedVersion: 1) { id } }`, { id: group.id, r: taken.reference });
      expectError(res, 'CONFLICT', 'reference');
      const read = await gqlOk<{ userGroup: { version: number; reference: string } }>(server, `query($id: ID!) { userGroup(id: $id) { version reference } }`, { id: group.id });
      assert.deepEqual(read.userGroup, { version: 1, reference: group.reference });
    });
  });

  describe('REST: ETag and If-Match on a user group', () => {
    let company: string;

    /** A REST call with extra headers, returning the status, the ETag and the JSON body. */
    const send = async <T>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${server.apiKey}`,
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const text = await res.text();
      return { status: res.status, etag: res.headers.get('etag'), body: (text ? JSON.parse(text) : undefined) as T };
    };
    const groupPath = (id: string) => `/v3/companies/${company}/user-groups/${id}`;
    const newGroup = async (name = unique('etag')) => {
      const created = await send<{ id: string }>('POST', `/v3/companies/${company}/user-groups`, { body: { name, description: 'original' } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.id;
    };
    /** The group's name, description and ETag, or `null` once it is gone. */
    const state = async (id: string) => {
      const res = await send<RoleUserGroup>('GET', groupPath(id));
      if (res.status === 404) return null;
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return { name: res.body.name, description: res.body.description, etag: res.etag };
    };
    const expectRestError = (res: { status: number; body: unknown }, status: number, code: string, field?: string) => {
      assert.equal(res.status, status, JSON.stringify(res.body));
      const body = res.body as RestError;
      assert.ok(body.debugIdentifier);
      assert.equal(body.errorMessages[0]?.errorCode, code);
      if (field) assert.ok(body.errorMessages[0]!.message.includes(field), `message ${JSON.stringify(body.errorMessages[0]!.message)} does not name ${field}`);
      return body.errorMessages[0]!;
    };
    const parameter = (error: RestError['errorMessages'][number], name: string) => error.errorParameters.find((p) => p.name === name)?.value;

    before(async () => {
      company = await createTenant(server);
    });

    it('GET returns ETag "1"; PATCH with If-Match "1" applies and returns the new ETag, which GET then shows', async () => {
      const id = await newGroup('Before');
      const read = await send<RoleUserGroup>('GET', groupPath(id));
      assert.equal(read.status, 200);
      assert.equal(read.etag, '"1"');

      const patched = await send<RoleUserGroup>('PATCH', groupPath(id), { body: { name: 'After' }, headers: { 'if-match': '"1"' } });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.etag, '"2"');
      assert.equal(patched.body.name, 'After');
      assert.deepEqual(await state(id), { name: 'After', description: 'original', etag: '"2"' });

      const again = await send<RoleUserGroup>('PATCH', groupPath(id), { body: { description: 'new' }, headers: { 'if-match': '"2"' } });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.etag, '"3"');
      assert.deepEqual(await state(id), { name: 'After', description: 'new', etag: '"3"' });
    });

    it('PATCH with a stale If-Match is a 409 CONFLICT naming the current version; the group is unchanged', async () => {
      const id = await newGroup('Kept');
      await send('PATCH', groupPath(id), { body: { name: 'Kept' }, headers: { 'if-match': '"1"' } });
      const before = await state(id);
      assert.equal(before?.etag, '"2"');
      for (const stale of ['"1"', '"3"', '"42"']) {
        const res = await send<RestError>('PATCH', groupPath(id), { body: { name: 'Overwritten', description: 'overwritten' }, headers: { 'if-match': stale } });
        const error = expectRestError(res, 409, 'CONFLICT');
        assert.equal(parameter(error, 'currentVersion'), '2', JSON.stringify(error));
        assert.match(error.message, /\b2\b/);
        assert.deepEqual(await state(id), before);
      }
    });

    it('DELETE with a stale If-Match is a 409 and the group stays; with the current one it is deleted', async () => {
      const id = await newGroup();
      await send('PATCH', groupPath(id), { body: { description: 'changed' } });
      const before = await state(id);
      assert.equal(before?.etag, '"2"');
      const stale = await send<RestError>('DELETE', groupPath(id), { headers: { 'if-match': '"1"' } });
      const error = expectRestError(stale, 409, 'CONFLICT');
      assert.equal(parameter(error, 'currentVersion'), '2');
      assert.deepEqual(await state(id), before);

      const deleted = await send('DELETE', groupPath(id), { headers: { 'if-match': '"2"' } });
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      assert.equal(await state(id), null);
    });

    it('If-Match: * or no If-Match is unconditional for PATCH and DELETE', async () => {
      const id = await newGroup();
      await send('PATCH', groupPath(id), { body: { name: 'Moved on' } });
      const star = await send<RoleUserGroup>('PATCH', groupPath(id), { body: { name: 'Star' }, headers: { 'if-match': '*' } });
      assert.equal(star.status, 200, JSON.stringify(star.body));
      assert.equal(star.etag, '"3"');
      const none = await send<RoleUserGroup>('PATCH', groupPath(id), { body: { name: 'None' } });
      assert.equal(none.status, 200);
      assert.equal(none.etag, '"4"');
      assert.deepEqual(await state(id), { name: 'None', description: 'original', etag: '"4"' });

      assert.equal((await send('DELETE', groupPath(id), { headers: { 'if-match': '*' } })).status, 200);
      assert.equal(await state(id), null);
      const other = await newGroup();
      await send('PATCH', groupPath(other), { body: { name: 'Moved on' } });
      assert.equal((await send('DELETE', groupPath(other))).status, 200);
      assert.equal(await state(other), null);
    });

    it('a malformed If-Match is a 400 BAD_USER_INPUT naming If-Match, on PATCH and DELETE; nothing changes', async () => {
      const id = await newGroup('Untouched');
      await send('PATCH', groupPath(id), { body: { description: 'v2' } });
      const before = await state(id);
      assert.equal(before?.etag, '"2"');
      // Each names the current version 2 in some wrong form, so a lenient parser would have let it through.
      for (const malformed of ['2', 'W/"2"', '"abc"', '"2', '"2", "3"', '""']) {
        const patch = await send('PATCH', groupPath(id), { body: { name: 'Changed' }, headers: { 'if-match': malformed } });
        expectRestError(patch, 400, 'BAD_USER_INPUT', 'If-Match');
        const del = await send('DELETE', groupPath(id), { headers: { 'if-match': malformed } });
        expectRestError(del, 400, 'BAD_USER_INPUT', 'If-Match');
        assert.deepEqual(await state(id), before, `If-Match ${malformed} changed the group`);
      }
    });

    it('GraphQL and REST share the version: the ETag is the GraphQL version, and each side sees the other’s writes', async () => {
      const id = await newGroup();
      const viaGraphql = await gqlOk<{ updateUserGroup: { version: number } }>(server, `mutation($id: ID!) { updateUserGroup(id: $id, userGroup: { name: "From GraphQL" }, expectedVersion: 1) { version } }`, { id });
      assert.equal(viaGraphql.updateUserGroup.version, 2);
      assert.equal((await state(id))?.etag, '"2"');
      expectRestError(await send('PATCH', groupPath(id), { body: { name: 'Stale REST' }, headers: { 'if-match': '"1"' } }), 409, 'CONFLICT');
      const viaRest = await send<RoleUserGroup>('PATCH', groupPath(id), { body: { name: 'From REST' }, headers: { 'if-match': '"2"' } });
      assert.equal(viaRest.etag, '"3"');
      const stale = await gql(server, `mutation($id: ID!) { updateUserGroup(id: $id, userGroup: { name: "Stale GraphQL" }, expectedVersion: 2) { version } }`, { id });
      expectStale(stale, 2, 3);
      const read = await gqlOk<{ userGroup: { name: string; version: number } }>(server, `query($id: ID!) { userGroup(id: $id) { name version } }`, { id });
      assert.deepEqual(read.userGroup, { name: 'From REST', version: 3 });
    });

    it('membership calls need no If-Match and leave the ETag alone', async () => {
      const id = await newGroup();
      const users = await createUsers(server, 2, company);
      const members = `${groupPath(id)}/members`;
      const added = await send('PATCH', members, { body: { userIdsToAdd: users.map((u) => u.id) } });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      const removed = await send('PATCH', members, { body: { userIdsToRemove: [users[0]!.id] } });
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.equal((await state(id))?.etag, '"1"');
      const listed = await send<{ pagination: { totalNumResults: number } }>('POST', members, { body: { pagination: { offset: 0, limit: 10 } } });
      assert.equal(listed.body.pagination.totalNumResults, 1);
      // The ETag read before the membership changes is still current.
      const patched = await send('PATCH', groupPath(id), { body: { name: 'Still version 1' }, headers: { 'if-match': '"1"' } });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.etag, '"2"');
    });

    it(`${CONCURRENCY} concurrent PATCHes with the same If-Match: exactly one 200, the rest 409; the version rises by one`, async () => {
      const id = await newGroup();
      const names = Array.from({ length: CONCURRENCY }, (_, i) => `Racer ${i}`);
      const results = await Promise.all(names.map((name) => send<RoleUserGroup | RestError>('PATCH', groupPath(id), { body: { name }, headers: { 'if-match': '"1"' } })));
      const winners = results.flatMap((r, i) => (r.status === 200 ? [i] : []));
      assert.equal(winners.length, 1, `statuses: ${results.map((r) => r.status).join(', ')}`);
      const winner = winners[0]!;
      assert.equal(results[winner]!.etag, '"2"');
      for (const [i, res] of results.entries()) {
        if (i === winner) continue;
        const error = expectRestError(res, 409, 'CONFLICT');
        assert.equal(parameter(error, 'currentVersion'), '2');
      }
      assert.deepEqual(await state(id), { name: names[winner], description: 'original', etag: '"2"' });
    });

    it(`${CONCURRENCY} concurrent DELETEs with the same If-Match: exactly one 200, none a 5xx`, async () => {
      const id = await newGroup();
      const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => send<unknown>('DELETE', groupPath(id), { headers: { 'if-match': '"1"' } })));
      assert.equal(results.filter((r) => r.status === 200).length, 1, `statuses: ${results.map((r) => r.status).join(', ')}`);
      for (const res of results) assert.ok([200, 404, 409].includes(res.status), `unexpected ${res.status}: ${JSON.stringify(res.body)}`);
      assert.equal(await state(id), null);
    });

    it('the platform group (Company Admins) still refuses PATCH and DELETE with 403, even with the current ETag', async () => {
      const list = await send<{ userGroups: RoleUserGroup[] }>('POST', `/v3/companies/${company}/user-groups/list`, { body: { searchText: 'company admins', pagination: { offset: 0, limit: 10 } } });
      const platform = list.body.userGroups.find((g) => g.isUnmodifiable);
      assert.ok(platform, 'no platform group');
      const before = await state(platform.id);
      const etag = before?.etag ?? '';
      assert.match(etag, /^"[1-9][0-9]*"$/);
      const variants: Record<string, string>[] = [{ 'if-match': etag }, { 'if-match': '*' }, {}];
      for (const headers of variants) {
        expectRestError(await send('PATCH', groupPath(platform.id), { body: { name: 'Hijacked' }, headers }), 403, 'FORBIDDEN');
        expectRestError(await send('DELETE', groupPath(platform.id), { headers }), 403, 'FORBIDDEN');
      }
      assert.deepEqual(await state(platform.id), before);
      // The REST helper (no If-Match) agrees.
      assert.equal((await rest(server, 'PATCH', groupPath(platform.id), { description: 'x' })).status, 403);
    });
  });
});
