/**
 * Model-based test: fast-check generates random sequences of user, group, participant and manager operations in
 * three tenants, runs them against the real server (GraphQL ROQ and Pluvo dialects and REST v3, all through real
 * fetch) and against a small in-memory model, and checks after every command that both agree: the command's own
 * answer (flags, per-id lists, error codes) and the participants and managers of every group it touched. At the
 * end of each run every group and user of the run is checked again, through GraphQL and REST.
 *
 * Each run starts from fresh users and groups (three users and one group per tenant) in the three tenants created
 * once for the file, with its own model, so runs are independent (and fast-check can replay and shrink them).
 *
 * Environment (for longer local runs, or to replay a failure that fast-check printed):
 *   ROSTER_MODEL_RUNS=200          number of runs (default 12)
 *   ROSTER_MODEL_COMMANDS=60       maximum commands per run (default 30)
 *   ROSTER_MODEL_SEED=<seed> ROSTER_MODEL_PATH=<path>   replay the counterexample of a failed run
 * e.g. ROSTER_MODEL_RUNS=200 node --import tsx --test --test-reporter=spec test/model-based.test.ts
 *
 * A failure shows fast-check's seed, path and shrunk command list, and the error message ends with a trace of
 * that run's commands with the concrete users (u<n>@t<tenant>) and groups (g<n>@t<tenant>) they resolved to.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc, { type AsyncCommand } from 'fast-check';
import { rest, startServer, type TestServer } from './helpers/server.ts';
import { createGroup, createTenant, createUsers, expectError, gql, gqlOk, managerIds, memberIds, unique, type ClientErrorCode } from './helpers/roster.ts';

const NUM_RUNS = Number(process.env.ROSTER_MODEL_RUNS ?? 12);
const MAX_COMMANDS = Number(process.env.ROSTER_MODEL_COMMANDS ?? 30);
const SEED = process.env.ROSTER_MODEL_SEED;
const PATH = process.env.ROSTER_MODEL_PATH;
const TENANTS = 3;
const FALLBACK_UNKNOWN = '00000000-0000-4000-8000-00000000dead';

// ---------------------------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------------------------

interface MUser {
  readonly label: string;
  readonly id: string;
  readonly tenant: number;
  readonly reference: string;
  email: string;
  firstName: string | null;
  active: boolean;
  deleted: boolean;
}

interface MGroup {
  readonly label: string;
  readonly id: string;
  readonly tenant: number;
  readonly reference: string;
  deleted: boolean;
  readonly members: Set<string>;
  readonly managers: Set<string>;
}

class Model {
  readonly users: MUser[] = [];
  readonly groups: MGroup[] = [];
  readonly trace: string[] = [];

  liveUser(id: string): MUser | undefined {
    const lower = id.toLowerCase();
    return this.users.find((u) => u.id === lower && !u.deleted);
  }

  liveGroup(id: string): MGroup | undefined {
    const lower = id.toLowerCase();
    return this.groups.find((g) => g.id === lower && !g.deleted);
  }

  liveUserByRef(tenant: number, ref: string): MUser | undefined {
    return this.users.find((u) => !u.deleted && u.tenant === tenant && u.reference === ref);
  }

  liveGroupByRef(tenant: number, ref: string): MGroup | undefined {
    return this.groups.find((g) => !g.deleted && g.tenant === tenant && g.reference === ref);
  }

  addUser(fields: Omit<MUser, 'label' | 'deleted' | 'active'>): MUser {
    const user: MUser = { ...fields, label: `u${this.users.length}@t${fields.tenant}`, active: true, deleted: false };
    this.users.push(user);
    return user;
  }

  addGroup(fields: { id: string; tenant: number; reference: string }): MGroup {
    const group: MGroup = { ...fields, label: `g${this.groups.length}@t${fields.tenant}`, deleted: false, members: new Set(), managers: new Set() };
    this.groups.push(group);
    return group;
  }

  /** A readable name for an id or ref in traces: `u3@t1`, `u3@t1^` (given in upper case), or the raw value. */
  label(raw: string): string {
    const lower = raw.toLowerCase();
    const known = this.users.find((u) => u.id === lower) ?? this.groups.find((g) => g.id === lower);
    if (known) return `${known.label}${raw === lower ? '' : '^'}${'deleted' in known && known.deleted ? '(deleted)' : ''}`;
    const byRef = this.users.find((u) => u.reference === raw);
    if (byRef) return `ref:${byRef.label}`;
    return raw.length > 12 ? `?${raw.slice(0, 8)}` : `?${raw}`;
  }

  labels(raws: readonly (string | null | undefined)[] | null | undefined): string {
    return `[${(raws ?? []).map((r) => (r == null ? String(r) : this.label(r))).join(' ')}]`;
  }
}

