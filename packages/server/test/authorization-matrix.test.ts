/**
 * The authorization matrix: every GraphQL query field (root fields, and every nested object, list and count
 * field, enumerated from schema.graphql) and every HTTP route (enumerated from the running server) has an entry
 * in the tables below, with the outcome expected for each actor of helpers/actors.ts, checked through real HTTP.
 * A field or route without an entry fails the test, so a new one cannot slip through unauthorized; an entry for a
 * field or route that no longer exists fails it too.
 *
 * Outcomes: `ok` (answered, the value present), `hidden` (answered, but the resource is not in the list), `F`
 * (FORBIDDEN), `NF` (NOT_FOUND). A refusal must also leave the field's value out of the answer. A nested field
 * obeys the rule of its top-level (or REST) equivalent: `tenant { users { totalCount } }` is refused to whoever
 * may not list users; `userGroup { users }` and REST `POST .../members` to whoever may not list the group's people.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { buildSchema, getNamedType, isObjectType, type GraphQLObjectType } from 'graphql';
import { rest, startServer, unique, type TestServer } from './helpers/server.ts';
import { createUser, gql } from './helpers/roster.ts';
import { ACTORS, actorFixture, type ActorFixture, type ActorName } from './helpers/actors.ts';

type Outcome = 'ok' | 'hidden' | 'F' | 'NF';
type Expect = Record<ActorName, Outcome>;

/** `row('ok ok ok ok F F NF')`: outcomes in the order of ACTORS. */
function row(outcomes: string): Expect {
  const parts = outcomes.trim().split(/\s+/) as Outcome[];
  assert.equal(parts.length, ACTORS.length, `a row names ${ACTORS.length} outcomes: ${outcomes}`);
  return Object.fromEntries(ACTORS.map((a, i) => [a, parts[i]!])) as Expect;
}

//                                  super  cAdmin aMgr  aRead gMgr  member other
const EVERYONE = row('              ok     ok     ok    ok    ok    ok     ok');
const SUPER_ADMIN = row('           ok     F      F     F     F     F      F');
/** One group of A (`team`): its members and manager read it; ACCESS_MANAGEMENT: READ reads any. */
const GROUP_READ = row('            ok     ok     ok    ok    ok    ok     NF');
/** A group's people: its manager, or ACCESS_MANAGEMENT: READ; not a plain member. */
const GROUP_PEOPLE = row('          ok     ok     ok    ok    ok    F      NF');
/** Something of another user reached through `team`'s people: ACCESS_MANAGEMENT: READ (the manager reaches the people, not this). */
const OTHERS_VIA_TEAM = row('       ok     ok     ok    ok    F     F      NF');
/** Something of a role reached through `team`'s roles: ACCESS_MANAGEMENT: READ. */
const ROLE_VIA_TEAM = row('         ok     ok     ok    ok    F     F      NF');

// ---------------------------------------------------------------------------------------------------------------
// GraphQL

interface Probe {
  /** How the field is reached, for messages. */
  readonly via: string;
  /** The document; variables: $self (the actor's own user; the member for the super-admin), $member, $team, $unrelated, $company, $role. */
  readonly query: string;
  /** Where the field's value (or the page holding it) is in `data`: dotted, list positions as numbers. */
  readonly path: string;
  readonly expect: Expect;
  /** For `ok` this must hold of the value at `path`, for `hidden` it must not. */
  readonly visible?: (value: unknown, fx: ActorFixture) => boolean;
  /** The value is null when answered (`pageInfo` of a nested list): `ok` then means answered without an error. */
  readonly nullable?: boolean;
}

const SELF = 'query($self: ID!)';
const TEAM = 'query($team: ID!)';
const ids = (value: unknown) => ((value as { id: string }[] | undefined) ?? []).map((x) => x.id);

/**
 * Entries for each field of a page (or count) type reached by `key`: the same document, selecting that field.
 * A nested list's `pageInfo` is null (only top-level `users` pages by cursor), so it is checked itself.
 */
