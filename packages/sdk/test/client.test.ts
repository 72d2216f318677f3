/**
 * The client's own behaviour against a real server: user tokens cached and renewed, one token request for many
 * concurrent calls, a 401 answered with a fresh token, and the page iterators (offset and cursor, GraphQL and
 * REST) returning every item exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, unique, type TestServer } from '../../server/test/helpers/server.ts';
import { RosterClient, RosterError, type RosterSession } from '../src/index.ts';

/** The real fetch, counting requests per path: instrumentation, not a fake. */
function countingFetch() {
  const counts = new Map<string, number>();
  const counted: typeof fetch = (input, init) => {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return fetch(input, init);
  };
  return { fetch: counted, count: (path: string) => counts.get(path) ?? 0 };
}

describe('@roster/client against a real server', () => {
  let server: TestServer;
  let admin: RosterSession;
  let tenantId: string;
  let userIds: string[];
  let groupId: string;

  before(async () => {
    server = await startServer();
    admin = new RosterClient({ url: server.url, apiKey: server.apiKey }).asSuperAdmin();
    tenantId = (await admin.createTenant({ tenant: { name: unique('Tenant') } })).createTenant.id;
    userIds = [];
    for (let i = 0; i < 11; i++) {
      const reference = unique('iter');
      userIds.push((await admin.createUser({ user: { reference, email: `${reference}@example.com`, tenantId, firstName: `F${i}` } })).createUser.id);
    }
    groupId = (await admin.createUserGroup({ userGroup: { name: 'Iterated', reference: unique('g'), tenantId } })).createUserGroup.id;
    await admin.addUsersToUserGroup({ userGroupId: groupId, userIds });
  });
  after(() => server.close());

  describe('user tokens', () => {
    it('obtains one token for many concurrent calls and reuses it', async () => {
      const counter = countingFetch();
      const client = new RosterClient({ url: server.url, apiKey: server.apiKey, fetch: counter.fetch });
      const asUser = client.asUser(userIds[0]!);
      const results = await Promise.all(Array.from({ length: 8 }, () => asUser.user(userIds[0]!)));
      assert.ok(results.every((r) => r.user.id === userIds[0]));
      await client.asUser(userIds[0]!).user(userIds[0]!);
      assert.equal(counter.count('/v01/authorize'), 1);
      assert.equal(counter.count('/graphql'), 9);
    });

    it('renews a token shortly before it expires', async () => {
      const counter = countingFetch();
      const client = new RosterClient({ url: server.url, apiKey: server.apiKey, fetch: counter.fetch });
      const asUser = client.asUser(userIds[1]!, { expiresIn: 2 });
      await asUser.user(userIds[1]!);
      await asUser.user(userIds[1]!);
      assert.equal(counter.count('/v01/authorize'), 1);
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const { user } = await asUser.user(userIds[1]!);
      assert.equal(user.id, userIds[1]);
      assert.equal(counter.count('/v01/authorize'), 2);
    });

    it('answers a 401 with one fresh token and a retry', async () => {
      // A token the server no longer accepts stands in the cache: the first /graphql answer is a 401.
      let spoil = true;
      const spoiling: typeof fetch = async (input, init) => {
        const url = String(input);
        const response = await fetch(input, init);
        if (spoil && url.endsWith('/v01/authorize')) {
          spoil = false;
          const body = (await response.json()) as { accessToken: string; expiresAt: string };
          return Response.json({ ...body, accessToken: `${body.accessToken.slice(0, -4)}AAAA` });
        }
        return response;
      };
      const client = new RosterClient({ url: server.url, apiKey: server.apiKey, fetch: spoiling });
      const { user } = await client.asUser(userIds[2]!).user(userIds[2]!);
      assert.equal(user.id, userIds[2]);
    });

    it('does not retry a 401 of a token the application holds', async () => {
      const client = new RosterClient({ url: server.url });
      await assert.rejects(client.withToken('not-a-token').users(), (e: unknown) => e instanceof RosterError && e.code === 'UNAUTHENTICATED' && e.status === 401);
    });

    it('refuses asSuperAdmin() and asUser() without an API key, and a client without a URL', () => {
      const client = new RosterClient({ url: server.url });
      assert.throws(() => client.asSuperAdmin(), /apiKey/);
      assert.throws(() => client.asUser(userIds[0]!), /apiKey/);
      assert.throws(() => new RosterClient({ url: 'localhost:3000' }), /url/);
    });
  });

  describe('iterators', () => {
    it('iterateUsers returns every user of a filter exactly once, over several pages', async () => {
      const counter = countingFetch();
      const session = new RosterClient({ url: server.url, apiKey: server.apiKey, fetch: counter.fetch }).asSuperAdmin();
      const seen: string[] = [];
      for await (const user of session.iterateUsers({ filter: { tenantId: { equalTo: tenantId } }, order: { order: 'ASC', sort: 'firstName' }, pageSize: 3, withTenant: true })) {
        assert.equal(user.tenant?.id, tenantId);
        seen.push(user.id);
      }
      assert.deepEqual([...seen].sort(), [...userIds].sort());
      assert.equal(counter.count('/graphql'), 4);
    });

    it('stops fetching when the loop stops', async () => {
      const counter = countingFetch();
      const session = new RosterClient({ url: server.url, apiKey: server.apiKey, fetch: counter.fetch }).asSuperAdmin();
      let n = 0;
      for await (const _user of session.iterateUsers({ filter: { tenantId: { equalTo: tenantId } }, pageSize: 2 })) {
        if (++n === 3) break;
      }
      assert.equal(counter.count('/graphql'), 2);
    });

    it('iterateUserGroupMembers follows the keyset cursor to the end', async () => {
      const members: string[] = [];
      for await (const edge of admin.iterateUserGroupMembers({ groupId, pageSize: 4 })) members.push(edge.node.id);
      assert.deepEqual([...members].sort(), [...userIds].sort());
    });

    it('iterateAuditEvents follows its cursor', async () => {
      const events: string[] = [];
      for await (const event of admin.iterateAuditEvents({ filter: { tenantId, operation: 'user.create' }, pageSize: 5 })) events.push(event.targetId ?? '');
      assert.deepEqual([...events].sort(), [...userIds].sort());
    });

    it('rest.paginate pages by offset (members) and by cursor (audit events)', async () => {
      const members: string[] = [];
      for await (const member of admin.rest.paginate('listUserGroupMembers', { companyId: tenantId, groupId, pageSize: 4 })) members.push(member.userId);
      assert.deepEqual([...members].sort(), [...userIds].sort());
      const events: string[] = [];
      for await (const event of admin.rest.paginate('listAuditEvents', { companyId: tenantId, query: { operation: 'user.create' }, pageSize: 4 })) {
        events.push(event.targetId ?? '');
      }
      assert.deepEqual([...events].sort(), [...userIds].sort());
    });

    it('refuses paging arguments the iterator sets itself', async () => {
      const iterator = admin.iterateUsers({ offset: 5 } as never);
      await assert.rejects(iterator.next(), (e: unknown) => e instanceof RosterError && e.code === 'BAD_USER_INPUT' && e.field === 'offset');
    });
  });

  describe('documents', () => {
    it('sends only the relations asked for, and gives every flag combination the server accepts', async () => {
      const plain = await admin.userGroup(groupId);
      assert.equal('users' in plain.userGroup, false);
      const full = await admin.userGroup({ id: groupId, withUsers: true, withManagers: true, withRoles: true, withTenant: true, withUserGroupType: true });
      assert.equal(full.userGroup.users?.totalCount, userIds.length);
      assert.equal(full.userGroup.managers?.totalCount, 0);
      assert.equal(full.userGroup.tenant?.id, tenantId);
      const users = await admin.users({ filter: { tenantId: { equalTo: tenantId } }, limit: 100, withUserGroups: true, withRoles: true, withTenant: true, withEffectivePermissions: true });
      assert.equal(users.users.totalCount, userIds.length);
      assert.ok(users.users.data.every((u) => u.userGroups?.data.some((g) => g.id === groupId)));
    });
  });
});
