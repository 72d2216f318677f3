/**
 * No escalation through delegation (services/delegation.ts), as a table of actor × action × resource, each row run
 * through every transport offering the action (GraphQL ROQ and Pluvo mutations, REST):
 *
 * - creating a role needs every permission and action it carries;
 * - assigning a role to a group or a user needs every permission and action of the role;
 * - adding anyone (oneself included) to a group needs every permission of the group's roles, for access managers
 *   and group managers alike;
 * - the members of the platform group "Company Admins" are changed only by a company admin (a member of it) or the
 *   super-admin, not by someone holding the company-admin role some other way.
 *
 * A refusal is FORBIDDEN naming what the caller lacks, and changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rest, startServer, unique, type TestServer } from './helpers/server.ts';
import { addMembers, createGroup, createUser, gql, gqlOk, memberIds, userToken, type CreatedGroup, type CreatedUser } from './helpers/roster.ts';
import { PLATFORM_ROLES, actorFixture, createRole, setGroupRoles, type ActorFixture, type ActorName } from './helpers/actors.ts';

/** The actors of helpers/actors.ts, and one holding the company-admin role through another group than "Company Admins". */
type Actor = ActorName | 'adminRoleHolder';
type Transport = 'graphql' | 'roq' | 'pluvo' | 'rest';
type Expected = 'ok' | 'FORBIDDEN' | 'NOT_FOUND';

type Action =
  | { kind: 'createRole'; permissions: string }
  | { kind: 'assignGroupRole'; role: RoleName }
  | { kind: 'assignUserRole'; role: RoleName }
  | { kind: 'addMember'; group: GroupName; subject: 'self' | 'spare' }
  | { kind: 'removeMember'; group: GroupName };
type RoleName = 'reports' | 'users' | 'platformOps' | 'viewer' | 'companyAdmin';
type GroupName = 'admins' | 'reporters' | 'readers' | 'plain' | 'team' | 'managedReporters';

interface Case {
  readonly actor: Actor;
  readonly action: Action;
  readonly expect: Expected;
  /** Text the refusal must contain: what the actor lacks. */
  readonly lacks?: string;
}

const TRANSPORTS: Record<Action['kind'], Transport[]> = {
  createRole: ['graphql', 'rest'],
  assignGroupRole: ['rest'], // GraphQL has no mutation for a group's roles
  assignUserRole: ['graphql'], // REST has no route for a user's direct roles
  addMember: ['roq', 'pluvo', 'rest'],
  removeMember: ['roq', 'pluvo', 'rest'],
};

const create = (permissions: string): Action => ({ kind: 'createRole', permissions });
const toGroup = (role: RoleName): Action => ({ kind: 'assignGroupRole', role });
const add = (group: GroupName, subject: 'self' | 'spare'): Action => ({ kind: 'addMember', group, subject });
const COMPANY_ADMIN_ONLY = 'company admin';