interface Ctx {
  readonly server: TestServer;
  readonly tenants: readonly string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Abstract picks, resolved against the model when a command runs (so commands survive shrinking)
// ---------------------------------------------------------------------------------------------------------------

/** A user id: a live user of the group's tenant, any user of the run (other tenants, deleted), or an unknown uuid. */
type IdPick = { kind: 'own' | 'any'; i: number; upper: boolean } | { kind: 'unknown'; id: string; upper: boolean };
interface IdList {
  picks: IdPick[];
  /** Repeat the first id, in the other case. */
  dupe: boolean;
}
type RefPick = { kind: 'own' | 'any'; i: number } | { kind: 'unknown'; ref: string };
/** A group: a live one, a deleted one, or an unknown id (each falls back to the next kind when there is none). */
interface GroupPick {
  kind: 'live' | 'deleted' | 'unknown';
  i: number;
  id: string;
  /** Send the group's id (and in REST its company's id) in upper case. */
  upper: boolean;
}
interface UserPick {
  kind: 'live' | 'any' | 'unknown';
  i: number;
  id: string;
  upper: boolean;
}

const idx = fc.nat({ max: 10_000 });
const unknownUuid = fc.uuid({ version: 4 });
const ownPick = fc.record({ kind: fc.constant('own' as const), i: idx, upper: fc.boolean() });
const idPick: fc.Arbitrary<IdPick> = fc.oneof(
  { weight: 6, arbitrary: ownPick },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('any' as const), i: idx, upper: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unknown' as const), id: unknownUuid, upper: fc.boolean() }) },
);
const idList: fc.Arbitrary<IdList> = fc.record({
  // Half the lists name only live users of the group's tenant, so all-or-nothing calls succeed often enough.
  picks: fc.oneof(fc.array(ownPick, { maxLength: 4 }), fc.array(idPick, { maxLength: 5 })),
  dupe: fc.boolean(),
});
const refPick: fc.Arbitrary<RefPick> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('own' as const), i: idx }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('any' as const), i: idx }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unknown' as const), ref: fc.stringMatching(/^nope-[a-z0-9]{1,8}$/) }) },
);
const rarely = fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
const groupPick: fc.Arbitrary<GroupPick> = fc.record({
  kind: fc.oneof({ weight: 12, arbitrary: fc.constant('live' as const) }, { weight: 1, arbitrary: fc.constant('deleted' as const) }, { weight: 1, arbitrary: fc.constant('unknown' as const) }),
  i: idx,
  id: unknownUuid,
  upper: rarely,
});
const userPick: fc.Arbitrary<UserPick> = fc.record({
  kind: fc.oneof({ weight: 8, arbitrary: fc.constant('live' as const) }, { weight: 2, arbitrary: fc.constant('any' as const) }, { weight: 1, arbitrary: fc.constant('unknown' as const) }),
  i: idx,
  id: unknownUuid,
  upper: rarely,
});
const tenantIx = fc.integer({ min: 0, max: TENANTS - 1 });
const firstName = fc.string({ unit: 'grapheme', maxLength: 12 });

const at = <T>(pool: readonly T[], i: number): T | undefined => (pool.length === 0 ? undefined : pool[i % pool.length]);
const flipCase = (id: string) => (id === id.toLowerCase() ? id.toUpperCase() : id.toLowerCase());

function resolveId(m: Model, tenant: number, p: IdPick): string {
  let id: string;
  if (p.kind === 'unknown') id = p.id;
  else {
    const own = m.users.filter((u) => !u.deleted && u.tenant === tenant);
    id = (p.kind === 'own' ? at(own, p.i) : undefined)?.id ?? at(m.users, p.i)?.id ?? FALLBACK_UNKNOWN;
  }
  return p.upper ? id.toUpperCase() : id;
}

function resolveIds(m: Model, tenant: number, list: IdList): string[] {
  const ids = list.picks.map((p) => resolveId(m, tenant, p));
  if (list.dupe && ids.length > 0) ids.push(flipCase(ids[0]!));
  return ids;
}

function resolveRef(m: Model, tenant: number, p: RefPick): string {
  if (p.kind === 'unknown') return p.ref;
  const own = m.users.filter((u) => !u.deleted && u.tenant === tenant);
  return ((p.kind === 'own' ? at(own, p.i) : undefined) ?? at(m.users, p.i))?.reference ?? `nope-${p.i}`;
}

/**
 * The user whose email or reference a command copies: with `own`, another live user of `tenant` (a collision),
 * else any user of the run (other tenants, deleted users, or `self`).
 */
function copySource(m: Model, tenant: number, p: { i: number; own: boolean }, self: MUser | undefined): MUser | undefined {
  const own = p.own ? m.users.filter((u) => !u.deleted && u.tenant === tenant && u !== self) : [];
  return at(own, p.i) ?? at(m.users, p.i);
}

/** A model group, or an id no live group has. */
type Target = { group: MGroup } | { unknownId: string };

function resolveGroup(m: Model, p: GroupPick): Target {
  const live = m.groups.filter((g) => !g.deleted);
  const deleted = m.groups.filter((g) => g.deleted);
  const order = p.kind === 'live' ? [live, deleted] : p.kind === 'deleted' ? [deleted, live] : [];
  for (const pool of order) {
    const g = at(pool, p.i);
    if (g) return { group: g };
  }
  return { unknownId: p.id };
}

function resolveUser(m: Model, p: UserPick): { user: MUser } | { unknownId: string } {
  const user = p.kind === 'live' ? at(m.users.filter((u) => !u.deleted), p.i) ?? at(m.users, p.i) : p.kind === 'any' ? at(m.users, p.i) : undefined;
  return user ? { user } : { unknownId: p.id };
}

const targetId = (t: Target) => ('group' in t ? t.group.id : t.unknownId);
/** A group's or user's id as a command sends it. */
const spelled = (id: string, upper: boolean) => (upper ? id.toUpperCase() : id);
const targetTenant = (t: Target) => ('group' in t ? t.group.tenant : 0);

/**
 * The users a membership call names, as the server must resolve them against `group`: ids are normalised to lower
 * case and de-duplicated (a failure reports the first spelling given), refs are looked up in the group's tenant.
 */
function resolveUsers(m: Model, group: MGroup, rawIds: readonly string[], refs: readonly string[]) {
  const firstSpelling = new Map<string, string>();
  for (const raw of rawIds) if (!firstSpelling.has(raw.toLowerCase())) firstSpelling.set(raw.toLowerCase(), raw);
  const failures: { input: string; code: 'NOT_FOUND' | 'OTHER_TENANT' }[] = [];
  const resolved: string[] = [];
  for (const [id, raw] of firstSpelling) {
    const user = m.liveUser(id);
    if (!user) failures.push({ input: raw, code: 'NOT_FOUND' });
    else if (user.tenant !== group.tenant) failures.push({ input: raw, code: 'OTHER_TENANT' });
    else resolved.push(id);
  }
  for (const ref of new Set(refs)) {
    const user = m.liveUserByRef(group.tenant, ref);
    if (user) resolved.push(user.id);
    else failures.push({ input: ref, code: 'NOT_FOUND' });
  }
  return { targets: [...new Set(resolved)], failures };
}

// ---------------------------------------------------------------------------------------------------------------
// Checks against the server
// ---------------------------------------------------------------------------------------------------------------

