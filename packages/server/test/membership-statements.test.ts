/**
 * A membership change is one statement that changes the rows and writes the audit record (no BEGIN/COMMIT); for
 * the super-admin naming the group by id, that statement reads the group too: the same count for 1 id as for 300,
 * for adds and removes, and when an all-or-nothing call is refused, nothing at all is written.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from './helpers/server.ts';
import { createGroup, createTenant, createUsers, expectError, gql, gqlOk, unique, type CreatedUser } from './helpers/roster.ts';

const ADD = 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }';
const REMOVE = 'mutation($g: ID!, $u: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $u) }';
const AUDIT = `query($g: String!) { auditEvents(filter: { targetId: $g }, first: 100) { data { operation changes } } }`;

describe('membership changes: statements per call', () => {
  let server: TestServer;
  let tenantId: string;
  let users: CreatedUser[];

  before(async () => {
    // No background API-key refresh inside a counted window: it would add a statement at random.
    server = await startServer({ ROSTER_KEY_REFRESH_SECONDS: '86400' });
    tenantId = await createTenant(server, unique('Tenant'));
    users = await createUsers(server, 301, tenantId);
  });
  after(() => server.close());

  async function statements(query: string, vars: Record<string, unknown>): Promise<number> {
    server.resetQueryCount();
    const data = await gqlOk<Record<string, boolean>>(server, query, vars);
    assert.deepEqual(Object.values(data), [true]);
    return server.queryCount();
  }

  it('adding or removing 1 or 300 users is one statement, the group read included', async () => {
    const group = await createGroup(server, { tenantId, type: 'team' });
    const one = [users[0]!.id];
    const many = users.slice(1).map((u) => u.id);
    const counts = {
      addOne: await statements(ADD, { g: group.id, u: one }),
      addMany: await statements(ADD, { g: group.id, u: many }),
      removeOne: await statements(REMOVE, { g: group.id, u: one }),
      removeMany: await statements(REMOVE, { g: group.id, u: many }),
    };
    assert.deepEqual(counts, { addOne: 1, addMany: 1, removeOne: 1, removeMany: 1 });

    const log = await gqlOk<{ auditEvents: { data: { operation: string; changes: { userIds: string[] } }[] } }>(server, AUDIT, { g: group.id });
    const entries = log.auditEvents.data.filter((e) => e.operation.startsWith('userGroup.members.')).reverse();
    assert.deepEqual(
      entries.map((e) => [e.operation, [...e.changes.userIds].sort()]),
      [
        ['userGroup.members.add', one],
        ['userGroup.members.add', [...many].sort()],
        ['userGroup.members.remove', one],
        ['userGroup.members.remove', [...many].sort()],
      ],
    );
  });

  it('an all-or-nothing call with an unknown user writes neither members nor an audit record', async () => {
    const group = await createGroup(server, { tenantId, type: 'team' });
    const unknown = randomUUID();
    const res = await gql(server, ADD, { g: group.id, u: [users[0]!.id, users[1]!.id, unknown] });
    expectError(res, 'NOT_FOUND', unknown);

    const members = await gqlOk<{ userGroup: { users: { totalCount: number } } }>(
      server,
      'query($g: ID!) { userGroup(id: $g) { users { totalCount } } }',
      { g: group.id },
    );
    assert.equal(members.userGroup.users.totalCount, 0);
    const log = await gqlOk<{ auditEvents: { data: { operation: string }[] } }>(server, AUDIT, { g: group.id });
    assert.deepEqual(log.auditEvents.data.filter((e) => e.operation.startsWith('userGroup.members.')), []);

    // A repeat of an add changes nothing, writes no record, and still answers true.
    await gqlOk(server, ADD, { g: group.id, u: [users[0]!.id] });
    await gqlOk(server, ADD, { g: group.id, u: [users[0]!.id] });
    const after = await gqlOk<{ auditEvents: { data: { operation: string }[] } }>(server, AUDIT, { g: group.id });
    assert.equal(after.auditEvents.data.filter((e) => e.operation === 'userGroup.members.add').length, 1);
  });

  it('an unknown group, or a group named with another tenant, is NOT_FOUND after that one statement, which wrote nothing', async () => {
    const group = await createGroup(server, { tenantId });
    const otherTenant = await createTenant(server, unique('Other'));
    const PLUVO_ADD = 'mutation($g: UUID, $t: UUID, $u: [UUID!]) { addUsersToGroup(groupId: $g, tenantId: $t, userIds: $u) { addedIds } }';

    server.resetQueryCount();
    expectError(await gql(server, ADD, { g: randomUUID(), u: [users[0]!.id] }), 'NOT_FOUND', 'userGroupId');
    expectError(await gql(server, PLUVO_ADD, { g: group.id, t: otherTenant, u: [users[0]!.id] }), 'NOT_FOUND', 'groupId');
    assert.equal(server.queryCount(), 2);

    // Named with its own tenant, the same call goes through.
    const added = await gqlOk<{ addUsersToGroup: { addedIds: string[] } }>(server, PLUVO_ADD, { g: group.id.toUpperCase(), t: tenantId, u: [users[0]!.id] });
    assert.deepEqual(added.addUsersToGroup.addedIds, [users[0]!.id]);
    const log = await gqlOk<{ auditEvents: { data: { operation: string; changes: { userIds: string[] } }[] } }>(server, AUDIT, { g: group.id });
    const memberChanges = log.auditEvents.data.filter((e) => e.operation.startsWith('userGroup.members.'));
    assert.deepEqual(memberChanges.map((e) => [e.operation, e.changes.userIds]), [['userGroup.members.add', [users[0]!.id]]]);
  });
});