const CASES: Case[] = [
  // Creating roles: only with what one holds.
  { actor: 'superAdmin', action: create('PLATFORM_MANAGEMENT: READ'), expect: 'ok' },
  { actor: 'companyAdmin', action: create('REPORT_MANAGEMENT: READ'), expect: 'ok' },
  { actor: 'companyAdmin', action: create('ACCESS_MANAGEMENT: ALL'), expect: 'ok' },
  { actor: 'companyAdmin', action: create('PLATFORM_MANAGEMENT: READ'), expect: 'FORBIDDEN', lacks: 'PLATFORM_MANAGEMENT: READ' },
  { actor: 'accessManager', action: create('REPORT_MANAGEMENT: READ'), expect: 'FORBIDDEN', lacks: 'REPORT_MANAGEMENT: READ' },
  { actor: 'accessManager', action: create('ACCESS_MANAGEMENT: ALL'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: ALL' },
  { actor: 'accessManager', action: create('ACCESS_MANAGEMENT: WRITE'), expect: 'ok' },
  { actor: 'accessManager', action: create('USER_MANAGEMENT: READ'), expect: 'ok' },
  { actor: 'accessManager', action: create('USER_MANAGEMENT: READ, WRITE'), expect: 'FORBIDDEN', lacks: 'USER_MANAGEMENT: WRITE' },
  { actor: 'accessReader', action: create('USER_MANAGEMENT: READ'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: WRITE' },
  { actor: 'groupManager', action: create('USER_MANAGEMENT: READ'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: WRITE' },
  { actor: 'member', action: create('USER_MANAGEMENT: READ'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: WRITE' },
  { actor: 'otherTenant', action: create('USER_MANAGEMENT: READ'), expect: 'NOT_FOUND' },
  { actor: 'adminRoleHolder', action: create('REPORT_MANAGEMENT: READ'), expect: 'ok' },

  // Assigning a role to a group (the access manager's own group): only a role one holds entirely.
  { actor: 'superAdmin', action: toGroup('platformOps'), expect: 'ok' },
  { actor: 'companyAdmin', action: toGroup('reports'), expect: 'ok' },
  { actor: 'companyAdmin', action: toGroup('companyAdmin'), expect: 'ok' },
  { actor: 'companyAdmin', action: toGroup('platformOps'), expect: 'FORBIDDEN', lacks: 'PLATFORM_MANAGEMENT: READ' },
  { actor: 'accessManager', action: toGroup('reports'), expect: 'FORBIDDEN', lacks: 'Granting role "Reports" needs REPORT_MANAGEMENT: READ, which you do not hold' },
  { actor: 'accessManager', action: toGroup('companyAdmin'), expect: 'FORBIDDEN', lacks: 'COMPANY_MANAGEMENT: ALL' },
  { actor: 'accessManager', action: toGroup('viewer'), expect: 'ok' },
  { actor: 'accessManager', action: toGroup('users'), expect: 'ok' },
  { actor: 'accessReader', action: toGroup('viewer'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: WRITE' },
  { actor: 'groupManager', action: toGroup('users'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: WRITE' },
  { actor: 'member', action: toGroup('users'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: WRITE' },
  { actor: 'otherTenant', action: toGroup('users'), expect: 'NOT_FOUND' },

  // Assigning a role to a user directly: the super-admin's only.
  { actor: 'superAdmin', action: { kind: 'assignUserRole', role: 'reports' }, expect: 'ok' },
  { actor: 'companyAdmin', action: { kind: 'assignUserRole', role: 'users' }, expect: 'FORBIDDEN' },
  { actor: 'accessManager', action: { kind: 'assignUserRole', role: 'users' }, expect: 'FORBIDDEN' },

  // Joining "Company Admins": a company admin's or the super-admin's doing only.
  { actor: 'superAdmin', action: add('admins', 'spare'), expect: 'ok' },
  { actor: 'companyAdmin', action: add('admins', 'spare'), expect: 'ok' },
  { actor: 'accessManager', action: add('admins', 'self'), expect: 'FORBIDDEN', lacks: COMPANY_ADMIN_ONLY },
  { actor: 'accessManager', action: add('admins', 'spare'), expect: 'FORBIDDEN', lacks: COMPANY_ADMIN_ONLY },
  { actor: 'adminRoleHolder', action: add('admins', 'self'), expect: 'FORBIDDEN', lacks: COMPANY_ADMIN_ONLY },
  { actor: 'accessReader', action: add('admins', 'self'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: WRITE' },
  { actor: 'groupManager', action: add('admins', 'self'), expect: 'FORBIDDEN' },
  { actor: 'member', action: add('admins', 'self'), expect: 'FORBIDDEN' },
  { actor: 'otherTenant', action: add('admins', 'self'), expect: 'NOT_FOUND' },
  // Leaving it made to happen: the same.
  { actor: 'companyAdmin', action: { kind: 'removeMember', group: 'admins' }, expect: 'ok' },
  { actor: 'accessManager', action: { kind: 'removeMember', group: 'admins' }, expect: 'FORBIDDEN', lacks: COMPANY_ADMIN_ONLY },
  { actor: 'adminRoleHolder', action: { kind: 'removeMember', group: 'admins' }, expect: 'FORBIDDEN', lacks: COMPANY_ADMIN_ONLY },

  // Joining a group: only one whose roles grant nothing beyond what the actor holds.
  { actor: 'accessManager', action: add('reporters', 'self'), expect: 'FORBIDDEN', lacks: 'REPORT_MANAGEMENT: READ (granted by its role "Reports")' },
  { actor: 'accessManager', action: add('reporters', 'spare'), expect: 'FORBIDDEN', lacks: 'REPORT_MANAGEMENT: READ' },
  { actor: 'accessManager', action: add('readers', 'self'), expect: 'ok' },
  { actor: 'accessManager', action: add('plain', 'spare'), expect: 'ok' },
  { actor: 'companyAdmin', action: add('reporters', 'self'), expect: 'ok' },
  { actor: 'adminRoleHolder', action: add('reporters', 'spare'), expect: 'ok' },
  { actor: 'accessReader', action: add('plain', 'spare'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: WRITE' },
  { actor: 'member', action: add('plain', 'spare'), expect: 'FORBIDDEN', lacks: 'ACCESS_MANAGEMENT: WRITE' },
  { actor: 'otherTenant', action: add('plain', 'spare'), expect: 'NOT_FOUND' },
  // A group manager adds people to its group only if the group grants nothing beyond what the manager holds.
  { actor: 'groupManager', action: add('team', 'spare'), expect: 'ok' },
  { actor: 'groupManager', action: add('managedReporters', 'spare'), expect: 'FORBIDDEN', lacks: 'REPORT_MANAGEMENT: READ' },
  { actor: 'groupManager', action: add('managedReporters', 'self'), expect: 'FORBIDDEN', lacks: 'REPORT_MANAGEMENT: READ' },
  { actor: 'groupManager', action: add('plain', 'spare'), expect: 'FORBIDDEN' },
  // Removing hands nothing out.
  { actor: 'accessManager', action: { kind: 'removeMember', group: 'reporters' }, expect: 'ok' },
  { actor: 'groupManager', action: { kind: 'removeMember', group: 'managedReporters' }, expect: 'ok' },
];

const PERMISSIONS = (text: string) => {
  const [permission, actions] = text.split(': ') as [string, string];
  return [{ permission, actions: actions.split(', ') }];
};

interface Outcome {
  readonly code: Expected;
  readonly message: string;
}

describe('delegation: nobody grants what they do not hold', () => {
  let server: TestServer;
  let fx: ActorFixture;
  let holder: CreatedUser;
  let spare: CreatedUser;
  const tokens = {} as Record<Actor, string>;
  const users = {} as Record<Actor, string>;
  const roles = {} as Record<RoleName, string>;
  const roleKeys = {} as Record<RoleName, string>;
  const groups = {} as Record<GroupName, string>;
  /** The access manager's own group: the target of role assignments. */
  let ownGroup: CreatedGroup;

  before(async () => {
    server = await startServer();
    fx = await actorFixture(server);
    const tenantId = fx.company;
    spare = await createUser(server, { tenantId });
    holder = await createUser(server, { tenantId });
    Object.assign(tokens, fx.tokens, { adminRoleHolder: await userToken(server, holder.id) });
    Object.assign(users, Object.fromEntries(Object.entries(fx.users).map(([k, u]) => [k, u.id])), { adminRoleHolder: holder.id });

    roles.reports = await createRole(server, tenantId, 'Reports', PERMISSIONS('REPORT_MANAGEMENT: READ'));
    roles.users = await createRole(server, tenantId, 'Users', PERMISSIONS('USER_MANAGEMENT: READ'));
    roles.platformOps = await createRole(server, tenantId, 'Platform ops', PERMISSIONS('PLATFORM_MANAGEMENT: READ'));
    Object.assign(roles, { viewer: PLATFORM_ROLES.viewer, companyAdmin: PLATFORM_ROLES.companyAdmin });
    for (const [name, id] of Object.entries(roles) as [RoleName, string][]) {
      roleKeys[name] = (await gqlOk<{ role: { key: string } }>(server, 'query($id: ID!) { role(id: $id) { key } }', { id })).role.key;
    }

    const group = async (roleIds: string[]) => {
      const g = await createGroup(server, { tenantId });
      if (roleIds.length > 0) await setGroupRoles(server, tenantId, g.id, roleIds);
      return g.id;
    };
    groups.admins = fx.adminsGroup;
    groups.reporters = await group([roles.reports]);
    groups.readers = await group([roles.viewer]);
    groups.plain = await group([]);
    groups.team = fx.team.id;
    groups.managedReporters = await group([roles.reports]);
    await gqlOk(server, 'mutation($g: UUID, $u: [UUID!]) { addManagersToGroup(groupId: $g, userIds: $u) { response { failedIds } } }', { g: groups.managedReporters, u: [fx.users.groupManager.id] });
    // The company-admin role, held through a group that is not "Company Admins".
    await addMembers(server, await group([roles.companyAdmin]), [holder.id]);
    ownGroup = await createGroup(server, { tenantId });
    await addMembers(server, ownGroup.id, [fx.users.accessManager.id]);
  });
  after(() => server.close());

  const subjectOf = (actor: Actor, subject: 'self' | 'spare') => (subject === 'self' && actor !== 'superAdmin' ? users[actor] : spare.id);

  /** Runs one action as `actor` through `transport`. */
  async function perform(actor: Actor, action: Action, transport: Transport): Promise<Outcome> {
    const token = tokens[actor];
    const gqlOutcome = (res: { errors?: { message: string; extensions: { code: string } }[] }) =>
      res.errors?.length ? { code: res.errors[0]!.extensions.code as Expected, message: res.errors[0]!.message } : { code: 'ok' as const, message: '' };
    const restOutcome = (res: { status: number; body: unknown }) => {
      const error = (res.body as { errorMessages?: { errorCode: string; message: string }[] } | undefined)?.errorMessages?.[0];
      return res.status === 200 ? { code: 'ok' as const, message: '' } : { code: (error?.errorCode ?? String(res.status)) as Expected, message: error?.message ?? '' };
    };
    switch (action.kind) {
      case 'createRole': {
        const permissions = PERMISSIONS(action.permissions);
        const name = unique('Made');
        if (transport === 'rest') return restOutcome(await rest(server, 'POST', `/v3/companies/${fx.company}/roles/create`, { name, permissions }, token));
        return gqlOutcome(await gql(server, 'mutation($r: RoleCreateDto!) { createRole(role: $r) { id } }', { r: { key: unique('made'), name, tenantId: fx.company, permissions } }, { token }));
      }
      case 'assignGroupRole':
        return restOutcome(await rest(server, 'PATCH', `/v3/companies/${fx.company}/user-groups/${ownGroup.id}/roles`, { rolesToAdd: [{ roleId: roles[action.role] }] }, token));
      case 'assignUserRole':
        return gqlOutcome(await gql(server, 'mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }', { u: spare.id, k: [roleKeys[action.role]] }, { token }));
      case 'addMember':
      case 'removeMember': {
        const adding = action.kind === 'addMember';
        const subject = adding ? subjectOf(actor, action.subject) : spare.id;
        const group = groups[action.group];
        if (transport === 'rest') {
          return restOutcome(await rest(server, 'PATCH', `/v3/companies/${fx.company}/user-groups/${group}/members`, adding ? { userIdsToAdd: [subject] } : { userIdsToRemove: [subject] }, token));
        }
        if (transport === 'roq') {
          const mutation = adding ? 'addUsersToUserGroup' : 'removeUsersFromUserGroup';
          return gqlOutcome(await gql(server, `mutation($g: ID!, $u: [ID!]!) { ${mutation}(userGroupId: $g, userIds: $u) }`, { g: group, u: [subject] }, { token }));
        }
        const mutation = adding ? 'addUsersToGroup(groupId: $g, userIds: $u) { failedIds }' : 'removeUsersFromGroup(groupId: $g, userIds: $u) { failedIds }';
        const res = await gql<Record<string, { failedIds: string[] }>>(server, `mutation($g: UUID, $u: [UUID!]) { ${mutation} }`, { g: group, u: [subject] }, { token });
        const outcome = gqlOutcome(res);
        const failed = res.data && Object.values(res.data)[0]?.failedIds;
        return outcome.code === 'ok' && failed && failed.length > 0 ? { code: 'NOT_FOUND', message: JSON.stringify(res.data) } : outcome;
      }
    }
  }

  /** What an action could change, read by the super-admin, to compare before and after a refusal. */
  async function state(action: Action): Promise<string> {
    switch (action.kind) {
      case 'createRole':
        return JSON.stringify((await gqlOk<{ roles: { totalCount: number } }>(server, 'query($t: ID!) { roles(filter: { tenantId: { equalTo: $t } }) { totalCount } }', { t: fx.company })).roles.totalCount);
      case 'assignGroupRole': {
        const res = await rest<{ roles: { role: { id: string } }[] }>(server, 'POST', `/v3/companies/${fx.company}/user-groups/${ownGroup.id}/roles`, {});
        return JSON.stringify(res.body.roles.map((r) => r.role.id).sort());
      }
      case 'assignUserRole':
        return JSON.stringify((await gqlOk<{ user: { roles: { data: { id: string }[] } } }>(server, 'query($u: ID!) { user(id: $u) { roles { data { id } } } }', { u: spare.id })).user.roles.data);
      default:
        return JSON.stringify(await memberIds(server, groups[action.group]));
    }
  }

  /** Puts things back as the fixture made them, as the super-admin (after any action, allowed or not). */
  async function restore(actor: Actor, action: Action): Promise<void> {
    switch (action.kind) {
      case 'assignGroupRole':
        assert.equal((await rest(server, 'PATCH', `/v3/companies/${fx.company}/user-groups/${ownGroup.id}/roles`, { rolesToDelete: [{ roleId: roles[action.role] }] })).status, 200);
        return;
      case 'assignUserRole':
        await gqlOk(server, 'mutation($u: ID!, $k: [String!]!) { unassignRolesFromUser(userId: $u, roleKeys: $k) }', { u: spare.id, k: [roleKeys[action.role]] });
        return;
      case 'addMember':
      case 'removeMember': {
        const subject = action.kind === 'addMember' ? subjectOf(actor, action.subject) : spare.id;
        // The company admin is a member of "Company Admins" by the fixture; anyone else is taken out again.
        if (action.group === 'admins' && subject === fx.users.companyAdmin.id) return;
        // Pluvo's removal: a user of another company (never added) is reported, not a failure.
        await gqlOk(server, 'mutation($g: UUID, $u: [UUID!]) { removeUsersFromGroup(groupId: $g, userIds: $u) { failedIds } }', { g: groups[action.group], u: [subject] });
        return;
      }
      default:
    }
  }

  for (const c of CASES) {
    const label = `${c.actor} ${c.action.kind} ${Object.values(c.action).slice(1).join(' ')}`;
    for (const transport of TRANSPORTS[c.action.kind]) {
      it(`${label} via ${transport}: ${c.expect}${c.lacks ? ` (lacks ${c.lacks})` : ''}`, async () => {
        // A removal starts with the spare user in the group; an addition, with the subject outside it.
        if (c.action.kind === 'removeMember') await addMembers(server, groups[c.action.group], [spare.id]);
        try {
          const before = await state(c.action);
          const outcome = await perform(c.actor, c.action, transport);
          assert.equal(outcome.code, c.expect, outcome.message);
          if (c.expect === 'ok') return;
          if (c.lacks) assert.ok(outcome.message.includes(c.lacks), `the refusal names what is lacking (${c.lacks}): ${outcome.message}`);
          assert.equal(await state(c.action), before, 'a refused action changes nothing');
        } finally {
          await restore(c.actor, c.action);
        }
      });
    }
  }

  it('the reported escalation: an access manager neither joins "Company Admins" nor makes and hands out a REPORT_MANAGEMENT role', async () => {
    const token = tokens.accessManager;
    const me = fx.users.accessManager.id;
    const join = await rest<{ errorMessages: { errorCode: string; message: string }[] }>(server, 'PATCH', `/v3/companies/${fx.company}/user-groups/${fx.adminsGroup}/members`, { userIdsToAdd: [me] }, token);
    assert.equal(join.status, 403);
    assert.match(join.body.errorMessages[0]!.message, /company admin/);
    assert.ok(!(await memberIds(server, fx.adminsGroup)).includes(me));
    const made = await rest<{ errorMessages: { errorCode: string; message: string }[] }>(server, 'POST', `/v3/companies/${fx.company}/roles/create`, { name: 'Sneaky', permissions: [{ permission: 'REPORT_MANAGEMENT', actions: ['READ'] }] }, token);
    assert.equal(made.status, 403);
    assert.equal(made.body.errorMessages[0]!.message, 'Creating role "Sneaky" needs REPORT_MANAGEMENT: READ, which you do not hold');
    const audit = await gql(server, '{ auditEvents { data { id } } }', undefined, { token });
    assert.equal(audit.errors?.[0]?.extensions.code, 'FORBIDDEN', 'still no REPORT_MANAGEMENT');
  });
});