const sorted = (ids: Iterable<string>) => [...ids].sort();
/** A list the server returned, as sorted strings; nulls and duplicates are errors. */
function idSet(what: string, ids: readonly (string | null)[] | null | undefined): string[] {
  assert.ok(Array.isArray(ids), `${what}: expected a list, got ${JSON.stringify(ids)}`);
  for (const id of ids) assert.equal(typeof id, 'string', `${what}: null in ${JSON.stringify(ids)}`);
  assert.equal(new Set(ids).size, ids.length, `${what}: duplicates in ${JSON.stringify(ids)}`);
  return sorted(ids as string[]);
}

interface Page {
  data: { id: string }[];
  totalCount: number;
}
const GROUP_STATE = `query($id: ID!) { userGroup(id: $id) { id tenantId reference
  users(limit: 1000, filter: { withDeactivated: { equalTo: true } }) { data { id } totalCount }
  activeUsers: users(limit: 1000) { data { id } totalCount }
  managers(limit: 1000, filter: { withDeactivated: { equalTo: true } }) { data { id } totalCount }
  activeManagers: managers(limit: 1000) { data { id } totalCount } } }`;
interface GroupState {
  userGroup: { id: string; tenantId: string; reference: string; users: Page; activeUsers: Page; managers: Page; activeManagers: Page };
}

const pageIds = (what: string, p: Page) => {
  const ids = idSet(what, p.data.map((u) => u.id));
  assert.equal(p.totalCount, ids.length, `${what}: totalCount`);
  return ids;
};

/** The group's participants and managers (all, and active only) as the server reports them, against the model. */
async function checkGroup(m: Model, c: Ctx, g: MGroup): Promise<void> {
  if (g.deleted) {
    expectError(await gql(c.server, GROUP_STATE, { id: g.id }), 'NOT_FOUND');
    return;
  }
  const { userGroup: s } = await gqlOk<GroupState>(c.server, GROUP_STATE, { id: g.id });
  assert.equal(s.id, g.id);
  assert.equal(s.tenantId, c.tenants[g.tenant], `${g.label}: tenant`);
  assert.equal(s.reference, g.reference, `${g.label}: reference`);
  const active = (ids: Set<string>) => sorted([...ids].filter((id) => m.liveUser(id)?.active));
  const show = (ids: readonly string[]) => m.labels(ids);
  const expectSame = (what: string, got: string[], want: string[]) => assert.deepEqual(got, want, `${g.label} ${what}: server ${show(got)}, model ${show(want)}`);
  expectSame('participants', pageIds('participants', s.users), sorted(g.members));
  expectSame('active participants', pageIds('active participants', s.activeUsers), active(g.members));
  expectSame('managers', pageIds('managers', s.managers), sorted(g.managers));
  expectSame('active managers', pageIds('active managers', s.activeManagers), active(g.managers));
}

async function checkGroups(m: Model, c: Ctx, groups: Iterable<MGroup | undefined>): Promise<void> {
  for (const g of new Set(groups)) if (g) await checkGroup(m, c, g);
}

interface RestError {
  debugIdentifier: string;
  errorMessages: { errorCode: string; message: string }[];
}

function expectRestError(res: { status: number; body: unknown }, status: number, code: string, field?: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body)}`);
  const body = res.body as RestError;
  assert.ok(body.debugIdentifier, 'debugIdentifier');
  assert.equal(body.errorMessages[0]?.errorCode, code, JSON.stringify(body));
  if (field) assert.ok(body.errorMessages[0]?.message.includes(field), `message ${JSON.stringify(body.errorMessages[0]?.message)} does not name ${field}`);
}

/** Expects a GraphQL error; the message must name one of `named` when given. */
function expectGqlError(res: Awaited<ReturnType<typeof gql>>, code: ClientErrorCode, named?: readonly string[]): void {
  const error = expectError(res, code);
  if (named) assert.ok(named.some((n) => error.message.includes(n)), `message ${JSON.stringify(error.message)} names none of ${JSON.stringify(named)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------------------------

type Spec =
  | { op: 'createUser'; t: number; copy: { i: number; own: boolean; field: 'email' | 'reference'; upper: boolean } | null; firstName: string | null }
  | {
      op: 'updateUser';
      u: UserPick;
      firstName: string | null | undefined;
      email: { kind: 'copy'; i: number; own: boolean; upper: boolean } | { kind: 'fresh' } | { kind: 'ownUpper' } | null;
      active: boolean | undefined;
      /** Pass the user's own tenant (allowed) or another one (a user cannot move). */
      tenantArg: 'none' | 'own' | 'other';
    }
  | { op: 'deleteUser'; u: UserPick }
  | { op: 'createGroup'; t: number; via: 'graphql' | 'rest'; copyRef: number | null }
  | { op: 'deleteGroup'; g: GroupPick; via: 'graphql' | 'rest'; wrongCompany: boolean }
  | { op: 'roq'; change: 'add' | 'remove'; g: GroupPick; ids: IdList }
  | {
      op: 'pluvo';
      relation: 'members' | 'managers';
      change: 'add' | 'remove';
      g: GroupPick;
      selector: 'id' | 'ref' | 'both';
      tenantArg: 'none' | 'own' | 'other';
      ids: IdList | null;
      refs: { picks: RefPick[]; dupe: boolean } | null;
    }
  | { op: 'restPatch'; g: GroupPick; add: IdList; remove: IdList; removeKey: 'userIdsToRemove' | 'userIdsToDelete' | 'both'; overlap: boolean; wrongCompany: boolean };

class Op implements AsyncCommand<Model, Ctx> {
  constructor(readonly spec: Spec) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, c: Ctx): Promise<void> {
    await execute(m, c, this.spec);
  }
  toString(): string {
    const { op, ...rest } = this.spec;
    return `${op}(${JSON.stringify(rest)})`;
  }
}

const USER_FIELDS = 'id reference email firstName active tenantId';
interface UserFields {
  id: string;
  reference: string;
  email: string;
  firstName: string | null;
  active: boolean;
  tenantId: string;
}
const expectUser = (c: Ctx, got: UserFields, u: MUser) =>
  assert.deepEqual(got, { id: u.id, reference: u.reference, email: u.email, firstName: u.firstName, active: u.active, tenantId: c.tenants[u.tenant] }, `${u.label} fields`);