function page(key: string, subs: Record<string, string>, probe: (selection: string) => Omit<Probe, 'expect'>, expect: Expect): Record<string, Probe[]> {
  return Object.fromEntries(
    Object.entries(subs).map(([sub, selection]) => {
      const p = probe(selection);
      const nested = sub === 'pageInfo' && !key.startsWith('Query.');
      return [`${key}.${sub}`, [{ ...p, ...(nested ? { path: `${p.path}.pageInfo`, nullable: true } : {}), expect }]];
    }),
  );
}
const LIST = { data: 'data { id }', totalCount: 'totalCount' };
const USER_PAGE = { ...LIST, pageInfo: 'pageInfo { hasNextPage }' };
const COUNT = { totalCount: 'totalCount' };

const GRAPHQL: Record<string, Probe[]> = {
  // Root fields.
  'Query.user': [
    { via: 'user(own id)', query: `${SELF} { user(id: $self) { id } }`, path: 'user', expect: EVERYONE },
    { via: "user(the member's id)", query: 'query($member: ID!) { user(id: $member) { id } }', path: 'user', expect: row('ok F F F F ok F') },
  ],
  ...page('Query.users', USER_PAGE, (s) => ({ via: 'users', query: `{ users { ${s} } }`, path: 'users' }), SUPER_ADMIN),
  'Query.userProfile': [
    { via: 'userProfile(own id)', query: `${SELF} { userProfile(id: $self) { id } }`, path: 'userProfile', expect: EVERYONE },
    { via: "userProfile(the member's id)", query: 'query($member: ID!) { userProfile(id: $member) { id } }', path: 'userProfile', expect: row('ok F F F F ok F') },
  ],
  ...page('Query.userProfiles', LIST, (s) => ({ via: 'userProfiles', query: `{ userProfiles { ${s} } }`, path: 'userProfiles' }), SUPER_ADMIN),
  'Query.userGroup': [
    { via: 'userGroup(team)', query: `${TEAM} { userGroup(id: $team) { id } }`, path: 'userGroup', expect: GROUP_READ },
    { via: 'userGroup(unrelated)', query: 'query($unrelated: ID!) { userGroup(id: $unrelated) { id } }', path: 'userGroup', expect: row('ok ok ok ok F F NF') },
  ],
  'Query.userGroups.data': [
    { via: 'userGroups: the unrelated group', query: '{ userGroups(limit: 1000) { data { id } } }', path: 'userGroups.data', expect: row('ok ok ok ok hidden hidden hidden'), visible: (v, fx) => ids(v).includes(fx.unrelated.id) },
    { via: 'userGroups: team', query: '{ userGroups(limit: 1000) { data { id } } }', path: 'userGroups.data', expect: row('ok ok ok ok ok ok hidden'), visible: (v, fx) => ids(v).includes(fx.team.id) },
  ],
  'Query.userGroups.totalCount': [{ via: 'userGroups { totalCount }', query: '{ userGroups { totalCount } }', path: 'userGroups', expect: EVERYONE }],
  'Query.userGroupMembers.edges': [
    { via: 'userGroupMembers(team)', query: `${TEAM} { userGroupMembers(groupId: $team) { edges { node { id } } } }`, path: 'userGroupMembers.edges', expect: GROUP_PEOPLE, visible: (v, fx) => (v as { node: { id: string } }[]).some((e) => e.node.id === fx.users.member.id) },
    { via: 'userGroupMembers(team, MANAGERS)', query: `${TEAM} { userGroupMembers(groupId: $team, relation: MANAGERS) { edges { addedAt } } }`, path: 'userGroupMembers.edges', expect: GROUP_PEOPLE },
  ],
  'Query.userGroupMembers.pageInfo': [{ via: 'userGroupMembers(team)', query: `${TEAM} { userGroupMembers(groupId: $team) { pageInfo { hasNextPage } } }`, path: 'userGroupMembers', expect: GROUP_PEOPLE }],
  'Query.tenant': [{ via: 'tenant(company A)', query: 'query($company: ID!) { tenant(id: $company) { id name } }', path: 'tenant', expect: GROUP_READ }],
  // Every caller lists the companies it may see: all for the super-admin, its own for a user token.
  'Query.tenants.data': [
    { via: 'tenants: company A', query: '{ tenants(limit: 1000) { data { id } } }', path: 'tenants.data', expect: row('ok ok ok ok ok ok hidden'), visible: (v, fx) => ids(v).includes(fx.company) },
    { via: 'tenants: company B', query: '{ tenants(limit: 1000) { data { id } } }', path: 'tenants.data', expect: row('ok hidden hidden hidden hidden hidden ok'), visible: (v, fx) => ids(v).includes(fx.otherCompany) },
  ],
  'Query.tenants.totalCount': [{ via: 'tenants { totalCount }', query: '{ tenants { totalCount } }', path: 'tenants', expect: EVERYONE }],
  'Query.role': [{ via: 'role(badge)', query: 'query($role: ID!) { role(id: $role) { id } }', path: 'role', expect: SUPER_ADMIN }],
  ...page('Query.roles', LIST, (s) => ({ via: 'roles', query: `{ roles { ${s} } }`, path: 'roles' }), SUPER_ADMIN),
  'Query.isTenantsActive': [{ via: 'isTenantsActive', query: '{ isTenantsActive }', path: 'isTenantsActive', expect: EVERYONE }],
  ...page('Query.auditEvents', { data: 'data { id }', endCursor: 'endCursor', hasNextPage: 'hasNextPage' }, (s) => ({ via: 'auditEvents', query: `{ auditEvents { ${s} } }`, path: 'auditEvents' }), row('ok ok F F F F F')),
  'Query.apiKeys': [{ via: 'apiKeys', query: '{ apiKeys { id } }', path: 'apiKeys', expect: SUPER_ADMIN }],
  'Query.signingKeys': [{ via: 'signingKeys', query: '{ signingKeys { kid } }', path: 'signingKeys', expect: SUPER_ADMIN }],

  // A user's nested fields: its own, and another user's (reached through team's people).
  'UserModel.tenant': [{ via: 'user(own).tenant', query: `${SELF} { user(id: $self) { tenant { id } } }`, path: 'user.tenant', expect: EVERYONE }],
  ...nestedOfUser('userGroups', LIST),
  ...nestedOfUser('roles', LIST),
  'UserModel.effectivePermissions': [
    { via: 'user(own).effectivePermissions', query: `${SELF} { user(id: $self) { effectivePermissions { permission } } }`, path: 'user.effectivePermissions', expect: EVERYONE },
    { via: "team's people' effectivePermissions", query: `${TEAM} { userGroup(id: $team) { users { data { id effectivePermissions { permission } } } } }`, path: 'userGroup.users.data.0.effectivePermissions', expect: OTHERS_VIA_TEAM },
  ],
  'EffectivePermission.sources': [{ via: 'user(own).effectivePermissions.sources', query: `${SELF} { user(id: $self) { effectivePermissions { sources { roleName via } } } }`, path: 'user.effectivePermissions', expect: EVERYONE }],
  'UserProfileModel.connectedProviders': [{ via: 'userProfile(own).connectedProviders', query: `${SELF} { userProfile(id: $self) { connectedProviders { id } } }`, path: 'userProfile.connectedProviders', expect: EVERYONE }],

  // A group's nested fields.
  'UserGroupModel.userGroupType': [{ via: 'userGroup(team).userGroupType', query: `${TEAM} { userGroup(id: $team) { userGroupType { name } } }`, path: 'userGroup.userGroupType', expect: GROUP_READ }],
  'UserGroupModel.tenant': [{ via: 'userGroup(team).tenant', query: `${TEAM} { userGroup(id: $team) { tenant { id } } }`, path: 'userGroup.tenant', expect: GROUP_READ }],
  ...page('UserGroupModel.users', USER_PAGE, (s) => ({ via: 'userGroup(team).users', query: `${TEAM} { userGroup(id: $team) { users { ${s} } } }`, path: 'userGroup.users' }), GROUP_PEOPLE),
  ...page('UserGroupModel.managers', USER_PAGE, (s) => ({ via: 'userGroup(team).managers', query: `${TEAM} { userGroup(id: $team) { managers { ${s} } } }`, path: 'userGroup.managers' }), GROUP_PEOPLE),
  ...page('UserGroupModel.roles', LIST, (s) => ({ via: 'userGroup(team).roles', query: `${TEAM} { userGroup(id: $team) { roles { ${s} } } }`, path: 'userGroup.roles' }), GROUP_READ),
  'GroupMemberEdge.node': [{ via: 'userGroupMembers(team).edges.node', query: `${TEAM} { userGroupMembers(groupId: $team) { edges { node { id email } } } }`, path: 'userGroupMembers.edges.0.node', expect: GROUP_PEOPLE }],

  // A company's user count is a listing of its users: the super-admin's, however it is reached.
  'TenantModel.users.totalCount': [
    { via: 'tenant(A).users.totalCount', query: 'query($company: ID!) { tenant(id: $company) { users { totalCount } } }', path: 'tenant.users', expect: row('ok F F F F F NF') },
    { via: 'user(own).tenant.users.totalCount', query: `${SELF} { user(id: $self) { tenant { users { totalCount } } } }`, path: 'user.tenant.users', expect: SUPER_ADMIN },
    { via: 'userGroup(team).tenant.users.totalCount', query: `${TEAM} { userGroup(id: $team) { tenant { users { totalCount } } } }`, path: 'userGroup.tenant.users', expect: row('ok F F F F F NF') },
  ],

  // A role's nested fields (roles are reached through a group's or a user's roles).
  'RoleModel.permissions': [{ via: 'userGroup(team).roles.permissions', query: `${TEAM} { userGroup(id: $team) { roles { data { permissions { permission } } } } }`, path: 'userGroup.roles.data.0.permissions', expect: GROUP_READ }],
  ...page('RoleModel.userGroups', LIST, (s) => ({ via: 'userGroup(team).roles.userGroups', query: `${TEAM} { userGroup(id: $team) { roles { data { userGroups { ${s} } } } } }`, path: 'userGroup.roles.data.0.userGroups' }), ROLE_VIA_TEAM),
  ...page('RoleModel.users', COUNT, (s) => ({ via: 'userGroup(team).roles.users', query: `${TEAM} { userGroup(id: $team) { roles { data { users { ${s} } } } } }`, path: 'userGroup.roles.data.0.users' }), ROLE_VIA_TEAM),
};

