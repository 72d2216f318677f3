import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { assertLoopback } from './http.ts';

/** The maintenance database the bench connects to in order to create and drop its scratch database. */
export const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates an empty database `roster_bench_<random>` next to `ADMIN_URL`; `drop()` removes it even if in use. */
export async function createScratchDatabase(prefix = 'roster_bench'): Promise<ScratchDatabase> {
  const admin = new URL(ADMIN_URL);
  assertLoopback(admin.hostname);
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`create database ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await withAdmin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

async function withAdmin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * The session settings Roster's own connections start with (ROSTER_PG_JIT's default), so that a floor runs the
 * same statements under the same settings: with JIT on, a statement estimated past `jit_above_cost` spends far
 * longer compiling than running.
 */
export const ROSTER_SESSION: pg.ClientConfig = { options: '-c jit=off' };

/** `count` connected clients (not a pool: each benchmark worker owns one connection, as a pool would lend it). */
export async function connectMany(url: string, count: number): Promise<pg.Client[]> {
  const clients = Array.from({ length: count }, () => new pg.Client({ ...ROSTER_SESSION, connectionString: url }));
  await Promise.all(clients.map((c) => c.connect()));
  return clients;
}

export async function endAll(clients: readonly pg.Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
}

/**
 * A named (prepared) statement for `pg`: parsed once per connection, as Roster runs its frequent statements. The
 * floors use it so that they stay the best the database can do, not a handicapped comparison.
 */
export function prepared(text: string): (values: unknown[]) => pg.QueryConfig {
  const name = `floor_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
  return (values) => ({ name, text, values });
}

/**
 * The statement Roster sends for `users(filter: { reference: { equalTo } }) { data { id email } }` (repositories/users.ts
 * `listUsers`: the requested columns and the keys, the keyset value, active users only, newest first, one row more
 * than the default page of 100). The `core` suite's bare route and raw-`pg` floor run exactly this, so that the
 * comparison is about the code path around the same SQL (until 2026-12-06 they ran a narrower `select id, email`
 * without the order and the limit). Keep it in step with `listUsers`.
 */
export const ROSTER_LOOKUP_BY_REFERENCE =
  'select "u"."email", "u"."id", "u"."tenant_id", "u"."created_at"::text as keyset_value from users u ' +
  'where ("u"."reference" = $1::text and "u"."active" = $2) order by "u"."created_at" desc, "u"."id" desc limit $3 offset $4';

/** The values of ROSTER_LOOKUP_BY_REFERENCE for one reference, as Roster binds them. */
export const lookupByReferenceValues = (reference: string): unknown[] => [reference, true, 101, 0];
