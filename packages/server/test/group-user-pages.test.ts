/**
 * A group's page of users (`userGroup { users(limit, offset, order) }`, batched for many groups) is read one of two
 * ways: a group under 10,000 members probes each member's user, a bigger one walks its tenant's users in the page's
 * order and probes their membership. Both must give the same pages, in order, whatever the offset; here a big and
 * a small group of one tenant (with deactivated users and non-members among them) are read side by side in one
 * request and compared with the pages worked out by plain SQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startServer, type TestServer } from './helpers/server.ts';
import { createGroup, createTenant, gqlOk } from './helpers/roster.ts';

const BIG = 10_050;
const PAGES = `query($big: ID!, $small: ID!, $o: Int, $order: UserOrderArgType) {
  big: userGroup(id: $big) { users(limit: 25, offset: $o, order: $order) { data { id } } }
  small: userGroup(id: $small) { users(limit: 25, offset: $o, order: $order) { data { id } } }
}`;

describe("a group's pages of users, small and big groups", () => {
  let server: TestServer;
  let big: string;
  let small: string;

  before(async () => {
    server = await startServer();
    const tenantId = await createTenant(server);
    big = (await createGroup(server, { tenantId })).id;
    small = (await createGroup(server, { tenantId })).id;
    const db = server.database.db;
    // Creation times out of id order, some equal (the id breaks ties), every 7th user deactivated.
    await sql`insert into users (tenant_id, id, reference, email, first_name, active, created_at)
      select ${tenantId}::uuid, gen_random_uuid(), 'ref-' || i, 'u' || i || '@example.com', 'N' || (i * 7919 % 1000),
        i % 7 <> 0, timestamptz '2026-01-01' + ((i * 7919) % 5000) * interval '1 minute'
      from generate_series(1, ${BIG + 200}) i`.execute(db);
    await sql`insert into user_group_members (tenant_id, group_id, user_id)
      select tenant_id, ${big}::uuid, id from users where tenant_id = ${tenantId}::uuid order by reference limit ${BIG}`.execute(db);
    await sql`insert into user_group_members (tenant_id, group_id, user_id)
      select tenant_id, ${small}::uuid, id from users where tenant_id = ${tenantId}::uuid order by reference desc limit 60`.execute(db);
    await sql`analyze`.execute(db);
  });
  after(() => server.close());

  async function expected(group: string, offset: number, sort: 'created_at' | 'first_name', desc: boolean): Promise<string[]> {
    const direction = desc ? sql`desc` : sql`asc`;
    const { rows } = await sql<{ id: string }>`
      select u.id from users u join user_group_members m on m.tenant_id = u.tenant_id and m.user_id = u.id
      where m.group_id = ${group}::uuid and u.active
      order by ${sql.ref(`u.${sort}`)} ${direction}, u.id ${direction} limit 25 offset ${offset}`.execute(server.database.db);
    return rows.map((r) => r.id);
  }

  for (const [sort, column] of [['createdAt', 'created_at'], ['firstName', 'first_name']] as const) {
    for (const order of ['DESC', 'ASC'] as const) {
      it(`by ${sort} ${order}: the same pages as plain SQL, at the start, the middle and the end`, async () => {
        for (const offset of [0, 40, 8_600]) {
          const page = await gqlOk<{ big: { users: { data: { id: string }[] } }; small: { users: { data: { id: string }[] } } }>(
            server, PAGES, { big, small, o: offset, order: { sort, order } },
          );
          assert.deepEqual(page.big.users.data.map((u) => u.id), await expected(big, offset, column, order === 'DESC'), `big group, offset ${offset}`);
          assert.deepEqual(page.small.users.data.map((u) => u.id), await expected(small, offset, column, order === 'DESC'), `small group, offset ${offset}`);
        }
      });
    }
  }
});