/** `UserModel.<field>` page entries: one's own (everyone), and another user's through team's people. */
function nestedOfUser(field: string, subs: Record<string, string>): Record<string, Probe[]> {
  return Object.fromEntries(
    Object.entries(subs).map(([sub, selection]) => [
      `UserModel.${field}.${sub}`,
      [
        { via: `user(own).${field}`, query: `${SELF} { user(id: $self) { ${field} { ${selection} } } }`, path: `user.${field}`, expect: EVERYONE },
        { via: `team's people' ${field}`, query: `${TEAM} { userGroup(id: $team) { users { data { id ${field} { ${selection} } } } } }`, path: `userGroup.users.data.0.${field}`, expect: OTHERS_VIA_TEAM },
      ],
    ]),
  );
}

/**
 * Every field a query can reach: each root field; each object-typed field of a reachable type; and for a page or
 * count type (…PageModel, …Connection, UsersCountModel), each of its fields, as `Parent.field.sub`.
 */
function graphqlFields(sdl: string): string[] {
  const schema = buildSchema(sdl);
  const isWrapper = (t: GraphQLObjectType) => /(PageModel|Connection)$/.test(t.name) || t.name === 'UsersCountModel';
  const keys = new Set<string>();
  const seen = new Set<string>();
  const walk = (type: GraphQLObjectType) => {
    if (seen.has(type.name)) return;
    seen.add(type.name);
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (isObjectType(named) && isWrapper(named)) {
        for (const sub of Object.values(named.getFields())) {
          keys.add(`${type.name}.${field.name}.${sub.name}`);
          const subNamed = getNamedType(sub.type);
          if (isObjectType(subNamed)) walk(subNamed);
        }
      } else if (isObjectType(named)) {
        keys.add(`${type.name}.${field.name}`);
        walk(named);
      } else if (type.name === 'Query') {
        keys.add(`Query.${field.name}`);
      }
    }
  };
  walk(schema.getQueryType()!);
  return [...keys].sort();
}

