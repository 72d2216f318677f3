/**
 * Two Roster nodes on one database (docs/scaling.md). Eight clients, alternating between the nodes, create users,
 * change the members of the same two groups and update the same group with an expected version, all at once;
 * then both nodes must read the same state, and it must be the state the calls imply.
 *
 * - Users: every user created through either node is readable through the other, and both count the same.
 * - Memberships: each client adds its own users to both groups, then removes half of them from the first, while
 *   every client also adds the same shared users; the final member lists follow (adds are idempotent).
 * - Versions: the clients race `updateUserGroup(expectedVersion)` (GraphQL) and `PATCH` with `If-Match` (REST)
 *   on the same group through both nodes. Each version is won by exactly one call across the two nodes, the
 *   losers get a conflict naming a newer version, and the final version counts the winners.
 * - Tokens: a token signed by one node is accepted by the other, also after a signing-key rotation.
 *
 * With DATABASE_URL each node has its own connection pool on the PostgreSQL database made for this file, as two
 * processes would. On PGlite both nodes share the one in-process database (PGlite has a single connection), so
 * statements serialize; what is per node (caches, key rings, HTTP servers) is still separate.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../src/db/database.ts';
import { rest, startServer, startSibling, type GraphqlResponse, type SiblingServer, type TestServer } from './helpers/server.ts';
import { addMembers, countUsers, createGroup, createTenant, createUser, gql, gqlOk, memberIds, type CreatedUser, type Server } from './helpers/roster.ts';

const CLIENTS = 8;
const USERS_PER_CLIENT = 10;
const SHARED_USERS = 6;
/** Update attempts per client in the racing-versions phase (each reads the version, then writes with it). */
const ATTEMPTS = 5;
/** Rounds in which every client sends the same expected version. */
const ROUNDS = 4;

const ROQ_REMOVE = 'mutation($g: ID!, $u: [ID!]!) { removeUsersFromUserGroup(userGroupId: $g, userIds: $u) }';
const UPDATE_GROUP = 'mutation($id: ID!, $g: UserGroupUpdateDto!, $v: Int) { updateUserGroup(id: $id, userGroup: $g, expectedVersion: $v) { name version } }';
const READ_GROUP = 'query($id: ID!) { userGroup(id: $id) { id name version tenantId } }';

interface GroupState {
  id: string;
  name: string;
  version: number;
  tenantId: string;
}

/** The outcome of one versioned update: the version it produced, or the current version a conflict named. */
type Attempt = { won: true; expected: number; version: number; name: string; node: number } | { won: false; expected: number; current: number; node: number };

async function readGroup(node: Server, id: string): Promise<GroupState> {
  return (await gqlOk<{ userGroup: GroupState }>(node, READ_GROUP, { id })).userGroup;
}

/** Sends one update of the group's name with `expected` through GraphQL or REST; returns who won. */
async function versionedUpdate(node: Server, nodeIndex: number, group: { id: string; tenantId: string }, name: string, expected: number, via: 'graphql' | 'rest'): Promise<Attempt> {
  if (via === 'rest') {
    const res = await fetch(`${node.url}/v3/companies/${group.tenantId}/user-groups/${group.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${node.apiKey}`, 'content-type': 'application/json', 'if-match': `"${expected}"` },
      body: JSON.stringify({ name }),
    });
    const body = (await res.json()) as { name?: string };
    if (res.status === 200) {
      const version = Number(JSON.parse(res.headers.get('etag') ?? 'null'));
      assert.equal(body.name, name);
      return { won: true, expected, version, name, node: nodeIndex };
    }
    assert.equal(res.status, 409, `REST update: ${res.status} ${JSON.stringify(body)}`);
    // The REST conflict names the version to read again; read it to know what won.
    const current = (await readGroup(node, group.id)).version;
    return { won: false, expected, current, node: nodeIndex };
  }
  const res: GraphqlResponse<{ updateUserGroup: { name: string; version: number } | null }> = await gql(node, UPDATE_GROUP, { id: group.id, g: { name }, v: expected });
  if (!res.errors && res.data?.updateUserGroup) {
    assert.equal(res.data.updateUserGroup.name, name);
    return { won: true, expected, version: res.data.updateUserGroup.version, name, node: nodeIndex };
  }
  assert.notEqual(res.status, 500, JSON.stringify(res.errors));
  const error = res.errors?.[0];
  assert.equal(error?.extensions.code, 'CONFLICT', JSON.stringify(res.errors));
  const current = (error.extensions as { currentVersion?: unknown }).currentVersion;
  assert.equal(typeof current, 'number', JSON.stringify(res.errors));
  return { won: false, expected, current: current as number, node: nodeIndex };
}