async function countUsersWhere(c: Ctx, filter: Record<string, unknown>): Promise<number> {
  const data = await gqlOk<{ users: { totalCount: number } }>(c.server, 'query($f: UserFilterArgType) { users(filter: $f, limit: 0) { totalCount } }', {
    f: { ...filter, withDeactivated: { equalTo: true } },
  });
  return data.users.totalCount;
}

async function execute(m: Model, c: Ctx, s: Spec): Promise<void> {
  switch (s.op) {
    case 'createUser': {
      const tenant = s.t;
      const source = s.copy ? copySource(m, tenant, s.copy, undefined) : undefined;
      let reference = unique('mb-user');
      let email = `${unique('mb-mail')}@example.test`;
      if (s.copy && source) {
        if (s.copy.field === 'reference') reference = source.reference;
        else email = s.copy.upper ? source.email.toUpperCase() : source.email;
      }
      const clash = m.users.find((u) => !u.deleted && u.tenant === tenant && (u.reference === reference || u.email.toLowerCase() === email.toLowerCase()));
      const field = clash ? (clash.reference === reference ? 'reference' : 'email') : undefined;
      m.trace.push(`createUser t${tenant} ${s.copy && source ? `copying ${s.copy.field} of ${m.label(source.id)}` : ''} → ${field ? `CONFLICT ${field}` : 'ok'}`);
      const res = await gql<{ createUser: UserFields }>(c.server, `mutation($u: UserCreateDto!) { createUser(user: $u) { ${USER_FIELDS} } }`, {
        u: { reference, email, tenantId: c.tenants[tenant], ...(s.firstName === null ? {} : { firstName: s.firstName }) },
      });
      if (field) {
        expectGqlError(res, 'CONFLICT', [field]);
        const byField = field === 'reference' ? { reference: { equalTo: reference } } : { email: { iLike: email } };
        assert.equal(await countUsersWhere(c, { tenantId: { equalTo: c.tenants[tenant] }, ...byField }), 1, 'a conflicting createUser created nobody');
        return;
      }
      assert.equal(res.errors, undefined, `createUser failed: ${JSON.stringify(res.errors)}`);
      const created = res.data!.createUser;
      const user = m.addUser({ id: created.id, tenant, reference, email, firstName: s.firstName });
      expectUser(c, created, user);
      return;
    }

    case 'updateUser': {
      const r = resolveUser(m, s.u);
      const id = spelled('user' in r ? r.user.id : r.unknownId, s.u.upper);
      const target = m.liveUser(id);
      let email: string | undefined;
      if (s.email?.kind === 'fresh') email = `${unique('mb-new')}@example.test`;
      else if (s.email?.kind === 'ownUpper') email = ('user' in r ? r.user.email : 'x@example.test').toUpperCase();
      else if (s.email?.kind === 'copy') {
        const source = copySource(m, 'user' in r ? r.user.tenant : 0, s.email, 'user' in r ? r.user : undefined);
        if (source) email = s.email.upper ? source.email.toUpperCase() : source.email;
      }
      const input: Record<string, unknown> = {};
      if (s.firstName !== undefined) input.firstName = s.firstName;
      if (email !== undefined) input.email = email;
      if (s.active !== undefined) input.active = s.active;
      const userTenant = 'user' in r ? r.user.tenant : 0;
      if (s.tenantArg !== 'none') input.tenantId = c.tenants[s.tenantArg === 'own' ? userTenant : (userTenant + 1) % TENANTS];
      const moves = target !== undefined && s.tenantArg === 'other';
      const clash =
        target && email !== undefined
          ? m.users.find((u) => !u.deleted && u !== target && u.tenant === target.tenant && u.email.toLowerCase() === email.toLowerCase())
          : undefined;
      const outcome = !target ? 'NOT_FOUND' : moves ? 'BAD_USER_INPUT user.tenantId' : clash ? `CONFLICT with ${clash.label}` : 'ok';
      m.trace.push(`updateUser ${m.label(id)} ${JSON.stringify({ ...input, ...(input.tenantId ? { tenantId: `t${c.tenants.indexOf(input.tenantId as string)}` } : {}) })} → ${outcome}`);
      const res = await gql<{ updateUser: UserFields }>(c.server, `mutation($id: ID!, $u: UserUpdateDto!) { updateUser(id: $id, user: $u) { ${USER_FIELDS} } }`, { id, u: input });
      if (!target) {
        expectGqlError(res, 'NOT_FOUND');
        return;
      }
      if (moves) {
        expectGqlError(res, 'BAD_USER_INPUT', ['user.tenantId']);
      } else if (clash) {
        expectGqlError(res, 'CONFLICT', ['email']);
      } else {
        assert.equal(res.errors, undefined, `updateUser failed: ${JSON.stringify(res.errors)}`);
        if (s.firstName !== undefined) target.firstName = s.firstName;
        if (email !== undefined) target.email = email;
        if (s.active !== undefined) target.active = s.active;
        expectUser(c, res.data!.updateUser, target);
      }
      // Whatever the outcome, the stored user is the model's (a refused update changed nothing).
      const stored = await gqlOk<{ user: UserFields }>(c.server, `query($id: ID!) { user(id: $id) { ${USER_FIELDS} } }`, { id });
      expectUser(c, stored.user, target);
      if (s.active !== undefined) await checkGroups(m, c, m.groups.filter((g) => g.members.has(target.id) || g.managers.has(target.id)));
      return;
    }

    case 'deleteUser': {
      const r = resolveUser(m, s.u);
      const id = spelled('user' in r ? r.user.id : r.unknownId, s.u.upper);
      const target = m.liveUser(id);
      m.trace.push(`deleteUser ${m.label(id)} → ${target ? 'true' : 'NOT_FOUND'}`);
      const res = await gql<{ deleteUser: boolean }>(c.server, 'mutation($id: ID!) { deleteUser(id: $id) }', { id });
      if (!target) {
        expectGqlError(res, 'NOT_FOUND');
        return;
      }
      assert.deepEqual(res.data, { deleteUser: true }, JSON.stringify(res.errors));
      target.deleted = true;
      const touched = m.groups.filter((g) => g.members.has(target.id) || g.managers.has(target.id));
      for (const g of touched) {
        g.members.delete(target.id);
        g.managers.delete(target.id);
      }
      expectGqlError(await gql(c.server, 'query($id: ID!) { user(id: $id) { id } }', { id }), 'NOT_FOUND');
      await checkGroups(m, c, touched);
      return;
    }

    case 'createGroup': {
      const tenant = s.t;
      if (s.via === 'rest') {
        m.trace.push(`createGroup (REST) t${tenant}`);
        const res = await rest<{ id: string }>(c.server, 'POST', `/v3/companies/${c.tenants[tenant]}/user-groups`, { name: unique('mb-rest-group'), description: 'model' });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const read = await gqlOk<{ userGroup: { reference: string; tenantId: string } }>(c.server, 'query($id: ID!) { userGroup(id: $id) { reference tenantId } }', { id: res.body.id });
        assert.equal(read.userGroup.tenantId, c.tenants[tenant]);
        await checkGroup(m, c, m.addGroup({ id: res.body.id, tenant, reference: read.userGroup.reference }));
        return;
      }
      const source = s.copyRef === null ? undefined : at(m.groups, s.copyRef);
      const reference = source ? source.reference : unique('mb-group');
      const clash = m.liveGroupByRef(tenant, reference);
      m.trace.push(`createGroup t${tenant} ${source ? `copying the reference of ${m.label(source.id)}` : ''} → ${clash ? 'CONFLICT' : 'ok'}`);
      const res = await gql<{ createUserGroup: { id: string; tenantId: string; reference: string } }>(
        c.server,
        'mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id tenantId reference } }',
        { g: { name: unique('mb-group-name'), reference, tenantId: c.tenants[tenant] } },
      );
      if (clash) {
        expectGqlError(res, 'CONFLICT', ['reference']);
        const count = await gqlOk<{ userGroups: { totalCount: number } }>(c.server, 'query($f: UserGroupFilterArgType) { userGroups(filter: $f, limit: 0) { totalCount } }', {
          f: { tenantId: { equalTo: c.tenants[tenant] }, reference: { equalTo: reference } },
        });
        assert.equal(count.userGroups.totalCount, 1, 'a conflicting createUserGroup created nothing');
        return;
      }
      assert.equal(res.errors, undefined, `createUserGroup failed: ${JSON.stringify(res.errors)}`);
      const created = res.data!.createUserGroup;
      assert.deepEqual({ tenantId: created.tenantId, reference: created.reference }, { tenantId: c.tenants[tenant], reference });
      await checkGroup(m, c, m.addGroup({ id: created.id, tenant, reference }));
      return;
    }

    case 'deleteGroup': {
      const target = resolveGroup(m, s.g);
      const id = spelled(targetId(target), s.g.upper);
      const live = m.liveGroup(id);
      if (s.via === 'graphql') {
        m.trace.push(`deleteUserGroup ${m.label(id)} → ${live ? 'true' : 'NOT_FOUND'}`);
        const res = await gql<{ deleteUserGroup: boolean }>(c.server, 'mutation($id: ID!) { deleteUserGroup(id: $id) }', { id });
        if (live) {
          assert.deepEqual(res.data, { deleteUserGroup: true }, JSON.stringify(res.errors));
          live.deleted = true;
        } else expectGqlError(res, 'NOT_FOUND');
      } else {
        const tenant = targetTenant(target);
        const company = s.wrongCompany ? (tenant + 1) % TENANTS : tenant;
        const ok = live !== undefined && live.tenant === company;
        m.trace.push(`DELETE (REST) ${m.label(id)} in company t${company} → ${ok ? '200' : '404'}`);
        const res = await rest<unknown>(c.server, 'DELETE', `/v3/companies/${spelled(c.tenants[company]!, s.g.upper)}/user-groups/${id}`);
        if (ok) {
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.deepEqual(res.body, {});
          live.deleted = true;
        } else expectRestError(res, 404, 'NOT_FOUND');
      }
      if ('group' in target) await checkGroup(m, c, target.group);
      return;
    }

    case 'roq': {
      const target = resolveGroup(m, s.g);
      const id = spelled(targetId(target), s.g.upper);
      const group = m.liveGroup(id);
      const rawIds = resolveIds(m, group?.tenant ?? targetTenant(target), s.ids);
      const mutation = s.change === 'add' ? 'addUsersToUserGroup' : 'removeUsersFromUserGroup';
      const expected = group ? resolveUsers(m, group, rawIds, []) : undefined;
      m.trace.push(
        `${mutation} ${m.label(id)} ${m.labels(rawIds)} → ${!group ? 'NOT_FOUND userGroupId' : expected!.failures.length ? `NOT_FOUND ${m.labels(expected!.failures.map((f) => f.input))}` : 'true'}`,
      );
      const res = await gql<Record<string, boolean>>(c.server, `mutation($g: ID!, $u: [ID!]!) { ${mutation}(userGroupId: $g, userIds: $u) }`, { g: id, u: rawIds });
      if (!group || !expected) {
        expectGqlError(res, 'NOT_FOUND', ['userGroupId']);
      } else if (expected.failures.length > 0) {
        // All or nothing: one unknown, deleted or other-tenant user rejects the call, naming such a user.
        expectGqlError(res, 'NOT_FOUND', expected.failures.map((f) => f.input));
      } else {
        assert.deepEqual(res.data, { [mutation]: true }, JSON.stringify(res.errors));
        for (const userId of expected.targets) {
          if (s.change === 'add') group.members.add(userId);
          else group.members.delete(userId);
        }
      }
      if ('group' in target) await checkGroup(m, c, target.group);
      return;
    }

    case 'pluvo':
      return executePluvo(m, c, s);

    case 'restPatch': {
      const target = resolveGroup(m, s.g);
      const id = spelled(targetId(target), s.g.upper);
      const tenant = targetTenant(target);
      const company = s.wrongCompany ? (tenant + 1) % TENANTS : tenant;
      const add = resolveIds(m, tenant, s.add);
      // An id in both lists is an error of its own: only when asked for (else such ids leave the remove list).
      const adding = new Set(add.map((x) => x.toLowerCase()));
      const remove = resolveIds(m, tenant, s.remove).filter((x) => !adding.has(x.toLowerCase()));
      if (s.overlap && add.length > 0) remove.push(flipCase(add[0]!));
      const body: Record<string, string[]> = { userIdsToAdd: add };
      if (s.removeKey === 'both') {
        body.userIdsToRemove = remove.slice(0, 1);
        body.userIdsToDelete = remove.slice(1);
      } else body[s.removeKey] = remove;
      const removeField = s.removeKey === 'userIdsToDelete' ? 'userIdsToDelete' : 'userIdsToRemove';

      const group = m.liveGroup(id);
      const removeSet = new Set(remove.map((x) => x.toLowerCase()));
      const badIn = (ids: Set<string>) => [...ids].find((x) => m.liveUser(x)?.tenant !== group?.tenant);
      let expected: { status: number; code: string; field: string } | undefined;
      if (!group || group.tenant !== company) expected = { status: 404, code: 'NOT_FOUND', field: 'groupId' };
      else if ([...adding].some((x) => removeSet.has(x))) expected = { status: 400, code: 'BAD_USER_INPUT', field: removeField };
      else if (badIn(adding)) expected = { status: 400, code: 'BAD_USER_INPUT', field: 'userIdsToAdd' };
      else if (badIn(removeSet)) expected = { status: 400, code: 'BAD_USER_INPUT', field: removeField };
      m.trace.push(
        `PATCH (REST) ${m.label(id)} in company t${company} add ${m.labels(add)} ${s.removeKey} ${m.labels(remove)} → ${expected ? `${expected.status} ${expected.field}` : '200'}`,
      );
      const res = await rest<unknown>(c.server, 'PATCH', `/v3/companies/${spelled(c.tenants[company]!, s.g.upper)}/user-groups/${id}/members`, body);
      if (expected || !group) {
        expectRestError(res, expected?.status ?? 404, expected?.code ?? 'NOT_FOUND', expected?.field);
      } else {
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body, {});
        for (const x of adding) group.members.add(x);
        for (const x of removeSet) group.members.delete(x);
      }
      if ('group' in target) await checkGroup(m, c, target.group);
      return;
    }
  }
}