function valueAt(data: unknown, path: string): unknown {
  let v: unknown = data;
  for (const part of path.split('.')) {
    if (v == null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP routes

interface RouteProbe {
  readonly path: (fx: ActorFixture, scratch: string) => string;
  readonly body?: (fx: ActorFixture) => unknown;
  readonly expect: Expect;
  /** Run as the super-admin before each actor's request; its result is `scratch` (a fresh group, a fresh key). */
  readonly setup?: (fx: ActorFixture) => Promise<string>;
  readonly visible?: (body: unknown, fx: ActorFixture) => boolean;
}
type RouteEntry = RouteProbe | { readonly skip: string };

const company = (fx: ActorFixture) => `/v3/companies/${fx.company}`;
const team = (fx: ActorFixture) => `${company(fx)}/user-groups/${fx.team.id}`;
const PAGE = () => ({ pagination: { offset: 0, limit: 100 } });
const publicRoute = (path: string): RouteProbe => ({ path: () => path, expect: EVERYONE });
/** GraphiQL's asset URLs carry the package's version. */
const reactVersion = (createRequire(import.meta.url)('react/package.json') as { version: string }).version;

const ROUTES: Record<string, RouteEntry> = {
  'POST /v3/companies/:companyId/user-groups': { path: (fx) => `${company(fx)}/user-groups`, body: () => ({ name: unique('made'), description: '' }), expect: row('ok ok ok F F F NF') },
  'POST /v3/companies/:companyId/user-groups/list': {
    path: (fx) => `${company(fx)}/user-groups/list`, body: PAGE, expect: row('ok ok ok ok F F NF'),
    visible: (b, fx) => ids((b as { userGroups: unknown }).userGroups).includes(fx.unrelated.id),
  },
  'GET /v3/companies/:companyId/user-groups/:groupId': { path: team, expect: GROUP_READ },
  'PATCH /v3/companies/:companyId/user-groups/:groupId': { path: team, body: (fx) => ({ name: fx.team.name }), expect: row('ok ok ok F F F NF') },
  'DELETE /v3/companies/:companyId/user-groups/:groupId': { setup: scratchGroup, path: (fx, g) => `${company(fx)}/user-groups/${g}`, expect: row('ok ok ok F F F NF') },
  'POST /v3/companies/:companyId/user-groups/:groupId/members': {
    path: (fx) => `${team(fx)}/members`, body: PAGE, expect: GROUP_PEOPLE,
    visible: (b, fx) => (b as { members: { userId: string }[] }).members.some((m) => m.userId === fx.users.member.id),
  },
  'PATCH /v3/companies/:companyId/user-groups/:groupId/members': { path: (fx) => `${team(fx)}/members`, body: (fx) => ({ userIdsToAdd: [fx.spare[0]!.id] }), expect: row('ok ok ok F ok F NF') },
  'POST /v3/companies/:companyId/user-groups/:groupId/roles': {
    path: (fx) => `${team(fx)}/roles`, body: () => ({}), expect: GROUP_READ,
    visible: (b, fx) => (b as { roles: { role: { id: string } }[] }).roles.some((r) => r.role.id === fx.badgeRole),
  },
  'PATCH /v3/companies/:companyId/user-groups/:groupId/roles': { path: (fx) => `${team(fx)}/roles`, body: (fx) => ({ rolesToAdd: [{ roleId: fx.badgeRole }] }), expect: row('ok ok ok F F F NF') },
  'POST /v3/companies/:companyId/roles': { path: (fx) => `${company(fx)}/roles`, body: PAGE, expect: row('ok ok ok ok F F NF') },
  'POST /v3/companies/:companyId/roles/create': {
    path: (fx) => `${company(fx)}/roles/create`, body: () => ({ name: unique('Made'), permissions: [{ permission: 'USER_MANAGEMENT', actions: ['READ'] }] }), expect: row('ok ok ok F F F NF'),
  },
  'POST /v3/companies/list': {
    path: () => '/v3/companies/list', body: PAGE, expect: row('ok ok ok ok ok ok hidden'),
    visible: (b, fx) => ids((b as { companies: unknown }).companies).includes(fx.company),
  },
  'GET /v3/companies/:companyId': { path: company, expect: GROUP_READ },
  'GET /v3/permissions': { path: () => '/v3/permissions', expect: EVERYONE },
  'GET /v3/companies/:companyId/permissions': { path: (fx) => `${company(fx)}/permissions`, expect: GROUP_READ },
  'GET /v3/companies/:companyId/audit-events': { path: (fx) => `${company(fx)}/audit-events`, expect: row('ok ok F F F F NF') },
  'POST /v3/users/:userId/user-groups': {
    path: (fx) => `/v3/users/${fx.users.member.id}/user-groups`, body: PAGE, expect: row('ok ok ok ok F ok NF'),
    visible: (b, fx) => ids((b as { userGroups: unknown }).userGroups).includes(fx.team.id),
  },
  // Revoking a user's tokens: USER_MANAGEMENT: WRITE (company admins hold it); of a fresh user, so no actor's token ends.
  'POST /v3/users/:userId/revoke-tokens': { setup: scratchUser, path: (_fx, u) => `/v3/users/${u}/revoke-tokens`, expect: row('ok ok F F F F NF') },
  'GET /v3/users/:userId/rbac-info': { path: (fx) => `/v3/users/${fx.users.member.id}/rbac-info`, expect: row('ok ok ok ok F ok NF') },
  'GET /v3/api-keys': { path: () => '/v3/api-keys', expect: SUPER_ADMIN },
  'POST /v3/api-keys': { path: () => '/v3/api-keys', body: () => ({ name: unique('matrix key') }), expect: SUPER_ADMIN },
  'POST /v3/api-keys/:keyId/rotate': { setup: scratchKey, path: (_fx, k) => `/v3/api-keys/${k}/rotate`, body: () => ({}), expect: SUPER_ADMIN },
  'DELETE /v3/api-keys/:keyId': { setup: scratchKey, path: (_fx, k) => `/v3/api-keys/${k}`, expect: SUPER_ADMIN },
  'POST /v3/signing-keys/rotate': { path: () => '/v3/signing-keys/rotate', expect: SUPER_ADMIN },
  'POST /v01/authorize': { path: () => '/v01/authorize', body: (fx) => ({ userId: fx.users.member.id }), expect: SUPER_ADMIN },
  'POST /v01/authorize/serviceAccount': { skip: 'credential exchange: authorized by the API key in its body, not by the bearer (auth-credentials.test.ts)' },
  'GET /graphql': { skip: 'GraphQL: every query field is in the GraphQL table' },
  'POST /graphql': { skip: 'GraphQL: every query field is in the GraphQL table' },
  'GET /.well-known/jwks.json': publicRoute('/.well-known/jwks.json'),
  'GET /metrics': publicRoute('/metrics'),
  'GET /healthz': publicRoute('/healthz'),
  'GET /readyz': publicRoute('/readyz'),
  'GET /openapi.json': publicRoute('/openapi.json'),
  'GET /docs': publicRoute('/docs'),
  'GET /docs/': publicRoute('/docs/'),
  'GET /docs/json': publicRoute('/docs/json'),
  'GET /docs/yaml': publicRoute('/docs/yaml'),
  'GET /docs/static/index.html': publicRoute('/docs/static/index.html'),
  'GET /docs/static/swagger-initializer.js': publicRoute('/docs/static/swagger-initializer.js'),
  'GET /docs/*': { skip: "the reference page's static assets (public)" },
  'GET /': publicRoute('/'),
  'GET /graphiql': publicRoute('/graphiql'),
  'GET /graphiql/roster-graphiql.js': publicRoute('/graphiql/roster-graphiql.js'),
  'GET /graphiql/roster-graphiql.css': publicRoute('/graphiql/roster-graphiql.css'),
  'GET /graphiql/assets/:file': publicRoute(`/graphiql/assets/react-${reactVersion}-react.production.min.js`),
};

let server: TestServer;

async function scratchGroup(fx: ActorFixture): Promise<string> {
  const res = await rest<{ id: string }>(server, 'POST', `${company(fx)}/user-groups`, { name: unique('scratch'), description: '' });
  assert.equal(res.status, 200);
  return res.body.id;
}

async function scratchUser(fx: ActorFixture): Promise<string> {
  return (await createUser(server, { tenantId: fx.company })).id;
}

async function scratchKey(): Promise<string> {
  const res = await rest<{ apiKey: { id: string } }>(server, 'POST', '/v3/api-keys', { name: unique('scratch key') });
  assert.equal(res.status, 200);
  return res.body.apiKey.id;
}

/** Every route the server serves, `METHOD /path/:param` (HEAD, which Fastify adds to every GET, left out). */
function httpRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    stack.length = m[1]!.length / 4;
    stack.push(m[2]!);
    for (const method of m[3]?.split(', ') ?? []) if (method !== 'HEAD') out.push(`${method} ${stack.join('')}`);
  }
  return [...new Set(out)].sort();
}

/** Runs `work` over `items`, `size` at a time. */
async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: size }, lane));
}

