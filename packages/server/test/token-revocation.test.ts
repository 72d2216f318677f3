/**
 * Grants end when they should (docs/security.md): deactivating or deleting a user ends what its tokens may do at
 * once on the node that made the change and within ROSTER_KEY_REFRESH_SECONDS on the others; the super-admin, and
 * a company admin for its company, revoke every token of a user (GraphQL and REST); removal from a group is
 * effective on the next request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addManagers, addMembers, createGroup, createTenant, createUser, userToken } from './helpers/roster.ts';
import { gql, gqlOk, rest, startServer, startSibling, type SiblingServer, type TestServer } from './helpers/server.ts';

describe('token revocation', () => {
  let server: TestServer;
  let tenantId: string;
  let adminsGroupId: string;
  before(async () => {
    server = await startServer({ ROSTER_KEY_REFRESH_SECONDS: '1' });
    tenantId = await createTenant(server);
    const found = await gqlOk<{ userGroups: { data: { id: string }[] } }>(
      server,
      'query($t: ID) { userGroups(filter: { tenantId: { equalTo: $t }, reference: { equalTo: "platform:company-admins" } }) { data { id } } }',
      { t: tenantId },
    );
    adminsGroupId = found.userGroups.data[0]!.id;
  });
  after(() => server.close());

  /** A company admin of the test tenant, and a token for it. */
  async function companyAdmin(): Promise<{ id: string; token: string }> {
    const user = await createUser(server, { tenantId });
    await addMembers(server, adminsGroupId, [user.id]);
    return { id: user.id, token: await userToken(server, user.id) };
  }

  /** What a token may do now: a company-wide read that needs REPORT_MANAGEMENT, which company admins hold. */
  async function canAdminister(token: string, on: { url: string; apiKey: string } = server): Promise<'yes' | string> {
    const res = await gql(on, 'query($t: ID) { auditEvents(first: 1, filter: { tenantId: $t }) { hasNextPage } }', { t: tenantId }, { token });
    return res.errors?.length ? String(res.errors[0]!.extensions.code) : 'yes';
  }

  const setActive = (id: string, active: boolean) => gqlOk(server, 'mutation($id: ID!, $a: Boolean) { updateUser(id: $id, user: { active: $a }) { id active } }', { id, a: active });

  it('a deactivated company admin loses its rights at once, over GraphQL and REST; reactivated, the old token stays dead and a new one works', async () => {
    const admin = await companyAdmin();
    assert.equal(await canAdminister(admin.token), 'yes');
    await setActive(admin.id, false);
    assert.equal(await canAdminister(admin.token), 'UNAUTHENTICATED');
    const viaRest = await rest<{ code?: string; errorCode?: string }>(server, 'POST', `/v3/companies/${tenantId}/user-groups/list`, {}, admin.token);
    assert.equal(viaRest.status, 401);
    await setActive(admin.id, true);
    assert.equal(await canAdminister(admin.token), 'UNAUTHENTICATED', 'reactivation does not bring old tokens back');
    assert.equal(await canAdminister(await userToken(server, admin.id)), 'yes');
  });

  it('the user upsert (updateOrCreateUser) deactivates the same way', async () => {
    const admin = await companyAdmin();
    const { reference } = (await gqlOk<{ user: { reference: string } }>(server, 'query($id: ID!) { user(id: $id) { reference } }', { id: admin.id })).user;
    await gqlOk(server, 'mutation($r: String, $t: UUID) { updateOrCreateUser(ref: $r, tenantId: $t, user: { active: false }) { created } }', { r: reference, t: tenantId });
    assert.equal(await canAdminister(admin.token), 'UNAUTHENTICATED');
  });

  it('a deleted user\'s token no longer authenticates', async () => {
    const admin = await companyAdmin();
    await gqlOk(server, 'mutation($id: ID!) { deleteUser(id: $id) }', { id: admin.id });
    assert.equal(await canAdminister(admin.token), 'UNAUTHENTICATED');
  });

  it('the super-admin revokes every token of a user (GraphQL); a token issued afterwards works; the revocation is audited', async () => {
    const admin = await companyAdmin();
    const second = await userToken(server, admin.id);
    const res = await gqlOk<{ revokeUserTokens: { userId: string; revokedAt: string } }>(server, 'mutation($u: ID!) { revokeUserTokens(userId: $u) { userId revokedAt } }', { u: admin.id });
    assert.equal(res.revokeUserTokens.userId, admin.id);
    assert.ok(!Number.isNaN(Date.parse(res.revokeUserTokens.revokedAt)));
    assert.equal(await canAdminister(admin.token), 'UNAUTHENTICATED');
    assert.equal(await canAdminister(second), 'UNAUTHENTICATED');
    assert.equal(await canAdminister(await userToken(server, admin.id)), 'yes');
    const audit = await gqlOk<{ auditEvents: { data: { operation: string }[] } }>(
      server,
      'query($t: ID, $u: String) { auditEvents(filter: { tenantId: $t, targetId: $u, operation: "user.revokeTokens" }) { data { operation } } }',
      { t: tenantId, u: admin.id },
    );
    assert.equal(audit.auditEvents.data.length, 1);
  });

  it('over REST: POST /v3/users/{userId}/revoke-tokens', async () => {
    const admin = await companyAdmin();
    const res = await rest<{ userId: string; revokedAt: { iso8601: string } }>(server, 'POST', `/v3/users/${admin.id}/revoke-tokens`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.userId, admin.id);
    assert.equal(await canAdminister(admin.token), 'UNAUTHENTICATED');
  });

  describe('who may revoke a user\'s tokens', () => {
    it('a company admin, for a user of its company, through GraphQL and REST', async () => {
      const admin = await companyAdmin();
      const target = await companyAdmin();
      await gqlOk(server, 'mutation($u: ID!) { revokeUserTokens(userId: $u) { userId } }', { u: target.id }, { token: admin.token });
      assert.equal(await canAdminister(target.token), 'UNAUTHENTICATED');
      const again = await companyAdmin();
      assert.equal((await rest(server, 'POST', `/v3/users/${again.id}/revoke-tokens`, undefined, admin.token)).status, 200);
      assert.equal(await canAdminister(again.token), 'UNAUTHENTICATED');
    });

    const cases: [string, () => Promise<{ token: string; targetId: string }>, string, number][] = [
      ['a plain user of the same company, for another user', async () => {
        const plain = await createUser(server, { tenantId });
        const target = await createUser(server, { tenantId });
        return { token: await userToken(server, plain.id), targetId: target.id };
      }, 'FORBIDDEN', 403],
      ['a plain user, for itself', async () => {
        const plain = await createUser(server, { tenantId });
        return { token: await userToken(server, plain.id), targetId: plain.id };
      }, 'FORBIDDEN', 403],
      ['a group manager, for a member of its group', async () => {
        const manager = await createUser(server, { tenantId });
        const member = await createUser(server, { tenantId });
        const group = await createGroup(server, { tenantId });
        await addManagers(server, group.id, [manager.id]);
        await addMembers(server, group.id, [member.id]);
        return { token: await userToken(server, manager.id), targetId: member.id };
      }, 'FORBIDDEN', 403],
      ['a company admin of another company', async () => {
        const other = await createTenant(server);
        const found = await gqlOk<{ userGroups: { data: { id: string }[] } }>(
          server,
          'query($t: ID) { userGroups(filter: { tenantId: { equalTo: $t }, reference: { equalTo: "platform:company-admins" } }) { data { id } } }',
          { t: other },
        );
        const foreignAdmin = await createUser(server, { tenantId: other });
        await addMembers(server, found.userGroups.data[0]!.id, [foreignAdmin.id]);
        const target = await createUser(server, { tenantId });
        return { token: await userToken(server, foreignAdmin.id), targetId: target.id };
      }, 'NOT_FOUND', 404],
    ];
    for (const [name, make, code, status] of cases) {
      it(`${name}: ${code}, over GraphQL and REST, and the tokens keep working`, async () => {
        const { token, targetId } = await make();
        const targetToken = await userToken(server, targetId);
        const viaGraphql = await gql(server, 'mutation($u: ID!) { revokeUserTokens(userId: $u) { userId } }', { u: targetId }, { token });
        assert.equal(viaGraphql.errors?.[0]?.extensions.code, code);
        const viaRest = await rest(server, 'POST', `/v3/users/${targetId}/revoke-tokens`, undefined, token);
        assert.equal(viaRest.status, status);
        const still = await gql(server, `query($id: ID!) { user(id: $id) { id } }`, { id: targetId }, { token: targetToken });
        assert.equal(still.errors, undefined, 'the target\'s token still works');
      });
    }

    it('an unknown or malformed user id: NOT_FOUND / BAD_USER_INPUT naming userId', async () => {
      const unknown = await gql(server, 'mutation { revokeUserTokens(userId: "00000000-0000-4000-8000-000000000000") { userId } }');
      assert.equal(unknown.errors?.[0]?.extensions.code, 'NOT_FOUND');
      const malformed = await gql(server, 'mutation { revokeUserTokens(userId: "nope") { userId } }');
      assert.equal(malformed.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
      assert.equal(malformed.errors?.[0]?.extensions.field, 'userId');
    });
  });

  describe('on another node of the same database', () => {
    let sibling: SiblingServer;
    before(async () => {
      sibling = await startSibling(server, { ROSTER_KEY_REFRESH_SECONDS: '1' });
    });
    after(() => sibling.close());

    /** Polls until `check` holds, for at most `seconds` (the refresh interval is 1 s). */
    async function within(seconds: number, check: () => Promise<boolean>): Promise<boolean> {
      const deadline = Date.now() + seconds * 1000;
      while (Date.now() < deadline) {
        if (await check()) return true;
        await new Promise((r) => setTimeout(r, 200));
      }
      return check();
    }

    for (const [name, end] of [
      ['a deactivation', (id: string) => setActive(id, false)],
      ['a revocation', (id: string) => gqlOk(server, 'mutation($u: ID!) { revokeUserTokens(userId: $u) { userId } }', { u: id })],
      ['a deletion', (id: string) => gqlOk(server, 'mutation($id: ID!) { deleteUser(id: $id) }', { id })],
    ] as const) {
      it(`${name} on one node ends the token on the other within ROSTER_KEY_REFRESH_SECONDS`, async () => {
        const admin = await companyAdmin();
        const other = { url: sibling.url, apiKey: sibling.apiKey };
        assert.equal(await canAdminister(admin.token, other), 'yes');
        await end(admin.id);
        assert.ok(await within(10, async () => (await canAdminister(admin.token, other)) === 'UNAUTHENTICATED'), 'the other node refused the token in time');
      });
    }
  });

  it('removal from the Company Admins group is effective on the next request', async () => {
    const admin = await companyAdmin();
    assert.equal(await canAdminister(admin.token), 'yes');
    await gqlOk(server, 'mutation($g: ID!, $u: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $u) }', { g: adminsGroupId, u: [admin.id] });
    assert.equal(await canAdminister(admin.token), 'FORBIDDEN');
  });
});