interface Failure {
  input: string;
  code: string;
  message: string;
}
interface PluvoAnswer {
  addedIds?: (string | null)[] | null;
  alreadyAddedIds?: (string | null)[] | null;
  removedIds?: (string | null)[] | null;
  alreadyRemovedIds?: (string | null)[] | null;
  failedIds?: (string | null)[] | null;
  failures?: Failure[];
  response?: { succeededIds: (string | null)[] | null; failedIds: (string | null)[] | null; failures: Failure[] } | null;
}
const PLUVO_ARGS = '$groupId: UUID, $groupRef: String, $userIds: [UUID!], $userRefs: [String!], $tenantId: UUID';
const PLUVO_PASS = 'groupId: $groupId, groupRef: $groupRef, userIds: $userIds, userRefs: $userRefs, tenantId: $tenantId';
const FAILURES = 'failures { input code message }';
const PLUVO = {
  'members/add': ['addUsersToGroup', `addedIds alreadyAddedIds failedIds ${FAILURES}`],
  'members/remove': ['removeUsersFromGroup', `removedIds alreadyRemovedIds failedIds ${FAILURES}`],
  'managers/add': ['addManagersToGroup', `response { succeededIds failedIds ${FAILURES} }`],
  'managers/remove': ['removeManagersFromGroup', `response { succeededIds failedIds ${FAILURES} }`],
} as const;