const STATUS: Record<Outcome, number> = { ok: 200, hidden: 200, F: 403, NF: 404 };
const CODE: Record<Outcome, string | undefined> = { ok: undefined, hidden: undefined, F: 'FORBIDDEN', NF: 'NOT_FOUND' };

describe('authorization matrix: every query field and every route, for every actor', () => {
  let fx: ActorFixture;
  const schemaSdl = readFileSync(new URL('../src/transports/graphql/schema.graphql', import.meta.url), 'utf8');

  before(async () => {
    server = await startServer();
    fx = await actorFixture(server);
  });
  after(() => server.close());

  it('every GraphQL query field has an entry, and every entry a field', () => {
    const fields = graphqlFields(schemaSdl);
    assert.ok(fields.length > 40, `enumerated ${fields.length} fields`);
    const missing = fields.filter((f) => !(f in GRAPHQL));
    assert.deepEqual(missing, [], `fields without an expected outcome per actor: add them to GRAPHQL\n${missing.join('\n')}`);
    const stale = Object.keys(GRAPHQL).filter((k) => !fields.includes(k));
    assert.deepEqual(stale, [], 'entries for fields the schema no longer has');
  });

  it('every HTTP route has an entry, and every entry a route', () => {
    const routes = httpRoutes(server.app.server.printRoutes({ commonPrefix: false }));
    assert.ok(routes.includes('PATCH /v3/companies/:companyId/user-groups/:groupId/members'), routes.join('\n'));
    const missing = routes.filter((r) => !(r in ROUTES));
    assert.deepEqual(missing, [], `routes without an expected outcome per actor: add them to ROUTES\n${missing.join('\n')}`);
    const stale = Object.keys(ROUTES).filter((k) => !routes.includes(k));
    assert.deepEqual(stale, [], 'entries for routes the server no longer serves');
  });

  it('every GraphQL query field answers each actor as expected', async () => {
    const failures: string[] = [];
    const jobs = Object.entries(GRAPHQL).flatMap(([key, probes]) => probes.flatMap((probe) => ACTORS.map((actor) => ({ key, probe, actor }))));
    await pool(jobs, 8, async ({ key, probe, actor }) => {
      const self = actor === 'superAdmin' ? fx.users.member.id : fx.users[actor].id;
      const variables = { self, member: fx.users.member.id, team: fx.team.id, unrelated: fx.unrelated.id, company: fx.company, role: fx.badgeRole };
      const used = Object.fromEntries(Object.entries(variables).filter(([name]) => probe.query.includes(`$${name}`)));
      const res = await gql(server, probe.query, used, { token: fx.tokens[actor] });
      const expected = probe.expect[actor];
      const codes = (res.errors ?? []).map((e) => e.extensions.code);
      const value = valueAt(res.data, probe.path);
      const where = `${key} via ${probe.via}, as ${actor}`;
      if (expected === 'ok' || expected === 'hidden') {
        if (codes.length > 0) return void failures.push(`${where}: expected ${expected}, got ${JSON.stringify(res.errors)}`);
        if (value == null && !probe.nullable) return void failures.push(`${where}: no value at ${probe.path}: ${JSON.stringify(res.data)}`);
        if (probe.visible && probe.visible(value, fx) !== (expected === 'ok')) failures.push(`${where}: expected the resource ${expected === 'ok' ? 'visible' : 'hidden'}`);
      } else {
        if (codes.length === 0 || codes.some((c) => c !== CODE[expected])) failures.push(`${where}: expected ${CODE[expected]}, got ${JSON.stringify(res.errors ?? res.data)}`);
        if (value != null) failures.push(`${where}: refused, yet ${probe.path} is in the answer: ${JSON.stringify(value)}`);
      }
    });
    assert.deepEqual(failures, []);
  });

  it('every HTTP route answers each actor as expected', async () => {
    const failures: string[] = [];
    for (const [key, entry] of Object.entries(ROUTES)) {
      if ('skip' in entry) continue;
      const method = key.split(' ')[0]!;
      for (const actor of ACTORS) {
        const scratch = entry.setup ? await entry.setup(fx) : '';
        const res = await fetch(`${server.url}${entry.path(fx, scratch)}`, {
          method,
          headers: { authorization: `Bearer ${fx.tokens[actor]}`, ...(entry.body ? { 'content-type': 'application/json' } : {}) },
          body: entry.body ? JSON.stringify(entry.body(fx)) : undefined,
        });
        const text = await res.text();
        const expected = entry.expect[actor];
        const where = `${key}, as ${actor}`;
        if (res.status !== STATUS[expected]) {
          failures.push(`${where}: expected ${STATUS[expected]}, got ${res.status} ${text.slice(0, 300)}`);
          continue;
        }
        const json = /^\s*[[{]/.test(text) ? (JSON.parse(text) as { errorMessages?: { errorCode: string }[]; errorCode?: string }) : undefined;
        if (CODE[expected]) {
          const code = json?.errorMessages?.[0]?.errorCode ?? json?.errorCode;
          if (code !== CODE[expected]) failures.push(`${where}: expected ${CODE[expected]}, got ${text.slice(0, 300)}`);
        } else if (entry.visible && entry.visible(json, fx) !== (expected === 'ok')) {
          failures.push(`${where}: expected the resource ${expected === 'ok' ? 'visible' : 'hidden'}: ${text.slice(0, 300)}`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  it('the reported probes: a plain member lists its group’s members neither over REST nor over GraphQL, and counts no users', async () => {
    const token = fx.tokens.member;
    const restList = await rest<{ errorMessages: { errorCode: string }[] }>(server, 'POST', `${team(fx)}/members`, PAGE(), token);
    assert.equal(restList.status, 403);
    assert.equal(restList.body.errorMessages[0]?.errorCode, 'FORBIDDEN');
    const viaGraphql = await gql(server, `{ userGroup(id: "${fx.team.id}") { users { data { id } } } }`, undefined, { token });
    assert.equal(viaGraphql.errors?.[0]?.extensions.code, 'FORBIDDEN');
    for (const query of [`{ user(id: "${fx.users.member.id}") { tenant { users { totalCount } } } }`, '{ users { totalCount } }']) {
      const res = await gql(server, query, undefined, { token });
      assert.equal(res.errors?.[0]?.extensions.code, 'FORBIDDEN', query);
      assert.ok(!JSON.stringify(res.data ?? {}).includes('totalCount'), `${query}: no count in ${JSON.stringify(res.data)}`);
    }
  });
});