describe('two Roster nodes on one database', () => {
  let server: TestServer;
  let sibling: SiblingServer;
  /** The sibling's own connection pool on PostgreSQL; undefined on PGlite. */
  let siblingDatabase: DatabaseHandle | undefined;
  let nodes: Server[];
  let tenantId: string;
  let groups: [GroupState, GroupState];
  let shared: CreatedUser[];
  /** Users created in the first test, by the client that created them. */
  const usersOf: CreatedUser[][] = [];

  const nodeOf = (client: number): Server => nodes[client % 2]!;

  before(async () => {
    server = await startServer();
    if (server.database.kind === 'postgres') {
      const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(server.database.db);
      const url = new URL(process.env.DATABASE_URL!);
      url.pathname = `/${rows[0]!.name}`;
      siblingDatabase = await openDatabase({ databaseUrl: url.toString(), dataDir: 'unused' });
    }
    sibling = await startSibling(siblingDatabase ? { ...server, database: siblingDatabase } : server, {});
    nodes = [server, sibling];
    tenantId = await createTenant(sibling);
    const made = [await createGroup(server, { tenantId }), await createGroup(sibling, { tenantId })];
    groups = [await readGroup(server, made[0]!.id), await readGroup(sibling, made[1]!.id)];
    shared = await Promise.all(Array.from({ length: SHARED_USERS }, (_, i) => createUser(nodeOf(i), { tenantId })));
  });
  after(async () => {
    await sibling?.close();
    await siblingDatabase?.close();
    await server?.close();
  });

  it('users created through both nodes at once are seen by both', async () => {
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const mine: CreatedUser[] = [];
        for (let i = 0; i < USERS_PER_CLIENT; i++) mine.push(await createUser(nodeOf(client), { tenantId, firstName: `client ${client}` }));
        usersOf[client] = mine;
      }),
    );
    const expected = CLIENTS * USERS_PER_CLIENT + SHARED_USERS;
    assert.deepEqual(await Promise.all(nodes.map((node) => countUsers(node, tenantId))), [expected, expected]);
    // Each user through the node that did not create it.
    for (let client = 0; client < CLIENTS; client++) {
      const other = nodeOf(client + 1);
      for (const user of usersOf[client]!) {
        const read = await gqlOk<{ user: { id: string; reference: string; tenantId: string; version: number } }>(other, 'query($id: ID!) { user(id: $id) { id reference tenantId version } }', { id: user.id });
        assert.deepEqual(read.user, { id: user.id, reference: user.reference, tenantId, version: 1 });
      }
    }
  });

  it('membership writes and versioned updates of the same groups race through both nodes', async (t) => {
    const [first, second] = groups;
    const attempts: Attempt[] = [];
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const node = nodeOf(client);
        const mine = usersOf[client]!.map((u) => u.id);
        const half = mine.filter((_id, i) => i % 2 === 1);
        // Memberships, in several calls, interleaved with update attempts on the first group.
        await addMembers(node, first.id, mine.slice(0, 5));
        await addMembers(nodeOf(client + 1), second.id, mine);
        await addMembers(node, first.id, shared.map((u) => u.id));
        for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
          const via = (client + attempt) % 2 === 0 ? 'graphql' : 'rest';
          const { version } = await readGroup(node, first.id);
          attempts.push(await versionedUpdate(node, client % 2, first, `client ${client} attempt ${attempt}`, version, via));
          if (attempt === 1) await addMembers(nodeOf(client + attempt), first.id, mine.slice(5));
          if (attempt === 3) {
            const removed = await gqlOk<{ removeUsersFromUserGroup: boolean }>(nodeOf(client + 1), ROQ_REMOVE, { g: first.id, u: half });
            assert.equal(removed.removeUsersFromUserGroup, true);
          }
        }
      }),
    );

    // Exactly one winner per version, across both nodes, and no version skipped.
    const wins = attempts.filter((a) => a.won);
    const won = wins.map((a) => a.version).sort((a, b) => a - b);
    assert.ok(wins.length >= 1, 'someone won');
    assert.deepEqual(won, Array.from({ length: wins.length }, (_, i) => first.version + 1 + i), 'each version won once');
    for (const a of wins) assert.equal(a.version, a.expected + 1);
    for (const a of attempts) if (!a.won) assert.ok(a.current > a.expected, `a conflict names a newer version (${a.current} > ${a.expected})`);
    const byNode = [0, 1].map((n) => wins.filter((a) => a.node === n).length);
    t.diagnostic(`${attempts.length} versioned updates: ${wins.length} won (${byNode[0]} through node 0, ${byNode[1]} through node 1), ${attempts.length - wins.length} conflicts`);
    const final = first.version + wins.length;
    const last = wins.find((a) => a.version === final)!;
    for (const node of nodes) assert.deepEqual(await readGroup(node, first.id), { ...first, name: last.name, version: final });
    groups[0] = { ...first, name: last.name, version: final };

    // Membership calls do not change the second group's version.
    for (const node of nodes) assert.equal((await readGroup(node, second.id)).version, second.version);
  });

  it('when every client sends the same expected version, exactly one wins, whichever node it called', async () => {
    let group = groups[1];
    const winnersByNode = [0, 0];
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(
        Array.from({ length: CLIENTS }, (_, client) =>
          versionedUpdate(nodeOf(client), client % 2, group, `round ${round} client ${client}`, group.version, (client >> 1) % 2 === 0 ? 'graphql' : 'rest'),
        ),
      );
      const wins = results.filter((r) => r.won);
      assert.equal(wins.length, 1, `round ${round}: ${JSON.stringify(results)}`);
      const winner = wins[0]!;
      winnersByNode[winner.node]!++;
      assert.equal(winner.version, group.version + 1);
      for (const r of results) if (!r.won) assert.equal(r.current, group.version + 1, `round ${round}: the conflict names the winner's version`);
      const after = await Promise.all(nodes.map((node) => readGroup(node, group.id)));
      assert.deepEqual(after, [after[0], after[0]]);
      assert.deepEqual(after[0], { ...group, name: winner.name, version: group.version + 1 });
      group = after[0]!;
    }
    groups[1] = group;
    assert.equal(winnersByNode[0]! + winnersByNode[1]!, ROUNDS);
  });

  it('both nodes read the same state, and it is the state the calls imply', async () => {
    const [first, second] = groups;
    const everyone = usersOf.flat().map((u) => u.id);
    const sharedIds = shared.map((u) => u.id);
    const expectedFirst = [...sharedIds, ...usersOf.flatMap((mine) => mine.filter((_u, i) => i % 2 === 0).map((u) => u.id))].sort();
    const expectedSecond = [...everyone].sort();

    const states = await Promise.all(
      nodes.map(async (node) => ({
        firstMembers: await memberIds(node, first.id),
        secondMembers: await memberIds(node, second.id),
        groups: [await readGroup(node, first.id), await readGroup(node, second.id)],
        users: (
          await gqlOk<{ users: { data: { id: string }[]; totalCount: number } }>(
            node,
            'query($f: UserFilterArgType) { users(filter: $f, limit: 1000) { data { id } totalCount } }',
            { f: { tenantId: { equalTo: tenantId } } },
          )
        ).users,
        groupsOfTenant: (
          await gqlOk<{ userGroups: { data: { id: string; version: number }[]; totalCount: number } }>(
            node,
            'query($f: UserGroupFilterArgType) { userGroups(filter: $f, limit: 100) { data { id version } totalCount } }',
            { f: { tenantId: { equalTo: tenantId } } },
          )
        ).userGroups,
        // A user's groups, from the user's side.
        groupsOfUsers: await Promise.all(
          [usersOf[0]![0]!, usersOf[3]![1]!, shared[0]!].map(async (u) =>
            (await gqlOk<{ user: { userGroups: { data: { id: string }[] } } }>(node, 'query($id: ID!) { user(id: $id) { userGroups(limit: 10) { data { id } } } }', { id: u.id })).user.userGroups.data
              .map((g) => g.id)
              .sort(),
          ),
        ),
        etags: await Promise.all(
          [first, second].map(async (g) => (await fetch(`${node.url}/v3/companies/${tenantId}/user-groups/${g.id}`, { headers: { authorization: `Bearer ${node.apiKey}` } })).headers.get('etag')),
        ),
      })),
    );
    assert.deepEqual(states[1], states[0], 'both nodes read the same');
    const state = states[0]!;
    assert.deepEqual(state.firstMembers, expectedFirst);
    assert.deepEqual(state.secondMembers, expectedSecond);
    assert.deepEqual(state.groups, [first, second]);
    assert.deepEqual(state.etags, [`"${first.version}"`, `"${second.version}"`]);
    assert.equal(state.users.totalCount, everyone.length + SHARED_USERS);
    assert.deepEqual(state.users.data.map((u) => u.id).sort(), [...everyone, ...sharedIds].sort());
    // The tenant's platform group and the two test groups.
    assert.equal(state.groupsOfTenant.totalCount, 3);
    const inFirstOnly = [first.id].sort();
    const inBoth = [first.id, second.id].sort();
    assert.deepEqual(state.groupsOfUsers, [inBoth, [second.id], inFirstOnly]);
  });

  it('a token signed by one node is accepted by the other, also after a signing-key rotation', async () => {
    const token = async (node: Server) => {
      const res = await rest<{ accessToken: string }>(node, 'POST', '/v01/authorize/serviceAccount', { apiKey: node.apiKey });
      assert.equal(res.status, 200);
      return res.body.accessToken;
    };
    const readTenant = async (node: Server, accessToken: string) => gql<{ tenant: { id: string } }>(node, 'query($id: ID!) { tenant(id: $id) { id } }', { id: tenantId }, { token: accessToken });
    for (const [from, to] of [[0, 1], [1, 0]] as const) {
      const res = await readTenant(nodes[to]!, await token(nodes[from]!));
      assert.deepEqual(res.data, { tenant: { id: tenantId } }, JSON.stringify(res.errors));
    }
    const rotated = await gqlOk<{ rotateSigningKey: { kid: string } }>(server, 'mutation { rotateSigningKey { kid } }');
    const fresh = await token(server);
    const header = JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()) as { kid: string };
    assert.equal(header.kid, rotated.rotateSigningKey.kid, 'the rotating node signs with the new key');
    const res = await readTenant(sibling, fresh);
    assert.deepEqual(res.data, { tenant: { id: tenantId } }, `the other node loads the new key when it meets its kid: ${JSON.stringify(res.errors)}`);
  });
});