async function executePluvo(m: Model, c: Ctx, s: Extract<Spec, { op: 'pluvo' }>): Promise<void> {
  const target = resolveGroup(m, s.g);
  const tenant = targetTenant(target);
  const groupId = spelled(targetId(target), s.g.upper);
  const groupRef = 'group' in target ? target.group.reference : `nope-group-${s.g.i}`;
  const tenantArg = s.tenantArg === 'none' ? undefined : s.tenantArg === 'own' ? tenant : (tenant + 1) % TENANTS;
  const vars: Record<string, unknown> = {};
  if (s.selector !== 'ref') vars.groupId = groupId;
  if (s.selector !== 'id') vars.groupRef = groupRef;
  if (tenantArg !== undefined) vars.tenantId = spelled(c.tenants[tenantArg]!, s.g.upper);

  // How the server must select the group (see GroupService.select): by id, then by ref in the tenantId argument
  // (or the id's group's tenant, or the default tenant, which holds none of the run's groups).
  let error: { code: ClientErrorCode; field: string } | undefined;
  let group: MGroup | undefined;
  if (s.selector !== 'ref') {
    group = m.liveGroup(groupId);
    if (!group || (tenantArg !== undefined && tenantArg !== group.tenant)) error = { code: 'NOT_FOUND', field: 'groupId' };
  }
  if (!error && s.selector !== 'id') {
    const refTenant = group && tenantArg === undefined ? group.tenant : tenantArg ?? -1;
    const byRef = m.liveGroupByRef(refTenant, groupRef);
    if (!byRef) error = { code: 'NOT_FOUND', field: 'groupRef' };
    else if (group && group !== byRef) error = { code: 'BAD_USER_INPUT', field: 'groupRef' };
    group = byRef;
  }

  const userTenant = group?.tenant ?? tenant;
  const rawIds = s.ids ? resolveIds(m, userTenant, s.ids) : undefined;
  const refs = s.refs?.picks.map((p) => resolveRef(m, userTenant, p));
  if (s.refs?.dupe && refs && refs.length > 0) refs.push(refs[0]!);
  if (rawIds) vars.userIds = rawIds;
  if (refs) vars.userRefs = refs;

  const [field, selection] = PLUVO[`${s.relation}/${s.change}`];
  const name = `${field} via ${s.selector}${tenantArg === undefined ? '' : ` tenant t${tenantArg}`}`;
  const res = await gql<Record<string, PluvoAnswer | null>>(c.server, `mutation(${PLUVO_ARGS}) { ${field}(${PLUVO_PASS}) { ${selection} } }`, vars);
  if (error || !group) {
    m.trace.push(`${name} ${m.label(groupId)} ids ${m.labels(rawIds)} refs ${m.labels(refs)} → ${error?.code} ${error?.field}`);
    expectGqlError(res, error?.code ?? 'NOT_FOUND', [error?.field ?? 'group']);
    if ('group' in target) await checkGroup(m, c, target.group);
    return;
  }

  const { targets, failures } = resolveUsers(m, group, rawIds ?? [], refs ?? []);
  const set = s.relation === 'members' ? group.members : group.managers;
  const changed = targets.filter((id) => (s.change === 'add' ? !set.has(id) : set.has(id)));
  const unchanged = targets.filter((id) => !changed.includes(id));
  m.trace.push(
    `${name} ${group.label} ids ${m.labels(rawIds)} refs ${m.labels(refs)} → changed ${m.labels(changed)} unchanged ${m.labels(unchanged)} failed ${m.labels(failures.map((f) => f.input))}`,
  );
  assert.equal(res.errors, undefined, `${field} failed: ${JSON.stringify(res.errors)}`);
  const answer = res.data?.[field];
  assert.ok(answer, `${field} returned ${JSON.stringify(res.data)}`);
  const failed = s.relation === 'members' ? answer.failures : answer.response?.failures;
  const failedIds = s.relation === 'members' ? answer.failedIds : answer.response?.failedIds;
  const show = (ids: readonly string[]) => m.labels(ids);
  const same = (what: string, got: string[], want: string[]) => assert.deepEqual(got, sorted(want), `${field} ${what}: server ${show(got)}, model ${show(sorted(want))}`);
  if (s.relation === 'members' && s.change === 'add') {
    same('addedIds', idSet('addedIds', answer.addedIds), changed);
    same('alreadyAddedIds', idSet('alreadyAddedIds', answer.alreadyAddedIds), unchanged);
  } else if (s.relation === 'members') {
    same('removedIds', idSet('removedIds', answer.removedIds), changed);
    same('alreadyRemovedIds', idSet('alreadyRemovedIds', answer.alreadyRemovedIds), unchanged);
  } else {
    // Managers: succeededIds are the users now in the desired state, changed or not.
    same('succeededIds', idSet('succeededIds', answer.response?.succeededIds), targets);
  }
  same('failedIds', idSet('failedIds', failedIds), failures.map((f) => f.input));
  assert.ok(failed, 'failures');
  assert.deepEqual(
    failed.map((f) => `${f.input} ${f.code}`).sort(),
    failures.map((f) => `${f.input} ${f.code}`).sort(),
    `${field} failures: server ${JSON.stringify(failed)}`,
  );
  for (const f of failed) assert.ok(f.message.length > 0, 'failure message');

  for (const id of changed) {
    if (s.change === 'add') set.add(id);
    else set.delete(id);
  }
  await checkGroups(m, c, ['group' in target ? target.group : undefined, group]);
}

