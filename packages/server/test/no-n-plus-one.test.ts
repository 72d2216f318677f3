/**
 * Nested fields are batched: a page of 50 groups (or users) with their nested lists costs the same small number
 * of SQL statements as a page of 5.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { addManagers, addMembers, createGroup, createTenant, createUsers, gqlOk, unique, type CreatedUser } from './helpers/roster.ts';

const GROUPS = `query($t: ID!) {
  userGroups(filter: { tenantId: { equalTo: $t }, type: { notEqualTo: "platform" } }, limit: 50) {
    data {
      id
      users { data { id } totalCount }
      managers { data { id } }
      roles { data { id } }
      userGroupType { name }
      tenant { name }
    }
  }
}`;

const USERS = `query($t: ID!) {
  users(filter: { tenantId: { equalTo: $t } }, limit: 50) {
    data {
      id
      userGroups { data { id } totalCount }
      tenant { id }
      roles { data { id } }
      effectivePermissions { permission actions sources { via } }
    }
  }
}`;

interface GroupsPage {
  userGroups: {
    data: {
      id: string;
      users: { data: { id: string }[]; totalCount: number };
      managers: { data: { id: string }[] };
      roles: { data: { id: string }[] };
      userGroupType: { name: string };
      tenant: { name: string };
    }[];
  };
}
interface UsersPage {
  users: {
    data: {
      id: string;
      userGroups: { data: { id: string }[]; totalCount: number };
      tenant: { id: string };
      roles: { data: { id: string }[] };
      effectivePermissions: { permission: string; actions: string[]; sources: { via: string }[] }[];
    }[];
  };
}

/** A tenant with `n` users and `n` groups; group i has users i, i+1, i+2 (mod n) and is managed by user i; every user has one role. */
async function populate(server: TestServer, n: number): Promise<{ tenantId: string; tenantName: string; users: CreatedUser[] }> {
  const tenantName = unique('Tenant');
  const tenantId = await createTenant(server, tenantName);
  const users = await createUsers(server, n, tenantId);
  const key = unique('viewer');
  await gqlOk(server, 'mutation($r: RoleCreateDto!) { createRole(role: $r) { id } }', {
    r: { key, name: 'Viewer', tenantId, permissions: [{ permission: 'USER_PROFILE', actions: ['READ'] }] },
  });
  for (let i = 0; i < n; i++) {
    const group = await createGroup(server, { tenantId, type: 'team' });
    await addMembers(server, group.id, [0, 1, 2].map((k) => users[(i + k) % n]!.id));
    await addManagers(server, group.id, [users[i]!.id]);
    await gqlOk(server, 'mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }', { u: users[i]!.id, k: [key] });
  }
  return { tenantId, tenantName, users };
}

describe('no N+1 on nested fields', () => {
  let server: TestServer;
  let small: Awaited<ReturnType<typeof populate>>;
  let large: Awaited<ReturnType<typeof populate>>;

  before(async () => {
    // No background API-key refresh inside a counted window: it would add a statement at random.
    server = await startServer({ ROSTER_KEY_REFRESH_SECONDS: '86400' });
    small = await populate(server, 5);
    large = await populate(server, 50);
  });
  after(() => server.close());

  /** Runs the query and returns [data, statements]. */
  async function measure<T>(query: string, tenantId: string): Promise<[T, number]> {
    server.resetQueryCount();
    const data = await gqlOk<T>(server, query, { t: tenantId });
    return [data, server.queryCount()];
  }

  it('userGroups(limit: 50) with users, managers, roles, userGroupType and tenant', async () => {
    // Twice each: the second run goes through the compiled (JIT) query.
    for (let run = 0; run < 2; run++) {
      const [smallData, smallCount] = await measure<GroupsPage>(GROUPS, small.tenantId);
      const [largeData, largeCount] = await measure<GroupsPage>(GROUPS, large.tenantId);

      assert.equal(smallData.userGroups.data.length, 5);
      assert.equal(largeData.userGroups.data.length, 50);
      for (const group of largeData.userGroups.data) {
        assert.equal(group.users.totalCount, 3);
        assert.equal(group.users.data.length, 3);
        assert.equal(group.managers.data.length, 1);
        assert.deepEqual(group.roles.data, []);
        assert.equal(group.userGroupType.name, 'team');
        assert.equal(group.tenant.name, large.tenantName);
      }
      assert.equal(largeCount, smallCount, `5 groups cost ${smallCount} statements, 50 groups ${largeCount}`);
      assert.ok(largeCount <= 10, `50 groups cost ${largeCount} statements`);
    }
  });

  it('users(limit: 50) with userGroups, tenant, roles and effectivePermissions', async () => {
    for (let run = 0; run < 2; run++) {
      const [smallData, smallCount] = await measure<UsersPage>(USERS, small.tenantId);
      const [largeData, largeCount] = await measure<UsersPage>(USERS, large.tenantId);

      assert.equal(smallData.users.data.length, 5);
      assert.equal(largeData.users.data.length, 50);
      for (const user of largeData.users.data) {
        assert.equal(user.userGroups.totalCount, 3);
        assert.equal(user.userGroups.data.length, 3);
        assert.equal(user.tenant.id, large.tenantId);
        assert.equal(user.roles.data.length, 1);
        assert.deepEqual(user.effectivePermissions, [{ permission: 'USER_PROFILE', actions: ['READ'], sources: [{ via: 'direct' }] }]);
      }
      assert.equal(largeCount, smallCount, `5 users cost ${smallCount} statements, 50 users ${largeCount}`);
      assert.ok(largeCount <= 10, `50 users cost ${largeCount} statements`);
    }
  });
});
