/**
 * Seed 003 (Pluvo "Group User & Manager"): its GraphQL documents as written, with the placeholders replaced by
 * real ids, and the bulk-sync recipe (updateOrCreateUser, then addUsersToGroup by refs).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gqlOk, startServer, unique, type TestServer } from './helpers/server.ts';

describe('seed 003 documents', () => {
  let server: TestServer;
  let groupId: string;
  let userIds: string[];
  const groupRef = unique('group-sales');
  const userRefs = [unique('EMP-001'), unique('EMP-002')];

  before(async () => {
    server = await startServer();
    const group = await gqlOk<{ createUserGroup: { id: string } }>(
      server,
      'mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id } }',
      { g: { name: 'Sales', reference: groupRef } },
    );
    groupId = group.createUserGroup.id;
    userIds = [];
    for (const ref of userRefs) {
      // The bulk-sync recipe: updateOrCreateUser by ref.
      const res = await gqlOk<{ updateOrCreateUser: { created: boolean; user: { id: string; reference: string } } }>(
        server,
        'mutation($ref: String, $user: UserUpsertDto!) { updateOrCreateUser(ref: $ref, user: $user) { created user { id reference } } }',
        { ref, user: { email: `${ref}@example.com`, firstName: 'Emp' } },
      );
      assert.equal(res.updateOrCreateUser.created, true);
      assert.equal(res.updateOrCreateUser.user.reference, ref);
      userIds.push(res.updateOrCreateUser.user.id);
    }
  });
  after(() => server.close());

  it('addUsersToGroup by ids reports added, then already added', async () => {
    const doc = `mutation {
  addUsersToGroup(
    groupId: "${groupId}"
    userIds: ["${userIds[0]}", "${userIds[1]}"]
  ) {
    addedIds
    alreadyAddedIds
    failedIds
  }
}`;
    const first = await gqlOk<{ addUsersToGroup: Record<string, string[]> }>(server, doc);
    assert.deepEqual(first.addUsersToGroup, { addedIds: userIds, alreadyAddedIds: [], failedIds: [] });
    const again = await gqlOk<{ addUsersToGroup: Record<string, string[]> }>(server, doc);
    assert.deepEqual(again.addUsersToGroup, { addedIds: [], alreadyAddedIds: userIds, failedIds: [] });
  });

  it('addUsersToGroup by refs, with an unknown ref reported under failedIds as given', async () => {
    await gqlOk(server, `mutation { removeUsersFromGroup(groupId: "${groupId}", userIds: ["${userIds[0]}"]) { removedIds } }`);
    const doc = `mutation {
  addUsersToGroup(
    groupRef: "${groupRef}"
    userRefs: ["${userRefs[0]}", "${userRefs[1]}", "EMP-404-nobody"]
  ) {
    addedIds
    alreadyAddedIds
    failedIds
  }
}`;
    const res = await gqlOk<{ addUsersToGroup: Record<string, string[]> }>(server, doc);
    assert.deepEqual(res.addUsersToGroup, { addedIds: [userIds[0]], alreadyAddedIds: [userIds[1]], failedIds: ['EMP-404-nobody'] });
  });

  it('removeUsersFromGroup reports removed, then already removed', async () => {
    const doc = `mutation {
  removeUsersFromGroup(
    groupId: "${groupId}"
    userIds: ["${userIds[0]}"]
  ) {
    removedIds
    alreadyRemovedIds
    failedIds
  }
}`;
    const first = await gqlOk<{ removeUsersFromGroup: Record<string, string[]> }>(server, doc);
    assert.deepEqual(first.removeUsersFromGroup, { removedIds: [userIds[0]], alreadyRemovedIds: [], failedIds: [] });
    const again = await gqlOk<{ removeUsersFromGroup: Record<string, string[]> }>(server, doc);
    assert.deepEqual(again.removeUsersFromGroup, { removedIds: [], alreadyRemovedIds: [userIds[0]], failedIds: [] });
  });

  it('addManagersToGroup and removeManagersFromGroup, independent of participation', async () => {
    const add = await gqlOk<{ addManagersToGroup: { response: Record<string, string[]> } }>(
      server,
      `mutation {
  addManagersToGroup(
    groupId: "${groupId}"
    userIds: ["${userIds[1]}"]
  ) {
    response {
      succeededIds
      failedIds
    }
  }
}`,
    );
    assert.deepEqual(add.addManagersToGroup.response, { succeededIds: [userIds[1]], failedIds: [] });
    // userIds[1] is now both participant and manager.
    const group = await gqlOk<{ userGroup: { users: { data: { id: string }[] }; managers: { data: { id: string }[] } } }>(
      server,
      `{ userGroup(id: "${groupId}") { users { data { id } } managers { data { id } } } }`,
    );
    assert.deepEqual(group.userGroup.users.data.map((u) => u.id), [userIds[1]]);
    assert.deepEqual(group.userGroup.managers.data.map((u) => u.id), [userIds[1]]);

    const remove = await gqlOk<{ removeManagersFromGroup: { response: Record<string, string[]> } }>(
      server,
      `mutation {
  removeManagersFromGroup(
    groupId: "${groupId}"
    userIds: ["${userIds[1]}"]
  ) {
    response {
      succeededIds
      failedIds
    }
  }
}`,
    );
    assert.deepEqual(remove.removeManagersFromGroup.response, { succeededIds: [userIds[1]], failedIds: [] });
    const after = await gqlOk<{ userGroup: { users: { totalCount: number }; managers: { totalCount: number } } }>(
      server,
      `{ userGroup(id: "${groupId}") { users { totalCount } managers { totalCount } } }`,
    );
    assert.deepEqual(after.userGroup, { users: { totalCount: 1 }, managers: { totalCount: 0 } });
  });
});