// ---------------------------------------------------------------------------------------------------------------
// Whole-run checks
// ---------------------------------------------------------------------------------------------------------------

/** Every group and user of the run, through the helpers, the keyset connection and REST. */
async function checkRun(m: Model, c: Ctx): Promise<void> {
  for (const g of m.groups) {
    await checkGroup(m, c, g);
    if (g.deleted) {
      expectRestError(await rest(c.server, 'GET', `/v3/companies/${c.tenants[g.tenant]}/user-groups/${g.id}`), 404, 'NOT_FOUND');
      continue;
    }
    assert.deepEqual(await memberIds(c.server, g.id), sorted(g.members), `${g.label} memberIds`);
    assert.deepEqual(await managerIds(c.server, g.id), sorted([...g.managers].filter((id) => m.liveUser(id)?.active)), `${g.label} managerIds`);
    const conn = await gqlOk<{ p: { edges: { node: { id: string } }[] }; k: { edges: { node: { id: string } }[] } }>(
      c.server,
      'query($g: ID!) { p: userGroupMembers(groupId: $g, relation: PARTICIPANTS, first: 1000) { edges { node { id } } } k: userGroupMembers(groupId: $g, relation: MANAGERS, first: 1000) { edges { node { id } } } }',
      { g: g.id },
    );
    assert.deepEqual(idSet('userGroupMembers', conn.p.edges.map((e) => e.node.id)), sorted(g.members), `${g.label} userGroupMembers PARTICIPANTS`);
    assert.deepEqual(idSet('userGroupMembers', conn.k.edges.map((e) => e.node.id)), sorted(g.managers), `${g.label} userGroupMembers MANAGERS`);
    const listed = await rest<{ members: { userId: string }[]; pagination: { totalNumResults: number } }>(
      c.server,
      'POST',
      `/v3/companies/${c.tenants[g.tenant]}/user-groups/${g.id}/members`,
      { pagination: { offset: 0, limit: 1000 } },
    );
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(idSet('REST members', listed.body.members.map((x) => x.userId)), sorted(g.members), `${g.label} REST members`);
    assert.equal(listed.body.pagination.totalNumResults, g.members.size);
  }

  const liveGroups = m.groups.filter((g) => !g.deleted);
  for (const u of m.users) {
    if (u.deleted) {
      expectError(await gql(c.server, 'query($id: ID!) { user(id: $id) { id } }', { id: u.id }), 'NOT_FOUND');
      continue;
    }
    const data = await gqlOk<{ user: UserFields & { userGroups: Page } }>(
      c.server,
      `query($id: ID!) { user(id: $id) { ${USER_FIELDS} userGroups(limit: 1000) { data { id } totalCount } } }`,
      { id: u.id },
    );
    const { userGroups, ...fields } = data.user;
    expectUser(c, fields, u);
    const groupsOf = sorted(liveGroups.filter((g) => g.members.has(u.id)).map((g) => g.id));
    assert.deepEqual(pageIds(`${u.label} userGroups`, userGroups), groupsOf, `${u.label} userGroups`);
    const viaRest = await rest<{ userGroups: { id: string }[] }>(c.server, 'POST', `/v3/users/${u.id}/user-groups`, { pagination: { offset: 0, limit: 1000 } });
    assert.equal(viaRest.status, 200, JSON.stringify(viaRest.body));
    assert.deepEqual(idSet('REST user groups', viaRest.body.userGroups.map((g) => g.id)), groupsOf, `${u.label} REST user groups`);
  }

  // Each tenant holds exactly the run's live users and groups of that tenant.
  const userIds = m.users.map((u) => u.id);
  const groupIds = m.groups.map((g) => g.id);
  for (let t = 0; t < TENANTS; t++) {
    const counts = await gqlOk<{ users: { totalCount: number }; userGroups: { totalCount: number } }>(
      c.server,
      `query($u: UserFilterArgType, $g: UserGroupFilterArgType) { users(filter: $u, limit: 0) { totalCount } userGroups(filter: $g, limit: 0) { totalCount } }`,
      {
        u: { id: { valueIn: userIds }, tenantId: { equalTo: c.tenants[t] }, withDeactivated: { equalTo: true } },
        g: { id: { valueIn: groupIds }, tenantId: { equalTo: c.tenants[t] } },
      },
    );
    assert.equal(counts.users.totalCount, m.users.filter((u) => !u.deleted && u.tenant === t).length, `t${t} users`);
    assert.equal(counts.userGroups.totalCount, liveGroups.filter((g) => g.tenant === t).length, `t${t} groups`);
  }
}

