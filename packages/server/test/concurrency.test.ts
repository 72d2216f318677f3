/**
 * Concurrency: 32 clients change the memberships of the same few groups at once, through every transport (ROQ
 * addUsersToUserGroup / removeUsersFromUserGroup, Pluvo addUsersToGroup / removeUsersFromGroup /
 * addManagersToGroup / removeManagersFromGroup, REST PATCH .../members). Whatever the interleaving, the final
 * state must be one that some serial order of the same calls gives, every per-user report must be consistent with
 * that order, and no call may end in a 5xx or a dropped connection.
 *
 * - Commutative phases (adds only, removes only, managers): the final sets are unions and differences.
 * - Non-commutative phase (the serializability check): adds and removes of the same (group, user) pairs race.
 *   Effective adds and removes of one pair alternate in any serial history, so with the pair's initial state
 *   s0 ∈ {0, 1}, s0 + adds − removes stays in {0, 1} and is the final state.
 * - Deletes racing with adds: a deleted user ends up in no group, a call either includes it (the cascade removes
 *   it afterwards) or reports it NOT_FOUND, and all-or-nothing calls that fail change nothing.
 *
 * On PGlite statements serialize; on PostgreSQL (DATABASE_URL) a connection pool makes the transactions really
 * overlap, with row locks, lock waits and deadlocks. The operations come from a seeded generator
 * (CONCURRENCY_SEED=<n> replays the same operations; the interleaving is the scheduler's).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { rest, startServer, type GraphqlResponse, type TestServer } from './helpers/server.ts';
import { createGroup, createTenant, createUsers, gql, managerIds, memberIds, type CreatedGroup, type CreatedUser } from './helpers/roster.ts';

const CLIENTS = 32;
/** Operations per client in the non-commutative phase. */
const C_OPS = 25;
const SEED = Number.parseInt(process.env.CONCURRENCY_SEED ?? '', 10) || Math.floor(Math.random() * 2 ** 31);

interface Failure { input: string; code: string; message: string }
interface AddResult { addedIds: (string | null)[] | null; alreadyAddedIds: (string | null)[] | null; failedIds: (string | null)[] | null; failures: Failure[] }
interface RemoveResult { removedIds: (string | null)[] | null; alreadyRemovedIds: (string | null)[] | null; failedIds: (string | null)[] | null; failures: Failure[] }
interface BulkResult { response: { succeededIds: (string | null)[] | null; failedIds: (string | null)[] | null; failures: Failure[] } | null }

const ARGS = '$groupId: UUID, $groupRef: String, $userIds: [UUID!], $userRefs: [String!], $tenantId: UUID';
const PASS = 'groupId: $groupId, groupRef: $groupRef, userIds: $userIds, userRefs: $userRefs, tenantId: $tenantId';
const FAILURES = 'failures { input code message }';
const PLUVO_ADD = `mutation(${ARGS}) { addUsersToGroup(${PASS}) { addedIds alreadyAddedIds failedIds ${FAILURES} } }`;
const PLUVO_REMOVE = `mutation(${ARGS}) { removeUsersFromGroup(${PASS}) { removedIds alreadyRemovedIds failedIds ${FAILURES} } }`;
const ADD_MANAGERS = `mutation(${ARGS}) { addManagersToGroup(${PASS}) { response { succeededIds failedIds ${FAILURES} } } }`;
const REMOVE_MANAGERS = `mutation(${ARGS}) { removeManagersFromGroup(${PASS}) { response { succeededIds failedIds ${FAILURES} } } }`;
const ROQ_ADD = 'mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }';
const ROQ_REMOVE = 'mutation($g: ID!, $u: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $u) }';
const DELETE_USER = 'mutation($id: ID!) { deleteUser(id: $id) }';

// ---- seeded randomness -------------------------------------------------------------------------------------

type Rng = () => number;
function mulberry32(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)]!;
function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(rng, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
const sample = <T>(rng: Rng, items: readonly T[], n: number): T[] => shuffle(rng, items).slice(0, Math.min(n, items.length));

/** Runs `CLIENTS` client loops at once, each with its own generator derived from the seed and the phase. */
async function clients(phase: number, loop: (rng: Rng, client: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => loop(mulberry32(SEED * 7919 + phase * 1009 + c), c)));
}

// ---- bookkeeping -------------------------------------------------------------------------------------------

const pair = (groupId: string, userId: string) => `${groupId}|${userId}`;
const sortedIds = (ids: Iterable<string>) => [...ids].sort();
const bump = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

