/**
 * The audit log: every write records who (API key id, `env` for ROSTER_API_KEY, or user id), in which tenant,
 * which operation on which target, the changed fields (`{ from, to }` for updates, changed fields only) and the
 * request id, in the write's own transaction, so a rejected write leaves nothing behind. It is read through
 * GraphQL `auditEvents` and REST `GET /v3/companies/{companyId}/audit-events`, newest first, by cursor; a user
 * token needs REPORT_MANAGEMENT: READ and sees its own company only. Erasing a user replaces it by one pseudonym
 * everywhere in the log, and no secret is ever recorded.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { rest, startServer, type TestServer } from './helpers/server.ts';
import { addManagers, addMembers, createGroup, createTenant, createUser, createUsers, expectError, gql, gqlOk, unique, userToken, type CreatedGroup, type CreatedUser } from './helpers/roster.ts';

interface AuditEvent {
  id: string;
  occurredAt: string;
  tenantId: string | null;
  actorKind: string;
  actorId: string | null;
  operation: string;
  targetType: string;
  targetId: string | null;
  changes: Record<string, unknown>;
  requestId: string | null;
  clientRequestId: string | null;
}

interface RestAuditEvent {
  id: string;
  occurredAt: { iso8601: string };
  companyId: string | null;
  actorKind: string;
  actorId: string | null;
  operation: string;
  targetType: string;
  targetId: string | null;
  changes: Record<string, unknown>;
  requestId: string | null;
  clientRequestId: string | null;
}

interface RestAuditPage {
  events: RestAuditEvent[];
  pagination: { nextCursor: string | null; hasNextPage: boolean };
}

interface AuditFilter {
  tenantId?: string;
  actorId?: string;
  targetId?: string;
  targetType?: string;
  operation?: string;
  occurredAfter?: string;
  occurredBefore?: string;
}

interface AuditConnection {
  data: AuditEvent[];
  endCursor: string | null;
  hasNextPage: boolean;
}

const FIELDS = 'id occurredAt tenantId actorKind actorId operation targetType targetId changes requestId clientRequestId';
const AUDIT_QUERY = `query($f: AuditEventFilter, $first: Int, $after: String) { auditEvents(filter: $f, first: $first, after: $after) { data { ${FIELDS} } endCursor hasNextPage } }`;

describe('audit log', () => {
  let server: TestServer;
  let tenantA: string;
  let tenantB: string;
  let adminsA: string;
  let admin: CreatedUser;
  let plain: CreatedUser;
  let outsider: CreatedUser;
  let adminToken: string;
  let plainToken: string;
  let outsiderToken: string;

  /** The server's id of each request sent with an `x-request-id` of the test's choosing. */
  const serverIds = new Map<string, string>();
  /** The server names the request itself; the caller's `x-request-id` is echoed as `x-client-request-id`. */
  function noteIds(response: Response, sent: string | undefined): string {
    const requestId = response.headers.get('x-request-id');
    assert.ok(requestId, 'every response carries x-request-id');
    assert.match(requestId, /^[0-9a-f-]{36}$/, 'the server makes its own request id');
    assert.equal(response.headers.get('x-client-request-id'), sent ?? null);
    if (sent) serverIds.set(sent, requestId);
    return requestId;
  }

  /** A GraphQL write or read that must succeed, sent with `x-request-id` when given; returns the response's id. */
  async function call<T>(query: string, variables: Record<string, unknown> = {}, options: { token?: string; requestId?: string } = {}): Promise<{ data: T; requestId: string }> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${options.token ?? server.apiKey}`,
        ...(options.requestId ? { 'x-request-id': options.requestId } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data: T | null; errors?: unknown[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const requestId = noteIds(response, options.requestId);
    return { data: body.data as T, requestId };
  }

  /** A REST call with a chosen request id. */
  async function restCall<T>(method: string, path: string, body: unknown, requestId: string, token = server.apiKey): Promise<{ status: number; body: T }> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    noteIds(response, requestId);
    return { status: response.status, body: (await response.json()) as T };
  }

  /** Every event matching `filter`, page by page, checking the pages neither overlap nor skip. */
  async function allEvents(filter: AuditFilter = {}, token?: string, first = 100): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    let after: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const res: { data: { auditEvents: AuditConnection } } = await call<{ auditEvents: AuditConnection }>(AUDIT_QUERY, { f: filter, first, after }, token ? { token } : {});
      const conn = res.data.auditEvents;
      assert.ok(conn.data.length <= first);
      out.push(...conn.data);
      if (!conn.hasNextPage) break;
      assert.equal(conn.data.length, first, 'a page before the last one is full');
      assert.ok(conn.endCursor);
      after = conn.endCursor;
    }
    assert.equal(new Set(out.map((e) => e.id)).size, out.length, 'no event appears twice');
    return out;
  }

  /**
   * The events a request recorded, by the id the test sent (or, sent without one, the id the response named):
   * nothing else writes meanwhile, so they are among the newest.
   */
  const byRequest = async (requestId: string) =>
    (await call<{ auditEvents: AuditConnection }>(AUDIT_QUERY, { first: 50 })).data.auditEvents.data.filter((e) => e.requestId === (serverIds.get(requestId) ?? requestId));

  /** The one event a request recorded, checked against the fields every event has. */
  async function onlyEvent(requestId: string, expected: { operation: string; tenantId: string | null; targetType: string; targetId?: string; actorKind?: string; actorId?: string | null }): Promise<AuditEvent> {
    const events = await byRequest(requestId);
    assert.deepEqual(events.map((e) => e.operation), [expected.operation], `events of request ${requestId}: ${JSON.stringify(events)}`);
    const event = events[0]!;
    assert.equal(event.tenantId, expected.tenantId);
    assert.equal(event.targetType, expected.targetType);
    if (expected.targetId !== undefined) assert.equal(event.targetId, expected.targetId);
    assert.equal(event.actorKind, expected.actorKind ?? 'apiKey');
    assert.equal(event.actorId, expected.actorId === undefined ? 'env' : expected.actorId);
    // The record names the request by the server's id, and keeps the caller's own beside it.
    assert.equal(event.requestId, serverIds.get(requestId) ?? requestId);
    assert.equal(event.clientRequestId, serverIds.has(requestId) ? requestId : null);
    assert.ok(!Number.isNaN(Date.parse(event.occurredAt)), `occurredAt ${event.occurredAt}`);
    return event;
  }

  before(async () => {
    server = await startServer();
    tenantA = await createTenant(server);
    tenantB = await createTenant(server);
    admin = await createUser(server, { tenantId: tenantA });
    plain = await createUser(server, { tenantId: tenantA });
    outsider = await createUser(server, { tenantId: tenantB });
    const groups = await gqlOk<{ userGroups: { data: { id: string; name: string }[] } }>(
      server,
      'query($t: ID!) { userGroups(filter: { tenantId: { equalTo: $t }, type: { equalTo: "platform" } }) { data { id name } } }',
      { t: tenantA },
    );
    const platform = groups.userGroups.data.find((g) => g.name === 'Company Admins');
    assert.ok(platform, 'every company starts with its Company Admins group');
    adminsA = platform.id;
    await addMembers(server, adminsA, [admin.id]);
    adminToken = await userToken(server, admin.id);
    plainToken = await userToken(server, plain.id);
    outsiderToken = await userToken(server, outsider.id);
  });
  after(() => server.close());

  it('tenant, user and group writes record actor, tenant, operation, target, changed fields and request id', async () => {
    const started = Date.now();
    const rid = () => unique('req');

    let r = rid();
    const tenantName = unique('Audited Co');
    const { data: t } = await call<{ createTenant: { id: string } }>('mutation($t: TenantCreateDto!) { createTenant(tenant: $t) { id } }', { t: { name: tenantName, reference: 'audit-ref' } }, { requestId: r });
    const tenant = t.createTenant.id;
    const tenantCreated = await onlyEvent(r, { operation: 'tenant.create', tenantId: tenant, targetType: 'tenant', targetId: tenant });
    assert.deepEqual(tenantCreated.changes, { name: tenantName, reference: 'audit-ref' });

    r = rid();
    await call('mutation($id: ID!) { updateTenant(id: $id, tenant: { name: "Renamed Co" }) { id } }', { id: tenant }, { requestId: r });
    const tenantUpdated = await onlyEvent(r, { operation: 'tenant.update', tenantId: tenant, targetType: 'tenant', targetId: tenant });
    assert.deepEqual(tenantUpdated.changes, { name: { from: tenantName, to: 'Renamed Co' } }, 'only the changed field');

    r = rid();
    const reference = unique('audited-user');
    const email = `${reference}@example.test`;
    const { data: u } = await call<{ createUser: { id: string } }>(
      'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }',
      { u: { reference, email, firstName: 'Ann', lastName: 'Lee', tenantId: tenant } },
      { requestId: r },
    );
    const user = u.createUser.id;
    const userCreated = await onlyEvent(r, { operation: 'user.create', tenantId: tenant, targetType: 'user', targetId: user });
    assert.equal(userCreated.changes.email, email);
    assert.equal(userCreated.changes.reference, reference);
    assert.equal(userCreated.changes.firstName, 'Ann');
    assert.equal(userCreated.changes.lastName, 'Lee');

    r = rid();
    // lastName is sent unchanged: it is not a change.
    await call('mutation($id: ID!) { updateUser(id: $id, user: { firstName: "Bea", lastName: "Lee" }) { id } }', { id: user }, { requestId: r });
    const userUpdated = await onlyEvent(r, { operation: 'user.update', tenantId: tenant, targetType: 'user', targetId: user });
    assert.deepEqual(userUpdated.changes, { firstName: { from: 'Ann', to: 'Bea' } });

    r = rid();
    const { data: g } = await call<{ createUserGroup: { id: string; name: string } }>(
      'mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id name } }',
      { g: { name: 'Pilots', reference: unique('pilots'), description: 'Fly', tenantId: tenant } },
      { requestId: r },
    );
    const group = g.createUserGroup.id;
    const groupCreated = await onlyEvent(r, { operation: 'userGroup.create', tenantId: tenant, targetType: 'userGroup', targetId: group });
    assert.equal(groupCreated.changes.name, 'Pilots');
    assert.equal(groupCreated.changes.description, 'Fly');

    r = rid();
    await call('mutation($id: ID!) { updateUserGroup(id: $id, userGroup: { name: "Captains", description: "Fly" }) { id } }', { id: group }, { requestId: r });
    const groupUpdated = await onlyEvent(r, { operation: 'userGroup.update', tenantId: tenant, targetType: 'userGroup', targetId: group });
    assert.deepEqual(groupUpdated.changes, { name: { from: 'Pilots', to: 'Captains' } });

    // Memberships: participants (ROQ and REST) and managers (Pluvo).
    const other = await createUser(server, { tenantId: tenant });
    r = rid();
    await call('mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }', { g: group, u: [user, other.id] }, { requestId: r });
    const added = await onlyEvent(r, { operation: 'userGroup.members.add', tenantId: tenant, targetType: 'userGroup', targetId: group });
    assert.deepEqual([...(added.changes.userIds as string[])].sort(), [user, other.id].sort());

    r = rid();
    // Re-adding a member changes nothing and records nothing.
    await call('mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }', { g: group, u: [user] }, { requestId: r });
    assert.deepEqual(await byRequest(r), []);

    r = rid();
    const removed = await restCall<unknown>('PATCH', `/v3/companies/${tenant}/user-groups/${group}/members`, { userIdsToRemove: [other.id] }, r);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const removedEvent = await onlyEvent(r, { operation: 'userGroup.members.remove', tenantId: tenant, targetType: 'userGroup', targetId: group });
    assert.deepEqual(removedEvent.changes, { userIds: [other.id] });

    r = rid();
    await call('mutation($g: UUID, $u: [UUID!]) { addManagersToGroup(groupId: $g, userIds: $u) { response { failedIds } } }', { g: group, u: [other.id] }, { requestId: r });
    const managerAdded = await onlyEvent(r, { operation: 'userGroup.managers.add', tenantId: tenant, targetType: 'userGroup', targetId: group });
    assert.deepEqual(managerAdded.changes, { userIds: [other.id] });

    r = rid();
    await call('mutation($g: UUID, $u: [UUID!]) { removeManagersFromGroup(groupId: $g, userIds: $u) { response { failedIds } } }', { g: group, u: [other.id] }, { requestId: r });
    const managerRemoved = await onlyEvent(r, { operation: 'userGroup.managers.remove', tenantId: tenant, targetType: 'userGroup', targetId: group });
    assert.deepEqual(managerRemoved.changes, { userIds: [other.id] });

    // Roles: a company role, given to the group (REST) and to the user directly.
    r = rid();
    const roleKey = unique('auditor');
    const { data: ro } = await call<{ createRole: { id: string } }>(
      'mutation($r: RoleCreateDto!) { createRole(role: $r) { id } }',
      { r: { key: roleKey, name: 'Auditor', tenantId: tenant, permissions: [{ permission: 'REPORT_MANAGEMENT', actions: ['READ'] }] } },
      { requestId: r },
    );
    const role = ro.createRole.id;
    const roleCreated = await onlyEvent(r, { operation: 'role.create', tenantId: tenant, targetType: 'role', targetId: role });
    assert.equal(roleCreated.changes.key, roleKey);
    assert.equal(roleCreated.changes.name, 'Auditor');

    r = rid();
    const patched = await restCall<unknown>('PATCH', `/v3/companies/${tenant}/user-groups/${group}/roles`, { rolesToAdd: [{ roleId: role, scope: { audiences: [] } }] }, r);
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const rolesChanged = await onlyEvent(r, { operation: 'userGroup.roles.change', tenantId: tenant, targetType: 'userGroup', targetId: group });
    assert.ok(JSON.stringify(rolesChanged.changes).includes(role), JSON.stringify(rolesChanged.changes));

    r = rid();
    await call('mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }', { u: user, k: [roleKey] }, { requestId: r });
    const assigned = await onlyEvent(r, { operation: 'user.roles.assign', tenantId: tenant, targetType: 'user', targetId: user });
    assert.deepEqual(assigned.changes, { roleIds: [role] });

    r = rid();
    await call('mutation($u: ID!, $k: [String!]!) { unassignRolesFromUser(userId: $u, roleKeys: $k) }', { u: user, k: [roleKey] }, { requestId: r });
    const unassigned = await onlyEvent(r, { operation: 'user.roles.unassign', tenantId: tenant, targetType: 'user', targetId: user });
    assert.deepEqual(unassigned.changes, { roleIds: [role] });

    r = rid();
    await call('mutation($id: ID!) { deleteUserGroup(id: $id) }', { id: group }, { requestId: r });
    await onlyEvent(r, { operation: 'userGroup.delete', tenantId: tenant, targetType: 'userGroup', targetId: group });

    r = rid();
    await call('mutation($id: ID!) { deleteUser(id: $id) }', { id: other.id }, { requestId: r });
    const deleted = await onlyEvent(r, { operation: 'user.delete', tenantId: tenant, targetType: 'user' });
    assert.match(deleted.targetId ?? '', /^erased:/);

    // Without an x-request-id of its own, the request id recorded is the one the response names.
    const { data: quiet, requestId: generated } = await call<{ createUser: { id: string } }>('mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', {
      u: { reference: unique('quiet'), email: `${unique('quiet')}@example.test`, tenantId: tenant },
    });
    await onlyEvent(generated, { operation: 'user.create', tenantId: tenant, targetType: 'user', targetId: quiet.createUser.id });

    // Every event of the tenant is from this test, in time, newest first.
    const events = await allEvents({ tenantId: tenant });
    assert.ok(events.length >= 18, `${events.length} events`);
    for (const e of events) {
      assert.equal(e.tenantId, tenant);
      const at = Date.parse(e.occurredAt);
      assert.ok(at >= started - 5000 && at <= Date.now() + 5000, `occurredAt ${e.occurredAt} is the time of the write`);
    }
    for (let i = 1; i < events.length; i++) assert.ok(Date.parse(events[i - 1]!.occurredAt) >= Date.parse(events[i]!.occurredAt), 'newest first');
    assert.equal(events.at(-1)!.operation, 'tenant.create');
    assert.equal(events[0]!.operation, 'user.create');
  });

  it('the actor is the API key id (env for ROSTER_API_KEY), also through a service-account token, or the user', async () => {
    const { data: created } = await call<{ createApiKey: { apiKey: { id: string }; key: string } }>('mutation { createApiKey(name: "audit actor") { apiKey { id } key } }');
    const keyId = created.createApiKey.apiKey.id;
    const key = created.createApiKey.key;

    let r = unique('req');
    const { data: viaKey } = await call<{ createUser: { id: string } }>('mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference: unique('k'), email: `${unique('k')}@example.test`, tenantId: tenantA } }, { token: key, requestId: r });
    await onlyEvent(r, { operation: 'user.create', tenantId: tenantA, targetType: 'user', targetId: viaKey.createUser.id, actorKind: 'apiKey', actorId: keyId });

    const exchange = await fetch(`${server.url}/v01/authorize/serviceAccount`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: key }) });
    assert.equal(exchange.status, 200);
    const { accessToken } = (await exchange.json()) as { accessToken: string };
    r = unique('req');
    await call('mutation($id: ID!) { updateUser(id: $id, user: { firstName: "Svc" }) { id } }', { id: viaKey.createUser.id }, { token: accessToken, requestId: r });
    await onlyEvent(r, { operation: 'user.update', tenantId: tenantA, targetType: 'user', targetId: viaKey.createUser.id, actorKind: 'apiKey', actorId: keyId });

    // A company admin's own write names the admin.
    r = unique('req');
    const { data: g } = await call<{ createUserGroup: { id: string } }>('mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id } }', { g: { name: unique('By admin'), reference: unique('by-admin'), tenantId: tenantA } }, { token: adminToken, requestId: r });
    await onlyEvent(r, { operation: 'userGroup.create', tenantId: tenantA, targetType: 'userGroup', targetId: g.createUserGroup.id, actorKind: 'user', actorId: admin.id });

    // The filter by actor finds exactly these.
    const byKey = await allEvents({ actorId: keyId });
    assert.deepEqual(byKey.map((e) => e.operation).sort(), ['user.create', 'user.update']);
    const byAdmin = await allEvents({ actorId: admin.id });
    assert.deepEqual(byAdmin.map((e) => e.targetId), [g.createUserGroup.id]);
  });

  it('API key and signing key operations are recorded without a tenant, and no secret is ever recorded', async () => {
    let r = unique('req');
    const { data: c } = await call<{ createApiKey: { apiKey: { id: string; prefix: string }; key: string } }>('mutation { createApiKey(name: "audited key") { apiKey { id prefix } key } }', {}, { requestId: r });
    const first = c.createApiKey;
    const createdEvent = await onlyEvent(r, { operation: 'apiKey.create', tenantId: null, targetType: 'apiKey', targetId: first.apiKey.id });
    assert.equal(createdEvent.changes.name, 'audited key');
    assert.equal(createdEvent.changes.prefix, first.apiKey.prefix);

    r = unique('req');
    const { data: rot } = await call<{ rotateApiKey: { apiKey: { id: string }; key: string } }>('mutation($id: ID!) { rotateApiKey(id: $id, gracePeriodSeconds: 60) { apiKey { id } key } }', { id: first.apiKey.id }, { requestId: r });
    const second = rot.rotateApiKey;
    const rotated = await onlyEvent(r, { operation: 'apiKey.rotate', tenantId: null, targetType: 'apiKey', targetId: first.apiKey.id });
    assert.equal(rotated.changes.replacedBy, second.apiKey.id);

    r = unique('req');
    const revoked = await restCall<{ id: string }>('DELETE', `/v3/api-keys/${second.apiKey.id}`, undefined, r);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    await onlyEvent(r, { operation: 'apiKey.revoke', tenantId: null, targetType: 'apiKey', targetId: second.apiKey.id });

    r = unique('req');
    const { data: sk } = await call<{ rotateSigningKey: { kid: string } }>('mutation { rotateSigningKey { kid } }', {}, { requestId: r });
    await onlyEvent(r, { operation: 'signingKey.rotate', tenantId: null, targetType: 'signingKey', targetId: sk.rotateSigningKey.kid });

    // The filters by target type and operation.
    const keyEvents = await allEvents({ targetType: 'apiKey', targetId: first.apiKey.id });
    assert.deepEqual(keyEvents.map((e) => e.operation), ['apiKey.rotate', 'apiKey.create']);
    assert.ok((await allEvents({ operation: 'signingKey.rotate' })).some((e) => e.targetId === sk.rotateSigningKey.kid));

    // Keys of no tenant are not in a company's log.
    const companyLog = await rest<RestAuditPage>(server, 'GET', `/v3/companies/${tenantA}/audit-events`);
    assert.equal(companyLog.status, 200);
    assert.ok(companyLog.body.events.every((e) => e.companyId === tenantA && e.targetType !== 'apiKey'));

    const everything = JSON.stringify(await allEvents());
    for (const secret of [first.key, second.key, server.apiKey]) {
      assert.ok(!everything.includes(secret), 'a key is never recorded');
      assert.ok(!everything.includes(secret.slice(11)), 'not even the part after the prefix');
    }
  });

  describe('paging and filters', () => {
    let tenant: string;
    let users: string[];
    let group: CreatedGroup;
    let all: AuditEvent[];

    before(async () => {
      tenant = await createTenant(server);
      users = [];
      for (let i = 0; i < 7; i++) users.push((await createUser(server, { tenantId: tenant })).id);
      group = await createGroup(server, { tenantId: tenant });
      await addMembers(server, group.id, users.slice(0, 3));
      await addManagers(server, group.id, [users[3]!]);
      const conn = (await call<{ auditEvents: AuditConnection }>(AUDIT_QUERY, { f: { tenantId: tenant }, first: 1000 })).data.auditEvents;
      assert.equal(conn.hasNextPage, false);
      assert.equal(conn.endCursor === null, conn.data.length === 0);
      all = conn.data;
    });

    it('GraphQL: newest first; pages of any size cover every event exactly once', async () => {
      // tenant.create, 7 × user.create, userGroup.create, members.add, managers.add
      assert.deepEqual(
        all.map((e) => e.operation),
        ['userGroup.managers.add', 'userGroup.members.add', 'userGroup.create', ...Array.from({ length: 7 }, () => 'user.create'), 'tenant.create'],
      );
      assert.deepEqual(all.filter((e) => e.operation === 'user.create').map((e) => e.targetId), [...users].reverse());
      for (const size of [1, 3, 4, 11]) {
        const paged = await allEvents({ tenantId: tenant }, undefined, size);
        assert.deepEqual(paged.map((e) => e.id), all.map((e) => e.id), `pages of ${size}`);
      }
      // The last page says so, and a cursor that is not one, or a page size out of range, is refused.
      const last = (await call<{ auditEvents: AuditConnection }>(AUDIT_QUERY, { f: { tenantId: tenant }, first: all.length })).data.auditEvents;
      assert.equal(last.hasNextPage, false);
      expectError(await gql(server, AUDIT_QUERY, { f: { tenantId: tenant }, first: 2, after: 'not-a-cursor' }), 'BAD_USER_INPUT', 'after');
      expectError(await gql(server, AUDIT_QUERY, { f: { tenantId: tenant }, first: 0 }), 'BAD_USER_INPUT', 'first');
    });

    it('GraphQL filters: operation, actor, target, target type and time window', async () => {
      const creations = await allEvents({ tenantId: tenant, operation: 'user.create' });
      assert.deepEqual(creations.map((e) => e.targetId), [...users].reverse());
      const aboutGroup = await allEvents({ tenantId: tenant, targetType: 'userGroup', targetId: group.id });
      assert.deepEqual(aboutGroup.map((e) => e.operation), ['userGroup.managers.add', 'userGroup.members.add', 'userGroup.create']);
      assert.deepEqual((await allEvents({ tenantId: tenant, actorId: 'env', operation: 'tenant.create' })).map((e) => e.targetId), [tenant]);
      assert.deepEqual(await allEvents({ tenantId: tenant, actorId: users[0] }), []);
      assert.deepEqual((await allEvents({ tenantId: tenant, targetType: 'tenant' })).map((e) => e.operation), ['tenant.create']);

      const oldest = all.at(-1)!;
      const future = new Date(Date.now() + 3600_000).toISOString();
      assert.equal((await allEvents({ tenantId: tenant, occurredAfter: oldest.occurredAt, occurredBefore: future })).length, all.length);
      assert.deepEqual(await allEvents({ tenantId: tenant, occurredAfter: future }), []);
      assert.deepEqual(await allEvents({ tenantId: tenant, occurredBefore: oldest.occurredAt }), []);
    });

    it('REST: the same events and fields; filters by operation, actor, target and target type', async () => {
      const page = await rest<RestAuditPage>(server, 'GET', `/v3/companies/${tenant}/audit-events`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.equal(page.body.pagination.hasNextPage, false);
      assert.deepEqual(
        page.body.events.map((e) => ({ ...e, occurredAt: e.occurredAt.iso8601 })),
        all.map((e) => ({ id: e.id, occurredAt: e.occurredAt, companyId: e.tenantId, actorKind: e.actorKind, actorId: e.actorId, operation: e.operation, targetType: e.targetType, targetId: e.targetId, changes: e.changes, requestId: e.requestId, clientRequestId: e.clientRequestId })),
      );
      const ids = async (query: string) => {
        const res = await rest<RestAuditPage>(server, 'GET', `/v3/companies/${tenant}/audit-events?${query}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body.events.map((e) => e.id);
      };
      const select = (p: (e: AuditEvent) => boolean) => all.filter(p).map((e) => e.id);
      assert.deepEqual(await ids('operation=user.create'), select((e) => e.operation === 'user.create'));
      assert.deepEqual(await ids(`targetType=userGroup&targetId=${group.id}`), select((e) => e.targetId === group.id));
      assert.deepEqual(await ids('actorId=env&operation=tenant.create'), select((e) => e.operation === 'tenant.create'));
      assert.deepEqual(await ids(`actorId=${users[0]}`), []);
      assert.deepEqual(await ids(`occurredAfter=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`), []);
    });

    it('REST: limit and the nextCursor page through every event exactly once', async () => {
      const restIds: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 20; page++) {
        const query: string = `limit=3${after ? `&after=${encodeURIComponent(after)}` : ''}`;
        const res: { status: number; body: RestAuditPage } = await rest<RestAuditPage>(server, 'GET', `/v3/companies/${tenant}/audit-events?${query}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok(res.body.events.length <= 3);
        restIds.push(...res.body.events.map((e) => e.id));
        if (!res.body.pagination.hasNextPage) break;
        after = res.body.pagination.nextCursor;
        assert.ok(after);
      }
      assert.deepEqual(restIds, all.map((e) => e.id));
      // Query strings are read as numbers, but only valid ones.
      for (const bad of ['limit=0', 'limit=abc', 'limit=1.5', 'limit=100000', 'after=not-a-cursor']) {
        const res = await rest<{ errorMessages: { errorCode: string }[] }>(server, 'GET', `/v3/companies/${tenant}/audit-events?${bad}`);
        assert.equal(res.status, 400, `${bad}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.errorMessages[0]?.errorCode, 'BAD_USER_INPUT');
      }
    });
  });

  it('a user token reads its own company with REPORT_MANAGEMENT: READ; without it 403; another company 404', async () => {
    // Something in each company.
    await createUser(server, { tenantId: tenantA });
    await createUser(server, { tenantId: tenantB });

    const mine = await allEvents({}, adminToken);
    assert.ok(mine.length > 0);
    assert.ok(mine.every((e) => e.tenantId === tenantA), 'only its own company');
    const superView = await allEvents({ tenantId: tenantA });
    assert.deepEqual(mine.map((e) => e.id), superView.map((e) => e.id), 'all of it');
    // Naming the other company does not widen the view.
    expectError(await gql(server, AUDIT_QUERY, { f: { tenantId: tenantB } }, { token: adminToken }), 'NOT_FOUND');

    const viaRest = await rest<RestAuditPage>(server, 'GET', `/v3/companies/${tenantA}/audit-events`, undefined, adminToken);
    assert.equal(viaRest.status, 200);
    assert.deepEqual(viaRest.body.events.map((e) => e.id), superView.slice(0, 100).map((e) => e.id));
    const foreign = await rest<{ errorMessages: { errorCode: string }[] }>(server, 'GET', `/v3/companies/${tenantB}/audit-events`, undefined, adminToken);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.errorMessages[0]?.errorCode, 'NOT_FOUND');

    // Without REPORT_MANAGEMENT: READ.
    expectError(await gql(server, AUDIT_QUERY, {}, { token: plainToken }), 'FORBIDDEN');
    const denied = await rest<{ errorMessages: { errorCode: string }[] }>(server, 'GET', `/v3/companies/${tenantA}/audit-events`, undefined, plainToken);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.errorMessages[0]?.errorCode, 'FORBIDDEN');
    assert.equal((await rest(server, 'GET', `/v3/companies/${tenantA}/audit-events`, undefined, outsiderToken)).status, 404);
    // An unknown company is not found for the super-admin either; no credentials is 401.
    assert.equal((await rest(server, 'GET', `/v3/companies/${randomUUID()}/audit-events`)).status, 404);
    const anonymous = await fetch(`${server.url}/v3/companies/${tenantA}/audit-events`);
    assert.equal(anonymous.status, 401);

    // A company role with REPORT_MANAGEMENT: READ (and nothing else) is enough.
    const key = unique('report-reader');
    const role = await gqlOk<{ createRole: { id: string } }>(server, 'mutation($r: RoleCreateDto!) { createRole(role: $r) { id } }', { r: { key, name: 'Report reader', tenantId: tenantA, permissions: [{ permission: 'REPORT_MANAGEMENT', actions: ['READ'] }] } });
    assert.ok(role.createRole.id);
    const reader = await createUser(server, { tenantId: tenantA });
    await gqlOk(server, 'mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }', { u: reader.id, k: [key] });
    const readerView = await allEvents({}, await userToken(server, reader.id));
    assert.ok(readerView.length > 0 && readerView.every((e) => e.tenantId === tenantA));
  });

  it('a rejected write leaves no audit record', async () => {
    const victim = await createUser(server, { tenantId: tenantA, firstName: 'Kept' });
    const group = await createGroup(server, { tenantId: tenantA });
    await addMembers(server, group.id, [victim.id]);
    const beforeIds = (await allEvents()).map((e) => e.id);

    let rejected = 0;
    const expectGql = async (what: string, query: string, variables: Record<string, unknown>, code: 'BAD_USER_INPUT' | 'CONFLICT' | 'FORBIDDEN' | 'NOT_FOUND', token?: string) => {
      const res = await gql(server, query, variables, token ? { token } : {});
      assert.ok(res.errors?.length, `${what}: expected ${code}`);
      expectError(res, code);
      rejected++;
    };
    const CREATE_USER = 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }';
    await expectGql('invalid e-mail', CREATE_USER, { u: { reference: unique('bad'), email: 'not-an-email', tenantId: tenantA } }, 'BAD_USER_INPUT');
    await expectGql('duplicate reference', CREATE_USER, { u: { reference: victim.reference, email: `${unique('dup')}@example.test`, tenantId: tenantA } }, 'CONFLICT');
    await expectGql('stale version', 'mutation($id: ID!) { updateUser(id: $id, user: { firstName: "Changed" }, expectedVersion: 999) { id } }', { id: victim.id }, 'CONFLICT');
    await expectGql('invalid update', 'mutation($id: ID!) { updateUser(id: $id, user: { locale: "??" }) { id } }', { id: victim.id }, 'BAD_USER_INPUT');
    await expectGql('unknown member', 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }', { g: group.id, u: [victim.id, randomUUID()] }, 'NOT_FOUND');
    await expectGql('other-tenant member', 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }', { g: group.id, u: [outsider.id] }, 'NOT_FOUND');
    await expectGql('unknown role key', 'mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }', { u: victim.id, k: ['no-such-role'] }, 'NOT_FOUND');
    await expectGql('platform group rename', 'mutation($id: ID!) { updateUserGroup(id: $id, userGroup: { name: "Renamed" }) { id } }', { id: adminsA }, 'FORBIDDEN');
    await expectGql('plain member creates a group', 'mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id } }', { g: { name: 'No', reference: unique('no'), tenantId: tenantA } }, 'FORBIDDEN', plainToken);
    await expectGql('user token creates a user', CREATE_USER, { u: { reference: unique('no'), email: `${unique('no')}@example.test` } }, 'FORBIDDEN', adminToken);
    await expectGql('user token creates an API key', 'mutation { createApiKey(name: "no") { key } }', {}, 'FORBIDDEN', adminToken);
    await expectGql('API key expiring in the past', 'mutation { createApiKey(name: "old", expiresAt: "2000-01-01T00:00:00Z") { key } }', {}, 'BAD_USER_INPUT');
    await expectGql('revoking an unknown key', 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: randomUUID() }, 'NOT_FOUND');
    await expectGql('user token rotates the signing key', 'mutation { rotateSigningKey { kid } }', {}, 'FORBIDDEN', adminToken);

    const restRoles = await rest<unknown>(server, 'PATCH', `/v3/companies/${tenantA}/user-groups/${group.id}/roles`, { rolesToAdd: [{ roleId: randomUUID(), scope: { audiences: [] } }] });
    assert.equal(restRoles.status, 400, 'an unknown role is refused inside the transaction');
    const restMembers = await rest<unknown>(server, 'PATCH', `/v3/companies/${tenantA}/user-groups/${group.id}/members`, { userIdsToAdd: [outsider.id] });
    assert.equal(restMembers.status, 400);
    const restDenied = await rest<unknown>(server, 'PATCH', `/v3/companies/${tenantA}/user-groups/${group.id}`, { name: 'No' }, plainToken);
    assert.equal(restDenied.status, 403);
    assert.equal(rejected, 14);

    const afterIds = (await allEvents()).map((e) => e.id);
    assert.deepEqual(afterIds, beforeIds, 'no rejected write left a record');

    // A write that succeeds right after is recorded: the log was not simply stuck.
    await gqlOk(server, 'mutation($id: ID!) { updateUser(id: $id, user: { firstName: "Changed" }) { id } }', { id: victim.id });
    assert.equal((await allEvents()).length, beforeIds.length + 1);
  });

  it('a record of 1,000 subjects goes straight into the subjects index, leaving no pending list to merge later', async () => {
    const db = server.database.db;
    const { rows: options } = await sql<{ reloptions: string[] | null }>`
      select reloptions from pg_class where relname = 'audit_log__subjects'`.execute(db);
    assert.deepEqual(options[0]?.reloptions, ['fastupdate=off']);
    if (server.database.kind !== 'postgres') return; // pageinspect, which shows the pending list, is PostgreSQL's
    const users = await createUsers(server, 1_000, tenantA);
    const group = await createGroup(server, { tenantId: tenantA });
    await addMembers(server, group.id, users.map((u) => u.id));
    const { rows: records } = await sql<{ n: number }>`
      select cardinality(subjects) as n from audit_log where target_id = ${group.id} and operation = 'userGroup.members.add'`.execute(db);
    assert.deepEqual(records.map((r) => r.n), [1_000]);
    await sql`create extension if not exists pageinspect`.execute(db);
    const { rows: meta } = await sql<{ n_pending_tuples: string }>`
      select n_pending_tuples::text from gin_metapage_info(get_raw_page('audit_log__subjects', 0))`.execute(db);
    assert.equal(meta[0]?.n_pending_tuples, '0', 'with the pending list on, the 1,000 entries would wait in it');
  });

  it('erasing a user leaves only one pseudonym in its place: no id, e-mail, reference or name anywhere in the log', async () => {
    const tenant = await createTenant(server);
    const marker = unique('Zq');
    const reference = `ref-${marker}`;
    const email = `mail-${marker}@example.test`.toLowerCase();
    const firstName = `First${marker}`;
    const lastName = `Last${marker}`;
    const renamed = `Renamed${marker}`;
    const x = (await gqlOk<{ createUser: { id: string } }>(server, 'mutation($u: UserCreateDto!) { createUser(user: $u) { id } }', { u: { reference, email, firstName, lastName, tenantId: tenant } })).createUser.id;
    const bystander = await createUser(server, { tenantId: tenant });
    await gqlOk(server, 'mutation($id: ID!, $n: String!) { updateUser(id: $id, user: { firstName: $n, phone: "+31612345678" }) { id } }', { id: x, n: renamed });

    const group: CreatedGroup = await createGroup(server, { tenantId: tenant });
    await addMembers(server, group.id, [x, bystander.id]);
    await addManagers(server, group.id, [x]);
    const roleKey = unique('erasable');
    await gqlOk(server, 'mutation($r: RoleCreateDto!) { createRole(role: $r) { id } }', { r: { key: roleKey, name: 'Erasable', tenantId: tenant } });
    await gqlOk(server, 'mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }', { u: x, k: [roleKey] });

    // x acts as a company admin, so it is an actor as well.
    const admins = await gqlOk<{ userGroups: { data: { id: string }[] } }>(server, 'query($t: ID!) { userGroups(filter: { tenantId: { equalTo: $t }, type: { equalTo: "platform" } }) { data { id } } }', { t: tenant });
    await addMembers(server, admins.userGroups.data[0]!.id, [x]);
    const xToken = await userToken(server, x);
    const ownGroup = (await call<{ createUserGroup: { id: string } }>('mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id } }', { g: { name: unique('x made'), reference: unique('x-made'), tenantId: tenant } }, { token: xToken })).data.createUserGroup.id;

    const beforeErasure = await allEvents({ tenantId: tenant });
    const aboutX = beforeErasure.filter((e) => e.targetId === x).map((e) => e.id);
    const byX = beforeErasure.filter((e) => e.actorId === x).map((e) => e.id);
    const membershipsOfX = beforeErasure.filter((e) => JSON.stringify(e.changes).includes(x) && e.targetType === 'userGroup').map((e) => e.id);
    assert.equal(aboutX.length, 3, 'user.create, user.update, user.roles.assign');
    assert.equal(byX.length, 1);
    assert.equal(membershipsOfX.length, 3, 'members.add, managers.add, and the admins group');
    const logBefore = JSON.stringify(beforeErasure);
    for (const value of [x, email, reference, firstName, lastName, renamed]) assert.ok(logBefore.includes(value), `the log names ${value} before erasure`);

    await gqlOk(server, 'mutation($id: ID!) { deleteUser(id: $id) }', { id: x });

    const afterErasure = await allEvents({ tenantId: tenant });
    const everything = JSON.stringify(await allEvents());
    const viaRest = JSON.stringify((await rest<RestAuditPage>(server, 'GET', `/v3/companies/${tenant}/audit-events`)).body);
    for (const value of [x, email, reference, firstName, lastName, renamed, '+31612345678']) {
      assert.ok(!everything.toLowerCase().includes(value.toLowerCase()), `the log no longer contains ${value}`);
      assert.ok(!viaRest.toLowerCase().includes(value.toLowerCase()), `the REST log no longer contains ${value}`);
    }

    const deletion = afterErasure.find((e) => e.operation === 'user.delete');
    assert.ok(deletion);
    const pseudonym = deletion.targetId!;
    assert.match(pseudonym, /^erased:/);
    assert.equal(afterErasure.length, beforeErasure.length + 1, 'erasure keeps every record');
    const byId = new Map(afterErasure.map((e) => [e.id, e]));
    for (const id of aboutX) assert.equal(byId.get(id)!.targetId, pseudonym, 'earlier records about the user carry the same pseudonym');
    for (const id of byX) {
      assert.equal(byId.get(id)!.actorId, pseudonym, "the user's own writes name the pseudonym as actor");
      assert.equal(byId.get(id)!.targetId, ownGroup);
    }
    for (const id of membershipsOfX) {
      const ids = byId.get(id)!.changes.userIds as string[];
      assert.ok(ids.includes(pseudonym), `membership records list the pseudonym: ${JSON.stringify(ids)}`);
    }
    const added = afterErasure.find((e) => e.operation === 'userGroup.members.add' && e.targetId === group.id)!;
    assert.deepEqual([...(added.changes.userIds as string[])].sort(), [pseudonym, bystander.id].sort(), 'other users stay as they were');
    // Which fields changed is kept, not their values.
    const update = afterErasure.find((e) => e.operation === 'user.update' && e.targetId === pseudonym)!;
    assert.deepEqual(Object.keys(update.changes).sort(), ['firstName', 'phone']);
    // The pseudonym finds the records, as the id did.
    assert.deepEqual((await allEvents({ targetId: pseudonym })).map((e) => e.id).sort(), [...aboutX, deletion.id].sort());
    assert.deepEqual(await allEvents({ actorId: x }), []);
    // The bystander is untouched.
    assert.ok(everything.includes(bystander.id));
    assert.ok(everything.includes(bystander.email));
  });
});