/** A fresh start for one run: three users and one group in each tenant. */
async function setupRun(c: Ctx): Promise<Model> {
  const m = new Model();
  for (let t = 0; t < TENANTS; t++) {
    for (const u of await createUsers(c.server, 3, c.tenants[t])) {
      m.addUser({ id: u.id, tenant: t, reference: u.reference, email: u.email, firstName: null });
    }
  }
  for (let t = 0; t < TENANTS; t++) {
    const g = await createGroup(c.server, { tenantId: c.tenants[t] });
    m.addGroup({ id: g.id, tenant: t, reference: g.reference });
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// Command arbitraries
// ---------------------------------------------------------------------------------------------------------------

const op = <S extends Spec>(arb: fc.Arbitrary<S>) => arb.map((spec) => new Op(spec));

const commandArbs = [
  op(
    fc.record({
      op: fc.constant('createUser' as const),
      t: tenantIx,
      copy: fc.option(fc.record({ i: idx, own: fc.boolean(), field: fc.constantFrom('email' as const, 'reference' as const), upper: fc.boolean() }), { freq: 2 }),
      firstName: fc.option(firstName),
    }),
  ),
  op(
    fc.record({
      op: fc.constant('updateUser' as const),
      u: userPick,
      firstName: fc.oneof(fc.constant(undefined), fc.constant(null), firstName),
      email: fc.oneof(
        fc.constant(null),
        fc.record({ kind: fc.constant('copy' as const), i: idx, own: fc.boolean(), upper: fc.boolean() }),
        fc.record({ kind: fc.constant('fresh' as const) }),
        fc.record({ kind: fc.constant('ownUpper' as const) }),
      ),
      active: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.boolean() }),
      tenantArg: fc.oneof({ weight: 6, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constant('own' as const) }, { weight: 1, arbitrary: fc.constant('other' as const) }),
    }),
  ),
  op(fc.record({ op: fc.constant('deleteUser' as const), u: userPick })),
  op(fc.record({ op: fc.constant('createGroup' as const), t: tenantIx, via: fc.constantFrom('graphql' as const, 'rest' as const), copyRef: fc.option(idx, { freq: 3 }) })),
  op(fc.record({ op: fc.constant('deleteGroup' as const), g: groupPick, via: fc.constantFrom('graphql' as const, 'rest' as const), wrongCompany: fc.boolean() })),
  ...(['add', 'add', 'remove'] as const).map((change) => op(fc.record({ op: fc.constant('roq' as const), change: fc.constant(change), g: groupPick, ids: idList }))),
  ...(['members', 'managers'] as const).flatMap((relation) =>
    (['add', 'add', 'remove'] as const).map((change) =>
      op(
        fc.record({
          op: fc.constant('pluvo' as const),
          relation: fc.constant(relation),
          change: fc.constant(change),
          g: groupPick,
          selector: fc.oneof({ weight: 4, arbitrary: fc.constant('id' as const) }, { weight: 2, arbitrary: fc.constant('ref' as const) }, { weight: 1, arbitrary: fc.constant('both' as const) }),
          tenantArg: fc.oneof({ weight: 3, arbitrary: fc.constant('own' as const) }, { weight: 2, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constant('other' as const) }),
          ids: fc.option(idList, { freq: 6 }),
          refs: fc.option(fc.record({ picks: fc.array(refPick, { maxLength: 3 }), dupe: fc.boolean() }), { freq: 2 }),
        }),
      ),
    ),
  ),
  ...[0, 1].map(() =>
    op(
      fc.record({
        op: fc.constant('restPatch' as const),
        g: groupPick,
        add: idList,
        remove: idList,
        removeKey: fc.constantFrom('userIdsToRemove' as const, 'userIdsToDelete' as const, 'both' as const),
        overlap: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        wrongCompany: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
    ),
  ),
];

// ---------------------------------------------------------------------------------------------------------------

describe('model-based: users, groups, participants and managers in three tenants', () => {
  let server: TestServer;
  let ctx: Ctx;

  before(async () => {
    server = await startServer();
    const tenants: string[] = [];
    for (let t = 0; t < TENANTS; t++) tenants.push(await createTenant(server));
    ctx = { server, tenants };
  });
  after(() => server.close());

  it(`the server agrees with the model (${NUM_RUNS} runs of up to ${MAX_COMMANDS} commands)`, async () => {
    const property = fc.asyncProperty(fc.commands(commandArbs, { maxCommands: MAX_COMMANDS, size: 'max' }), async (cmds) => {
      const model = await setupRun(ctx);
      try {
        await fc.asyncModelRun(() => ({ model, real: ctx }), cmds);
        await checkRun(model, ctx);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        throw new Error(`${message}\n--- this run, as executed ---\n${model.trace.join('\n')}`, { cause: e });
      }
    });
    await fc.assert(property, {
      numRuns: NUM_RUNS,
      verbose: true,
      ...(SEED === undefined ? {} : { seed: Number(SEED), path: PATH }),
    });
  });
});