/** What happened to the requested users of one per-user-reporting call. */
interface Outcome {
  changed: string[];
  unchanged: string[];
  failedIds: string[];
  failures: Failure[];
}

describe('concurrent membership changes', { timeout: 180_000 }, () => {
  let server: TestServer;
  let tenantId: string;
  let groups: CreatedGroup[];
  let users: CreatedUser[];
  let requests = 0;
  const network: string[] = [];
  const serverErrors: string[] = [];
  const violations: string[] = [];
  const phaseStats: string[] = [];

  before(async () => {
    server = await startServer();
    tenantId = await createTenant(server);
    groups = [];
    for (let i = 0; i < 3; i++) groups.push(await createGroup(server, { tenantId }));
    users = await createUsers(server, 96, tenantId);
  });
  after(async () => {
    if (server === undefined) return;
    let deadlocks = '';
    if (server.database.kind === 'postgres') {
      // Statistics are flushed asynchronously, so this count is indicative only (the server retries deadlocks).
      const { rows } = await sql<{ deadlocks: number }>`select deadlocks::int as deadlocks from pg_stat_database where datname = current_database()`.execute(server.database.db);
      deadlocks = `, ${rows[0]?.deadlocks ?? '?'} deadlocks seen by PostgreSQL`;
    }
    console.log(`concurrency: seed ${SEED}, ${requests} requests during the phases on ${server.database.kind}${deadlocks}; ${phaseStats.join('; ')}`);
    await server.close();
  });

  // Users by role in the scenario (disjoint ranges).
  const poolA = () => users.slice(0, 60); // phases A, B and managers
  const poolBAdd = () => users.slice(60, 70); // added by REST while phase B removes
  const hot = () => [...users.slice(70, 80), users[0]!, users[1]!]; // phase C
  const victims = () => users.slice(80, 92); // phase D: deleted while being added
  const controls = () => users.slice(92, 96); // phase D: added alongside the victims

  const violation = (message: string) => void violations.push(message);
  /**
   * Per group, the users a phase may touch: a seeded subset of the pool, so that every group keeps users that
   * nobody touched (a server adding to the wrong group or everyone would show) and the groups differ.
   */
  const setupRng = mulberry32(SEED);
  const eligible = (pool: readonly CreatedUser[], n: number) => new Map(groups.map((g) => [g.id, sample(setupRng, pool, n)]));

  /** Fails the phase on any 5xx, network error or broken per-user report seen so far. */
  function assertClean(name: string) {
    const show = (list: string[]) => `${list.length}, first: ${list.slice(0, 5).join('\n  ')}`;
    assert.equal(network.length, 0, `${name}: network errors ${show(network)}`);
    assert.equal(serverErrors.length, 0, `${name}: 5xx responses ${show(serverErrors)}`);
    assert.equal(violations.length, 0, `${name}: inconsistent answers ${show(violations)}`);
  }

  // ---- transports; every response is classified, nothing throws ----

  /** A GraphQL call; undefined after a network error or a 5xx (both recorded). */
  async function graphql<T>(label: string, query: string, variables: Record<string, unknown>): Promise<GraphqlResponse<T> | undefined> {
    requests++;
    let res: GraphqlResponse<T>;
    try {
      res = await gql<T>(server, query, variables);
    } catch (e) {
      network.push(`${label}: ${String(e)}`);
      return undefined;
    }
    const internal = (res.errors ?? []).some((e) => e.extensions.code === 'INTERNAL_SERVER_ERROR' || (e.extensions.response?.statusCode ?? 0) >= 500);
    if (res.status >= 500 || internal) {
      serverErrors.push(`${label}: HTTP ${res.status} ${JSON.stringify(res.errors)}`);
      return undefined;
    }
    if (res.status < 200 || (res.status >= 300 && res.status < 400)) violation(`${label}: HTTP ${res.status}`);
    return res;
  }

  /** The error code of a rejected GraphQL call (the root field is null), or undefined when it answered. */
  function rejection(label: string, res: GraphqlResponse<Record<string, unknown>>, field: string): string | undefined {
    if (!res.errors?.length) {
      if (res.data?.[field] == null) violation(`${label}: no data and no error`);
      return undefined;
    }
    if (res.data?.[field] != null) violation(`${label}: data and errors at once ${JSON.stringify(res)}`);
    if (res.errors.length !== 1) violation(`${label}: ${res.errors.length} errors ${JSON.stringify(res.errors)}`);
    const code = res.errors[0]!.extensions.code;
    const status = res.errors[0]!.extensions.response?.statusCode;
    if (status === undefined || status < 400 || status >= 500) violation(`${label}: error without a 4xx status ${JSON.stringify(res.errors)}`);
    return code;
  }

  async function restPatch(label: string, groupId: string, body: { userIdsToAdd?: string[]; userIdsToRemove?: string[] }) {
    requests++;
    try {
      const res = await rest<unknown>(server, 'PATCH', `/v3/companies/${tenantId}/user-groups/${groupId}/members`, body);
      if (res.status >= 500) {
        serverErrors.push(`${label}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        return undefined;
      }
      return res;
    } catch (e) {
      network.push(`${label}: ${String(e)}`);
      return undefined;
    }
  }

  /** ROQ add/remove; true when applied, the error code when rejected, undefined after a 5xx. */
  async function roq(label: string, kind: 'add' | 'remove', groupId: string, userIds: string[]): Promise<true | string | undefined> {
    const field = kind === 'add' ? 'addUsersToUserGroup' : 'removeUsersFromUserGroup';
    const res = await graphql<Record<string, unknown>>(label, kind === 'add' ? ROQ_ADD : ROQ_REMOVE, { g: groupId, u: userIds });
    if (!res) return undefined;
    const code = rejection(label, res, field);
    if (code) return code;
    if (res.data?.[field] !== true) violation(`${label}: answered ${JSON.stringify(res.data)}`);
    return true;
  }

  /**
   * Checks that a per-user report partitions the requested users: every requested user appears in exactly one of
   * changed / unchanged / failed (failed by the input as given), nobody else appears, no list repeats anyone.
   */
  function checkPartition(label: string, requested: ReadonlyMap<string, string>, outcome: Outcome) {
    const where = new Map<string, string>();
    const place = (list: string, userId: string | undefined, shown: string) => {
      if (userId === undefined) return violation(`${label}: ${list} names ${shown}, which was not requested`);
      const before = where.get(userId);
      if (before) return violation(`${label}: ${shown} is both in ${before} and in ${list}`);
      where.set(userId, list);
    };
    const requestedIds = new Set(requested.values());
    for (const id of outcome.changed) place('changed', requestedIds.has(id) ? id : undefined, id);
    for (const id of outcome.unchanged) place('unchanged', requestedIds.has(id) ? id : undefined, id);
    for (const input of outcome.failedIds) place('failedIds', requested.get(input), input);
    if (where.size !== requestedIds.size) {
      violation(`${label}: reported ${where.size} of ${requestedIds.size} requested users ${JSON.stringify(outcome)}`);
    }
    const failureInputs = outcome.failures.map((f) => f.input).sort();
    if (JSON.stringify(failureInputs) !== JSON.stringify([...outcome.failedIds].sort())) {
      violation(`${label}: failures ${JSON.stringify(outcome.failures)} do not match failedIds ${JSON.stringify(outcome.failedIds)}`);
    }
  }

  const ids = (label: string, list: (string | null)[] | null | undefined, name: string): string[] => {
    if (list == null) {
      violation(`${label}: ${name} is null`);
      return [];
    }
    if (list.some((id) => id == null)) violation(`${label}: ${name} holds null`);
    return list.filter((id): id is string => id != null);
  };

  interface PluvoRequest {
    group: CreatedGroup;
    byId: CreatedUser[];
    byRef?: CreatedUser[];
    /** Address the group by reference and tenant instead of id. */
    groupByRef?: boolean;
    /** Extra copies of some ids, which the answer must de-duplicate. */
    duplicates?: CreatedUser[];
  }

  /**
   * A Pluvo call reporting per user. The outcome when it answered (after checking that it partitions the
   * requested users), the error code when the whole call was rejected, undefined after a 5xx.
   */
  async function pluvo(
    label: string,
    kind: 'add' | 'remove' | 'addManagers' | 'removeManagers',
    req: PluvoRequest,
  ): Promise<Outcome | string | undefined> {
    const userIds = [...req.byId, ...(req.duplicates ?? [])].map((u) => u.id);
    const userRefs = (req.byRef ?? []).map((u) => u.reference);
    const vars: Record<string, unknown> = req.groupByRef ? { groupRef: req.group.reference, tenantId } : { groupId: req.group.id };
    if (userIds.length > 0 || userRefs.length === 0) vars.userIds = userIds;
    if (userRefs.length > 0) vars.userRefs = userRefs;
    const requested = new Map<string, string>();
    for (const u of [...req.byId, ...(req.duplicates ?? [])]) requested.set(u.id, u.id);
    for (const u of req.byRef ?? []) requested.set(u.reference, u.id);
    const failures = (f: Failure[] | null | undefined) => f ?? [];

    if (kind === 'add' || kind === 'remove') {
      const field = kind === 'add' ? 'addUsersToGroup' : 'removeUsersFromGroup';
      const res = await graphql<Record<string, AddResult | RemoveResult | null>>(label, kind === 'add' ? PLUVO_ADD : PLUVO_REMOVE, vars);
      if (!res) return undefined;
      const code = rejection(label, res, field);
      if (code) return code;
      const data = res.data![field]!;
      const outcome: Outcome =
        kind === 'add'
          ? {
              changed: ids(label, (data as AddResult).addedIds, 'addedIds'),
              unchanged: ids(label, (data as AddResult).alreadyAddedIds, 'alreadyAddedIds'),
              failedIds: ids(label, data.failedIds, 'failedIds'),
              failures: failures(data.failures),
            }
          : {
              changed: ids(label, (data as RemoveResult).removedIds, 'removedIds'),
              unchanged: ids(label, (data as RemoveResult).alreadyRemovedIds, 'alreadyRemovedIds'),
              failedIds: ids(label, data.failedIds, 'failedIds'),
              failures: failures(data.failures),
            };
      checkPartition(label, requested, outcome);
      return outcome;
    }
    const field = kind === 'addManagers' ? 'addManagersToGroup' : 'removeManagersFromGroup';
    const res = await graphql<Record<string, BulkResult | null>>(label, kind === 'addManagers' ? ADD_MANAGERS : REMOVE_MANAGERS, vars);
    if (!res) return undefined;
    const code = rejection(label, res, field);
    if (code) return code;
    const response = res.data![field]!.response;
    if (!response) {
      violation(`${label}: response is null`);
      return { changed: [], unchanged: [], failedIds: [], failures: [] };
    }
    // Managers report no changed/unchanged split: succeeded users count as "unchanged" for the partition.
    const outcome: Outcome = {
      changed: [],
      unchanged: ids(label, response.succeededIds, 'succeededIds'),
      failedIds: ids(label, response.failedIds, 'failedIds'),
      failures: failures(response.failures),
    };
    checkPartition(label, requested, outcome);
    return outcome;
  }

  /** Members of every group as GraphQL lists them, and (for cross-checking) as REST lists them. */
  async function participants(): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const g of groups) {
      const viaGraphql = await memberIds(server, g.id);
      const viaRest = await rest<{ members: { userId: string }[]; pagination: { totalNumResults: number } }>(
        server,
        'POST',
        `/v3/companies/${tenantId}/user-groups/${g.id}/members`,
        { pagination: { offset: 0, limit: 1000 } },
      );
      assert.equal(viaRest.status, 200);
      assert.deepEqual(sortedIds(viaRest.body.members.map((m) => m.userId)), viaGraphql, 'GraphQL and REST list different members');
      assert.equal(viaRest.body.pagination.totalNumResults, viaGraphql.length);
      out.set(g.id, new Set(viaGraphql));
    }
    return out;
  }
  async function managers(): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const g of groups) out.set(g.id, new Set(await managerIds(server, g.id)));
    return out;
  }
  const emptySets = () => new Map(groups.map((g) => [g.id, new Set<string>()]));
  const copySets = (m: Map<string, Set<string>>) => new Map([...m].map(([k, v]) => [k, new Set(v)]));
  function assertSets(actual: Map<string, Set<string>>, expected: Map<string, Set<string>>, what: string) {
    for (const g of groups) {
      assert.deepEqual(sortedIds(actual.get(g.id) ?? []), sortedIds(expected.get(g.id) ?? []), `${what} of group ${g.reference}`);
    }
  }
  /** True when a per-user call answered; flags a rejection or any per-user failure (all users exist here). */
  const answeredCleanly = (label: string, out: Outcome | string | undefined): out is Outcome => {
    if (typeof out === 'string') violation(`${label}: rejected with ${out}`);
    if (typeof out === 'object' && out.failedIds.length > 0) violation(`${label}: failed ${JSON.stringify(out.failures)}`);
    return typeof out === 'object';
  };

  /** A test that builds on the state the previous one left: skipped once one fails, whose message says it all. */
  let chainOk = true;
  const phase = (name: string, body: () => Promise<void>) =>
    it(name, async (t) => {
      if (!chainOk) return t.skip('an earlier phase failed, and this one builds on its state');
      chainOk = false;
      await body();
      chainOk = true;
    });

  // State carried from phase to phase.
  let expectedMembers: Map<string, Set<string>>;
  let expectedManagers: Map<string, Set<string>>;

  phase('phase A: 32 clients add overlapping users through ROQ, Pluvo and REST; the groups end with the union', async () => {
    const union = emptySets();
    const pluvoAdded = new Map<string, number>();
    const candidates = eligible(poolA(), 40);
    await clients(1, async (rng, c) => {
      for (let k = 0; k < 8; k++) {
        const group = pick(rng, groups);
        const chosen = sample(rng, candidates.get(group.id)!, 1 + int(rng, 6));
        const label = `A c${c} op${k}`;
        const transport = (c + k) % 3;
        if (transport === 0) {
          if ((await roq(`${label} ROQ add`, 'add', group.id, chosen.map((u) => u.id))) !== true) continue;
        } else if (transport === 1) {
          const byRef = rng() < 0.3 ? chosen.filter(() => rng() < 0.5) : [];
          const byId = chosen.filter((u) => !byRef.includes(u));
          const out = await pluvo(`${label} Pluvo add`, 'add', { group, byId, byRef, groupByRef: rng() < 0.2, duplicates: byId.slice(0, int(rng, 2)) });
          if (!answeredCleanly(label, out)) continue;
          for (const id of out.changed) bump(pluvoAdded, pair(group.id, id));
        } else {
          const res = await restPatch(`${label} REST add`, group.id, { userIdsToAdd: chosen.map((u) => u.id) });
          if (!res) continue;
          if (res.status !== 200) {
            violation(`${label} REST add: ${res.status} ${JSON.stringify(res.body)}`);
            continue;
          }
        }
        for (const u of chosen) union.get(group.id)!.add(u.id);
      }
    });
    assertClean('phase A');
    // Each pair started outside, so at most one call can have added it.
    for (const [key, n] of pluvoAdded) assert.ok(n <= 1, `${key} reported added ${n} times`);
    for (const [key] of pluvoAdded) assert.ok(union.get(key.split('|')[0]!)!.has(key.split('|')[1]!));
    const actual = await participants();
    assertSets(actual, union, 'participants after phase A');
    assert.ok([...union.values()].every((s) => s.size > 10 && s.size <= 40), 'the phase should fill every group, not with everyone');
    expectedMembers = union;
    phaseStats.push(`A: ${[...union.values()].map((s) => s.size).join('/')} members`);
  });

  phase('phase B: 32 clients remove overlapping users (REST also adds others); the groups end with previous − removed ∪ added', async () => {
    const removed = emptySets();
    const added = emptySets();
    const pluvoRemoved = new Map<string, number>();
    const before = copySets(expectedMembers);
    const candidates = eligible(poolA(), 25);
    await clients(2, async (rng, c) => {
      for (let k = 0; k < 8; k++) {
        const group = pick(rng, groups);
        const chosen = sample(rng, candidates.get(group.id)!, 1 + int(rng, 5));
        const label = `B c${c} op${k}`;
        const transport = (c + k) % 3;
        let adds: CreatedUser[] = [];
        if (transport === 0) {
          if ((await roq(`${label} ROQ remove`, 'remove', group.id, chosen.map((u) => u.id))) !== true) continue;
        } else if (transport === 1) {
          const out = await pluvo(`${label} Pluvo remove`, 'remove', { group, byId: chosen, groupByRef: rng() < 0.2 });
          if (!answeredCleanly(label, out)) continue;
          for (const id of out.changed) {
            bump(pluvoRemoved, pair(group.id, id));
            if (!before.get(group.id)!.has(id)) violation(`${label}: removed ${id}, which was never a member`);
          }
        } else {
          adds = sample(rng, poolBAdd(), int(rng, 4));
          const res = await restPatch(`${label} REST add+remove`, group.id, { userIdsToAdd: adds.map((u) => u.id), userIdsToRemove: chosen.map((u) => u.id) });
          if (!res) continue;
          if (res.status !== 200) {
            violation(`${label} REST: ${res.status} ${JSON.stringify(res.body)}`);
            continue;
          }
        }
        for (const u of chosen) removed.get(group.id)!.add(u.id);
        for (const u of adds) added.get(group.id)!.add(u.id);
      }
    });
    assertClean('phase B');
    for (const [key, n] of pluvoRemoved) assert.ok(n <= 1, `${key} reported removed ${n} times`);
    const expected = new Map(groups.map((g) => [g.id, new Set([...before.get(g.id)!].filter((id) => !removed.get(g.id)!.has(id)).concat([...added.get(g.id)!]))]));
    assertSets(await participants(), expected, 'participants after phase B');
    assert.ok([...expected.values()].every((s) => s.size > 5), 'removals should leave members');
    expectedMembers = expected;
    phaseStats.push(`B: ${[...expected.values()].map((s) => s.size).join('/')} members`);
  });

  phase('managers: concurrent manager adds with participant removes, then manager removes with participant adds; the two relations stay independent', async () => {
    // Step 1: add managers (union) while participants are removed (difference).
    const managerUnion = emptySets();
    const participantRemoved = emptySets();
    const managerCandidates = eligible(poolA().slice(0, 40), 20);
    const removeCandidates = eligible(poolA(), 15);
    await clients(3, async (rng, c) => {
      for (let k = 0; k < 4; k++) {
        const group = pick(rng, groups);
        const asManagers = (c + k) % 2 === 0;
        const chosen = sample(rng, (asManagers ? managerCandidates : removeCandidates).get(group.id)!, 1 + int(rng, 5));
        const label = `M1 c${c} op${k}`;
        if (asManagers) {
          const out = await pluvo(`${label} addManagers`, 'addManagers', { group, byId: chosen, groupByRef: rng() < 0.2 });
          if (!answeredCleanly(label, out)) continue;
          for (const u of chosen) managerUnion.get(group.id)!.add(u.id);
        } else if (rng() < 0.5) {
          const out = await pluvo(`${label} Pluvo remove`, 'remove', { group, byId: chosen });
          if (!answeredCleanly(label, out)) continue;
          for (const u of chosen) participantRemoved.get(group.id)!.add(u.id);
        } else {
          if ((await roq(`${label} ROQ remove`, 'remove', group.id, chosen.map((u) => u.id))) !== true) continue;
          for (const u of chosen) participantRemoved.get(group.id)!.add(u.id);
        }
      }
    });
    assertClean('managers step 1');
    const members1 = new Map(groups.map((g) => [g.id, new Set([...expectedMembers.get(g.id)!].filter((id) => !participantRemoved.get(g.id)!.has(id)))]));
    assertSets(await managers(), managerUnion, 'managers after step 1');
    assertSets(await participants(), members1, 'participants after step 1');

    // Step 2: remove managers (difference) while participants are added (union).
    const managerRemoved = emptySets();
    const participantAdded = emptySets();
    const unmanageCandidates = eligible(poolA().slice(0, 40), 10);
    const addCandidates = eligible(poolA(), 15);
    await clients(4, async (rng, c) => {
      for (let k = 0; k < 4; k++) {
        const group = pick(rng, groups);
        const asManagers = (c + k) % 2 === 0;
        const chosen = sample(rng, (asManagers ? unmanageCandidates : addCandidates).get(group.id)!, 1 + int(rng, 4));
        const label = `M2 c${c} op${k}`;
        if (asManagers) {
          const out = await pluvo(`${label} removeManagers`, 'removeManagers', { group, byId: chosen, groupByRef: rng() < 0.2 });
          if (!answeredCleanly(label, out)) continue;
          for (const u of chosen) managerRemoved.get(group.id)!.add(u.id);
        } else if (rng() < 0.5) {
          const res = await restPatch(`${label} REST add`, group.id, { userIdsToAdd: chosen.map((u) => u.id) });
          if (!res) continue;
          if (res.status !== 200) {
            violation(`${label} REST add: ${res.status} ${JSON.stringify(res.body)}`);
            continue;
          }
          for (const u of chosen) participantAdded.get(group.id)!.add(u.id);
        } else {
          if ((await roq(`${label} ROQ add`, 'add', group.id, chosen.map((u) => u.id))) !== true) continue;
          for (const u of chosen) participantAdded.get(group.id)!.add(u.id);
        }
      }
    });
    assertClean('managers step 2');
    const managers2 = new Map(groups.map((g) => [g.id, new Set([...managerUnion.get(g.id)!].filter((id) => !managerRemoved.get(g.id)!.has(id)))]));
    const members2 = new Map(groups.map((g) => [g.id, new Set([...members1.get(g.id)!, ...participantAdded.get(g.id)!])]));
    assertSets(await managers(), managers2, 'managers after step 2');
    assertSets(await participants(), members2, 'participants after step 2');
    assert.ok([...managerUnion.values()].every((s) => s.size > 5), 'step 1 should give every group managers');
    assert.ok([...managers2.values()].every((s) => s.size > 0), 'step 2 should leave managers');
    expectedMembers = members2;
    expectedManagers = managers2;
    phaseStats.push(`managers: ${[...managers2.values()].map((s) => s.size).join('/')}`);
  });

  phase('phase C: 32 clients add and remove the same users of the same groups; per-user reports agree with a serial history', async () => {
    const hotUsers = hot();
    const initial = await participants();
    assertSets(initial, expectedMembers, 'participants before phase C');
    const adds = new Map<string, number>();
    const removes = new Map<string, number>();
    let answered = 0;
    await clients(5, async (rng, c) => {
      for (let k = 0; k < C_OPS; k++) {
        const group = pick(rng, groups);
        const chosen = sample(rng, hotUsers, 1 + int(rng, 4));
        const byRef = chosen.filter(() => rng() < 0.25);
        const byId = chosen.filter((u) => !byRef.includes(u));
        const kind = rng() < 0.5 ? 'add' : 'remove';
        const label = `C c${c} op${k} ${kind}`;
        const out = await pluvo(label, kind, {
          group,
          byId: shuffle(rng, byId),
          byRef,
          groupByRef: rng() < 0.2,
          duplicates: rng() < 0.2 ? [...byId.slice(0, 1), ...byRef.slice(0, 1)] : [],
        });
        if (!answeredCleanly(label, out)) continue;
        answered++;
        for (const id of out.changed) bump(kind === 'add' ? adds : removes, pair(group.id, id));
      }
    });
    assertClean('phase C');
    assert.equal(answered, CLIENTS * C_OPS);

    const final = await participants();
    let pairs = 0;
    let effective = 0;
    const broken: string[] = [];
    for (const g of groups) {
      for (const u of hotUsers) {
        const key = pair(g.id, u.id);
        const s0 = initial.get(g.id)!.has(u.id) ? 1 : 0;
        const a = adds.get(key) ?? 0;
        const r = removes.get(key) ?? 0;
        const state = s0 + a - r;
        const present = final.get(g.id)!.has(u.id) ? 1 : 0;
        pairs++;
        effective += a + r;
        if (state !== 0 && state !== 1) broken.push(`${g.reference}/${u.reference}: started ${s0}, ${a} effective adds, ${r} effective removes`);
        else if (state !== present) broken.push(`${g.reference}/${u.reference}: started ${s0}, +${a} −${r} = ${state}, but the final state is ${present}`);
      }
    }
    assert.deepEqual(broken, [], `no serial history explains ${broken.length} of ${pairs} pairs`);
    assert.ok(effective > pairs, `the phase should change every pair several times (only ${effective} effective changes)`);
    // Everyone else is untouched.
    const hotIds = new Set(hotUsers.map((u) => u.id));
    for (const g of groups) {
      const others = (s: Set<string>) => sortedIds([...s].filter((id) => !hotIds.has(id)));
      assert.deepEqual(others(final.get(g.id)!), others(initial.get(g.id)!));
    }
    assertSets(await managers(), expectedManagers, 'managers after phase C');
    expectedMembers = final;
    phaseStats.push(`C: ${effective} effective changes over ${pairs} pairs`);
  });

  phase('phase D: users deleted while being added end up in no group; failed all-or-nothing calls change nothing', async () => {
    const doomed = victims();
    const doomedIds = new Set(doomed.map((u) => u.id));
    const controlUsers = controls();
    const controlMembers = emptySets();
    const controlManagers = emptySets();
    const deletedTrue = new Map<string, number>();
    let perUserNotFound = 0;
    let wholeCallRejected = 0;
    let pluvoRejected = 0;

    /** One add of some victims plus one control user, by a transport chosen at random. */
    const addSome = async (rng: Rng, label: string, chosen: CreatedUser[]) => {
      const group = pick(rng, groups);
      const control = pick(rng, controlUsers);
      const all = shuffle(rng, [...chosen, control]);
      const transport = int(rng, 4);
      if (transport === 0 || transport === 1) {
        const kind = transport === 0 ? 'add' : 'addManagers';
        const out = await pluvo(`${label} Pluvo ${kind}`, kind, { group, byId: all });
        if (out === undefined) return;
        if (typeof out === 'string') {
          // The Pluvo dialect reports users per id, also one deleted between the lookup and the insert (the
          // server retries the call then): a whole-call rejection is a violation.
          violation(`${label}: rejected as a whole with ${out}`);
          wholeCallRejected++;
          pluvoRejected++;
          return;
        }
        for (const f of out.failures) {
          if (!doomedIds.has(f.input) || f.code !== 'NOT_FOUND') violation(`${label}: unexpected failure ${JSON.stringify(f)}`);
          perUserNotFound++;
        }
        if (!out.changed.concat(out.unchanged).includes(control.id)) violation(`${label}: the control user was not applied ${JSON.stringify(out)}`);
        (kind === 'add' ? controlMembers : controlManagers).get(group.id)!.add(control.id);
      } else if (transport === 2) {
        const res = await roq(`${label} ROQ add`, 'add', group.id, all.map((u) => u.id));
        if (res === undefined) return;
        if (res !== true) {
          if (res !== 'NOT_FOUND') violation(`${label}: ROQ add rejected with ${res}`);
          wholeCallRejected++;
          return;
        }
        controlMembers.get(group.id)!.add(control.id);
      } else {
        const res = await restPatch(`${label} REST add`, group.id, { userIdsToAdd: all.map((u) => u.id) });
        if (!res) return;
        if (res.status !== 200) {
          // 400 naming userIdsToAdd when the victim is gone, also when it went between the lookup and the insert.
          if (res.status !== 400) violation(`${label}: REST add ${res.status} ${JSON.stringify(res.body)}`);
          wholeCallRejected++;
          return;
        }
        controlMembers.get(group.id)!.add(control.id);
      }
    };

    await clients(6, async (rng, c) => {
      if (c < 16) {
        // Deleters: a few adds, then delete one victim (four victims are deleted by two clients at once), then
        // an add that must now report the victim NOT_FOUND.
        const victim = doomed[c % doomed.length]!;
        for (let k = int(rng, 3); k > 0; k--) await addSome(rng, `D c${c} pre${k}`, [victim]);
        const label = `D c${c} delete`;
        const res = await graphql<Record<string, unknown>>(label, DELETE_USER, { id: victim.id });
        if (!res) return;
        const code = rejection(label, res, 'deleteUser');
        if (code !== undefined && code !== 'NOT_FOUND') violation(`${label}: rejected with ${code}`);
        if (code === undefined && res.data?.deleteUser === true) bump(deletedTrue, victim.id);
        else if (code === undefined && res.data?.deleteUser !== false) violation(`${label}: answered ${JSON.stringify(res.data)}`);

        const control = pick(rng, controlUsers);
        const group = pick(rng, groups);
        const after = await pluvo(`D c${c} add after delete`, 'add', { group, byId: [victim, control] });
        if (typeof after !== 'object') {
          if (after !== undefined) violation(`D c${c} add after delete: rejected with ${after}`);
          return;
        }
        if (JSON.stringify(after.failedIds) !== JSON.stringify([victim.id]) || after.failures[0]?.code !== 'NOT_FOUND') {
          violation(`D c${c} add after delete: the deleted user was not reported NOT_FOUND ${JSON.stringify(after)}`);
        }
        controlMembers.get(group.id)!.add(control.id);
      } else {
        // Adders: victims (some already gone, some about to go) with a control user.
        for (let k = 0; k < 5; k++) await addSome(rng, `D c${c} op${k}`, sample(rng, doomed, 1 + int(rng, 3)));
      }
    });
    assertClean('phase D');

    for (const v of doomed) assert.equal(deletedTrue.get(v.id) ?? 0, 1, `user ${v.reference}: deleteUser answered true ${deletedTrue.get(v.id) ?? 0} times`);
    for (const v of doomed) {
      const res = await gql(server, `query($id: ID!) { user(id: $id) { id } }`, { id: v.id });
      assert.equal(res.errors?.[0]?.extensions.code, 'NOT_FOUND', `user ${v.reference} still exists`);
    }
    const members = await participants();
    const managerSets = await managers();
    const controlIds = new Set(controlUsers.map((u) => u.id));
    for (const g of groups) {
      for (const id of [...members.get(g.id)!, ...managerSets.get(g.id)!]) {
        assert.ok(!doomedIds.has(id), `deleted user ${id} is still linked to group ${g.reference}`);
      }
      const only = (s: Set<string>, keep: Set<string>) => sortedIds([...s].filter((id) => keep.has(id)));
      // Control users are in exactly the groups that calls which succeeded put them in.
      assert.deepEqual(only(members.get(g.id)!, controlIds), sortedIds(controlMembers.get(g.id)!), `control members of ${g.reference}`);
      assert.deepEqual(only(managerSets.get(g.id)!, controlIds), sortedIds(controlManagers.get(g.id)!), `control managers of ${g.reference}`);
      // Nobody else changed.
      const untouched = (s: Set<string>) => sortedIds([...s].filter((id) => !controlIds.has(id) && !doomedIds.has(id)));
      assert.deepEqual(untouched(members.get(g.id)!), untouched(expectedMembers.get(g.id)!));
      assert.deepEqual(untouched(managerSets.get(g.id)!), untouched(expectedManagers.get(g.id)!));
    }
    phaseStats.push(`D: ${perUserNotFound} per-user NOT_FOUND, ${wholeCallRejected} whole calls rejected (${pluvoRejected} of them Pluvo)`);
  });
});
