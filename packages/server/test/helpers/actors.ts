/**
 * The actor table of the authorization tests (authorization-matrix, delegation): one company (A) with a caller of
 * every kind, and another company (B) whose user must find nothing of A. Built through the public API with the
 * helpers of roster.ts.
 */
import assert from 'node:assert/strict';
import { addManagers, addMembers, createGroup, createTenant, createUser, gql, gqlOk, unique, userToken, type CreatedGroup, type CreatedUser, type Server } from './roster.ts';
import { rest } from './server.ts';

export const ACTORS = ['superAdmin', 'companyAdmin', 'accessManager', 'accessReader', 'groupManager', 'member', 'otherTenant'] as const;
export type ActorName = (typeof ACTORS)[number];
export type UserActor = Exclude<ActorName, 'superAdmin'>;

/** The platform roles (fixed ids, migration 0002). */
export const PLATFORM_ROLES = {
  companyAdmin: '00000000-0000-7000-8000-000000000001',
  accessManager: '00000000-0000-7000-8000-000000000002',
  userManager: '00000000-0000-7000-8000-000000000003',
  viewer: '00000000-0000-7000-8000-000000000004',
} as const;

export interface ActorFixture {
  readonly company: string;
  readonly otherCompany: string;
  /** Company A's platform group "Company Admins". */
  readonly adminsGroup: string;
  /** Group of A: `groupManager` manages it, `member` participates; it carries `badgeRole`. */
  readonly team: CreatedGroup;
  /** Group of A nobody of the table participates in or manages. */
  readonly unrelated: CreatedGroup;
  /** Group of B with `otherTenant` in it. */
  readonly otherGroup: CreatedGroup;
  /** A company role of A that carries no permission (so `team` grants nothing). */
  readonly badgeRole: string;
  readonly users: Readonly<Record<UserActor, CreatedUser>>;
  /** Users of A related to nothing, for membership writes. */
  readonly spare: readonly CreatedUser[];
  /** Bearer credentials per actor: the API key for the super-admin, user tokens for the others. */
  readonly tokens: Readonly<Record<ActorName, string>>;
}

/**
 * - superAdmin: the API key;
 * - companyAdmin: a member of A's "Company Admins" (the company-admin role: everything in the company);
 * - accessManager: the access-manager role, assigned directly (ACCESS_MANAGEMENT: READ, WRITE; USER_MANAGEMENT: READ);
 * - accessReader: the viewer role, assigned directly (ACCESS_MANAGEMENT: READ; USER_MANAGEMENT: READ);
 * - groupManager: manager of `team`, no role;
 * - member: participant of `team`, no role;
 * - otherTenant: a user of B.
 */
export async function actorFixture(server: Server): Promise<ActorFixture> {
  const company = await createTenant(server, unique('Company A'));
  const otherCompany = await createTenant(server, unique('Company B'));
  const user = () => createUser(server, { tenantId: company });
  const users: Record<UserActor, CreatedUser> = {
    companyAdmin: await user(),
    accessManager: await user(),
    accessReader: await user(),
    groupManager: await user(),
    member: await user(),
    otherTenant: await createUser(server, { tenantId: otherCompany }),
  };
  const spare = [await user(), await user(), await user()];
  const adminsGroup = await platformGroup(server, company);
  await addMembers(server, adminsGroup, [users.companyAdmin.id]);
  await assignRoles(server, users.accessManager.id, ['access-manager']);
  await assignRoles(server, users.accessReader.id, ['viewer']);

  const team = await createGroup(server, { tenantId: company, name: unique('Team') });
  const unrelated = await createGroup(server, { tenantId: company, name: unique('Unrelated') });
  const otherGroup = await createGroup(server, { tenantId: otherCompany });
  await addManagers(server, team.id, [users.groupManager.id]);
  await addMembers(server, team.id, [users.member.id]);
  await addMembers(server, otherGroup.id, [users.otherTenant.id]);
  const badgeRole = await createRole(server, company, unique('Badge'), []);
  await setGroupRoles(server, company, team.id, [badgeRole]);

  const tokens = { superAdmin: server.apiKey } as Record<ActorName, string>;
  for (const name of Object.keys(users) as UserActor[]) tokens[name] = await userToken(server, users[name].id);
  return { company, otherCompany, adminsGroup, team, unrelated, otherGroup, badgeRole, users, spare, tokens };
}

/** The company's "Company Admins" group. */
export async function platformGroup(server: Server, tenantId: string): Promise<string> {
  const data = await gqlOk<{ userGroups: { data: { id: string; name: string }[] } }>(
    server,
    'query($t: ID!) { userGroups(filter: { tenantId: { equalTo: $t }, type: { equalTo: "platform" } }) { data { id name } } }',
    { t: tenantId },
  );
  const group = data.userGroups.data.find((g) => g.name === 'Company Admins');
  assert.ok(group, 'every company starts with its Company Admins group');
  return group.id;
}

export async function assignRoles(server: Server, userId: string, keys: string[]): Promise<void> {
  await gqlOk(server, 'mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }', { u: userId, k: keys });
}

/** A company role, created by the super-admin; returns its id. */
export async function createRole(server: Server, tenantId: string, name: string, permissions: { permission: string; actions: string[] }[]): Promise<string> {
  const res = await gql<{ createRole: { id: string } }>(server, 'mutation($r: RoleCreateDto!) { createRole(role: $r) { id } }', {
    r: { key: unique('role'), name, tenantId, permissions },
  });
  assert.ok(res.data?.createRole, JSON.stringify(res.errors));
  return res.data.createRole.id;
}

/** Adds roles to a group as the super-admin. */
export async function setGroupRoles(server: Server, companyId: string, groupId: string, roleIds: string[]): Promise<void> {
  const res = await rest(server, 'PATCH', `/v3/companies/${companyId}/user-groups/${groupId}/roles`, { rolesToAdd: roleIds.map((roleId) => ({ roleId })) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}
