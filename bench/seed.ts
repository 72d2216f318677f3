/**
 * Loads a directory of realistic shape for benchmarks, in minutes, with set-based SQL run inside the database
 * (`INSERT … SELECT` over `generate_series`: nothing crosses the wire per row, so it beats `COPY` from a client):
 *
 *   npm run bench:seed -- --users 1000000 --groups 100000 --memberships 10000000 --tenants 100
 *   npm run bench:seed -- --users 50000 --pglite bench/.work/pglite-seed       (PGlite: smaller)
 *
 * Shapes: tenant sizes follow a Zipf law (a few big companies, a long tail); each big enough tenant has huge groups
 * (its whole staff, and every second person: 100,000+ members at full size); every other group is small, sizes
 * skewed around the mean, so users sit in many groups; some groups have managers and roles; some users are
 * deactivated; `customData` has a few keys to filter on. Ids are UUIDv7-shaped (time-ordered) like Roster's.
 * Everything is derived from row numbers by hashing, so the same arguments load the same data.
 *
 * The target is a PostgreSQL database (`--database-url`, default `postgres://postgres@127.0.0.1:5432/roster_seed`,
 * created if missing; `--reset` drops it first) or a PGlite directory (`--pglite <dir>`). The schema is Roster's own
 * migrations, run first.
 */
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { v5 as uuidv5 } from 'uuid';
import { openDatabase, type DatabaseHandle } from '../packages/server/src/db/database.ts';
import { migrateToLatest } from '../packages/server/src/db/migrate.ts';
import { DEFAULT_GROUP_TYPE, GROUP_TYPE_NAMESPACE } from '../packages/server/src/services/groups.ts';
import { assertLoopback } from './lib/http.ts';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    groups: { type: 'string' },
    memberships: { type: 'string' },
    tenants: { type: 'string', default: '100' },
    'huge-min': { type: 'string' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/roster_seed' },
    pglite: { type: 'string' },
    reset: { type: 'boolean', default: false },
  },
  strict: true,
});

const positive = (name: string, raw: string | undefined, fallback: number): number => {
  const n = raw === undefined ? fallback : Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const USERS = positive('users', args.users, 100_000);
const TENANTS = Math.min(positive('tenants', args.tenants, 100), USERS);
const GROUPS = Math.max(positive('groups', args.groups, Math.ceil(USERS / 10)), TENANTS * 3);
const MEMBERSHIPS = positive('memberships', args.memberships, USERS * 10);
// A group is "huge" from this many members: 100,000 at full size, a tenth of the users in a small dataset.
const HUGE_MIN = positive('huge-min', args['huge-min'], Math.min(100_000, Math.ceil(USERS / 10)));

const log = (msg: string) => process.stderr.write(`[seed ${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
const t0 = performance.now();

interface TenantPlan {
  idx: number;
  userStart: number;
  userCount: number;
  groupStart: number;
  groupCount: number;
  /** Groups 0 and 1 of a big tenant are huge (everyone, every second person); the rest share `smallBudget` */
  hugeGroups: number;
  smallBudget: number;
}

/** Tenant sizes by a Zipf law (s = 1.1): the first tenant holds about a quarter of 1M users over 100 tenants. */
function plan(): TenantPlan[] {
  const weights = Array.from({ length: TENANTS }, (_, k) => 1 / (k + 1) ** 1.1);
  const total = weights.reduce((a, b) => a + b, 0);
  const split = (n: number, min: number) => {
    const parts = weights.map((w) => Math.max(min, Math.floor((n * w) / total)));
    parts[0]! += n - parts.reduce((a, b) => a + b, 0);
    return parts;
  };
  const users = split(USERS, 1);
  const groups = split(GROUPS, 3);
  const out: TenantPlan[] = [];
  let userStart = 0;
  let groupStart = 0;
  for (let k = 0; k < TENANTS; k++) {
    const userCount = users[k]!;
    const groupCount = groups[k]!;
    const hugeGroups = userCount >= HUGE_MIN ? 2 : 0;
    const hugeMembers = hugeGroups === 2 ? userCount + Math.ceil(userCount / 2) : 0;
    const share = Math.floor((MEMBERSHIPS * userCount) / USERS);
    out.push({ idx: k, userStart, userCount, groupStart, groupCount, hugeGroups, smallBudget: Math.max(groupCount - hugeGroups, share - hugeMembers) });
    userStart += userCount;
    groupStart += groupCount;
  }
  return out;
}

async function openTarget(): Promise<DatabaseHandle> {
  if (args.pglite) return openDatabase({ dataDir: args.pglite });
  const url = new URL(args['database-url']);
  assertLoopback(url.hostname);
  const name = url.pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name} must be a plain identifier`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    if (args.reset) await client.query(`drop database if exists ${name} with (force)`);
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  return openDatabase({ databaseUrl: url.toString(), dataDir: '', poolSize: 2 });
}

// Row number → UUIDv7-shaped id: 48 bits of "time" (a base plus the number), version 7, hashed random bits.
const ID_FUNCTION = `
  CREATE OR REPLACE FUNCTION pg_temp.seed_id(kind text, n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT (lpad(to_hex(1700000000000 + n), 12, '0') || '7' || substr(md5(kind || n), 1, 3) || '8' ||
            substr(md5(kind || n), 4, 15))::uuid
  $$`;
// A stable pseudo-random integer in [0, 2^31) from two numbers.
const HASH_FUNCTION = `
  CREATE OR REPLACE FUNCTION pg_temp.seed_hash(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT abs(hashint8(a * 1000003 + b))::bigint
  $$`;

const FIRST = `ARRAY['Anna','Ben','Chloé','David','Emma','Farid','Grace','Hiro','Ines','Jonas','Kofi','Lena','Mateo','Nina','Omar','Priya','Quinn','Rosa','Sven','Tariq','Uma','Viktor','Wen','Ximena','Yusuf','Zoe']`;
const LAST = `ARRAY['Schmidt','Müller','Garcia','Nguyen','Smith','Kowalski','Rossi','Dubois','Tanaka','Okafor','Silva','Johansson','Novak','Haddad','Kim','Ivanova','Brown','Lopez','Fischer','Murphy']`;
const DEPARTMENTS = `ARRAY['engineering','sales','marketing','support','finance','legal','operations','design','research','hr']`;
const LOCALES = `ARRAY['en-US','de-DE','fr-FR','es-ES','pt-BR','ja-JP','nl-NL','it-IT']`;
const ZONES = `ARRAY['Europe/Berlin','America/New_York','Asia/Tokyo','Europe/Paris','America/Sao_Paulo','Asia/Bangkok','Europe/London','Australia/Sydney']`;

async function main(): Promise<void> {
  const tenants = plan();
  const handle = await openTarget();
  const db = handle.db as unknown as Kysely<unknown>;
  try {
    log(`target ${handle.kind === 'pglite' ? `PGlite ${args.pglite}` : args['database-url']}; migrating`);
    await migrateToLatest(db);
    const counts = await sql<{ n: number }>`select count(*)::int as n from users`.execute(db);
    if ((counts.rows[0]?.n ?? 0) > 0) throw new Error('the database already holds users; pass --reset (PostgreSQL) or use an empty --pglite directory');
    log(`plan: ${USERS.toLocaleString('en-US')} users, ${GROUPS.toLocaleString('en-US')} groups, ~${MEMBERSHIPS.toLocaleString('en-US')} memberships, ${TENANTS} tenants; biggest tenant ${tenants[0]!.userCount.toLocaleString('en-US')} users, smallest ${tenants.at(-1)!.userCount}; huge groups from ${HUGE_MIN.toLocaleString('en-US')} members`);

    // One connection for everything: the session settings and temporary functions live in it.
    await db.connection().execute(async (c) => {
      const run = async (label: string, statement: string) => {
        const started = performance.now();
        const result = await sql.raw(statement).execute(c);
        log(`${label}: ${result.numAffectedRows ?? ''} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      };
      // Every row is consistent by construction, so the foreign-key triggers are skipped (superuser only), and a
      // crash mid-load only means loading again.
      await sql.raw(`SET session_replication_role = replica`).execute(c);
      if (handle.kind === 'postgres') {
        await sql.raw(`SET synchronous_commit = off`).execute(c);
        await sql.raw(`SET maintenance_work_mem = '512MB'`).execute(c);
      }
      await sql.raw(ID_FUNCTION).execute(c);
      await sql.raw(HASH_FUNCTION).execute(c);
      await sql.raw(`CREATE TEMP TABLE seed_plan (idx int PRIMARY KEY, id uuid NOT NULL, user_start bigint, user_count bigint,
        group_start bigint, group_count bigint, huge_groups int, small_budget bigint)`).execute(c);
      for (let i = 0; i < tenants.length; i += 1000) {
        const rows = tenants.slice(i, i + 1000).map((t) => `(${t.idx}, pg_temp.seed_id('t', ${t.idx}), ${t.userStart}, ${t.userCount}, ${t.groupStart}, ${t.groupCount}, ${t.hugeGroups}, ${t.smallBudget})`);
        await sql.raw(`INSERT INTO seed_plan VALUES ${rows.join(',')}`).execute(c);
      }

      // Secondary indexes are built once at the end: far cheaper than maintaining them row by row.
      const indexes = await sql<{ name: string; definition: string }>`
        select i.indexname as name, i.indexdef as definition from pg_indexes i
        where i.schemaname = current_schema() and i.tablename in ('users', 'user_groups', 'user_group_members', 'user_group_managers')
          and not exists (select 1 from pg_constraint k where k.conname = i.indexname)`.execute(c);
      for (const index of indexes.rows) await sql.raw(`DROP INDEX ${index.name}`).execute(c);
      log(`dropped ${indexes.rows.length} secondary indexes for the load`);

      await run('tenants', `INSERT INTO tenants (id, name, reference, created_at, updated_at)
        SELECT id, 'Company ' || idx, 'seed-t-' || idx, now() - interval '400 days', now() - interval '400 days' FROM seed_plan`);

      const groupType = uuidv5(DEFAULT_GROUP_TYPE, GROUP_TYPE_NAMESPACE);
      await run('group type', `INSERT INTO user_group_types (id, name) VALUES ('${groupType}', '${DEFAULT_GROUP_TYPE}') ON CONFLICT (name) DO NOTHING`);
      await run('platform group type', `INSERT INTO user_group_types (id, name) VALUES ('00000000-0000-7000-8000-0000000000a1', 'platform') ON CONFLICT (name) DO NOTHING`);

      // Users, in slices of about 200,000 so progress shows.
      const userSlices = slices(tenants, (t) => t.userCount, 200_000);
      for (const [from, to] of userSlices) {
        await run(`users of tenants ${from}-${to}`, `INSERT INTO users (tenant_id, id, reference, email, phone, first_name, last_name, locale, timezone,
            is_opted_in, active, custom_data, created_at, updated_at)
          SELECT p.id, pg_temp.seed_id('u', n), 'seed-u-' || n, 'user' || n || '@company' || p.idx || '.example.com',
            '+1555' || lpad((n % 10000000)::text, 7, '0'),
            (${FIRST})[1 + pg_temp.seed_hash(n, 1) % 26], (${LAST})[1 + pg_temp.seed_hash(n, 2) % 20],
            (${LOCALES})[1 + pg_temp.seed_hash(n, 3) % 8], (${ZONES})[1 + pg_temp.seed_hash(n, 4) % 8],
            n % 3 = 0, pg_temp.seed_hash(n, 5) % 50 <> 0,
            jsonb_build_object('department', (${DEPARTMENTS})[1 + pg_temp.seed_hash(n, 6) % 10], 'level', pg_temp.seed_hash(n, 7) % 7,
              'remote', n % 4 = 0),
            now() - interval '400 days' + (n * interval '1 millisecond'), now() - interval '400 days' + (n * interval '1 millisecond')
          FROM seed_plan p, generate_series(p.user_start, p.user_start + p.user_count - 1) n
          WHERE p.idx BETWEEN ${from} AND ${to}`);
      }

      await run('groups', `INSERT INTO user_groups (tenant_id, id, name, reference, description, type, created_at, updated_at)
        SELECT p.id, pg_temp.seed_id('g', n),
          CASE WHEN n - p.group_start = 0 AND p.huge_groups > 0 THEN 'Everyone at company ' || p.idx
               WHEN n - p.group_start = 1 AND p.huge_groups > 0 THEN 'Half of company ' || p.idx
               ELSE initcap((${DEPARTMENTS})[1 + pg_temp.seed_hash(n, 11) % 10]) || ' team ' || (n - p.group_start) END,
          'seed-g-' || n, '', '${DEFAULT_GROUP_TYPE}',
          now() - interval '300 days' + (n * interval '10 milliseconds'), now() - interval '300 days' + (n * interval '10 milliseconds')
        FROM seed_plan p, generate_series(p.group_start, p.group_start + p.group_count - 1) n`);
      await run('platform groups', `INSERT INTO user_groups (tenant_id, id, name, reference, description, type, is_unmodifiable)
        SELECT id, pg_temp.seed_id('pg', idx), 'Company Admins', 'platform:company-admins',
          'Administrators of the company: every permission over its users, groups and roles.', 'platform', true FROM seed_plan`);
      await run('platform group roles', `INSERT INTO group_roles (tenant_id, group_id, role_id)
        SELECT p.id, pg_temp.seed_id('pg', p.idx), r.id FROM seed_plan p, roles r WHERE r.tenant_id IS NULL AND r.key = 'company-admin'`);
      await run('company admins', `INSERT INTO user_group_members (tenant_id, group_id, user_id)
        SELECT id, pg_temp.seed_id('pg', idx), pg_temp.seed_id('u', user_start) FROM seed_plan`);

      // Huge groups: everyone of a big tenant, and every second person.
      await run('huge groups', `INSERT INTO user_group_members (tenant_id, group_id, user_id, added_at)
        SELECT p.id, pg_temp.seed_id('g', p.group_start + h.k), pg_temp.seed_id('u', n), now() - interval '200 days' + (n * interval '1 millisecond')
        FROM seed_plan p, LATERAL (VALUES (0), (1)) h(k), generate_series(p.user_start, p.user_start + p.user_count - 1) n
        WHERE p.huge_groups > 0 AND (h.k = 0 OR n % 2 = 0)`);

      // Small groups: sizes 1 + 3(m-1)u² (mean m, most far smaller, a few three times as big), members drawn by hash.
      const memberSlices = slices(tenants, (t) => t.smallBudget, 1_000_000);
      for (const [from, to] of memberSlices) {
        await run(`small-group members of tenants ${from}-${to}`, `INSERT INTO user_group_members (tenant_id, group_id, user_id, added_at)
          SELECT p.id, pg_temp.seed_id('g', g), pg_temp.seed_id('u', p.user_start + pg_temp.seed_hash(g, k) % p.user_count),
            now() - interval '200 days' + ((g * 1000 + k) * interval '1 millisecond')
          FROM seed_plan p
          CROSS JOIN LATERAL generate_series(p.group_start + p.huge_groups, p.group_start + p.group_count - 1) g
          CROSS JOIN LATERAL (SELECT greatest(1.0, p.small_budget::float8 / greatest(1, p.group_count - p.huge_groups)) AS mean) m
          CROSS JOIN LATERAL generate_series(0, floor(3 * (m.mean - 1) * power((pg_temp.seed_hash(g, 12) % 1000000) / 1000000.0, 2))::int) k
          WHERE p.idx BETWEEN ${from} AND ${to}
          ON CONFLICT DO NOTHING`);
      }

      await run('managers (1-3 for every tenth group)', `INSERT INTO user_group_managers (tenant_id, group_id, user_id)
        SELECT p.id, pg_temp.seed_id('g', g), pg_temp.seed_id('u', p.user_start + pg_temp.seed_hash(g, 20 + k) % p.user_count)
        FROM seed_plan p, generate_series(p.group_start, p.group_start + p.group_count - 1) g, generate_series(0, 2) k
        WHERE g % 10 = 0 AND k <= pg_temp.seed_hash(g, 21) % 3
        ON CONFLICT DO NOTHING`);
      await run('group roles (viewer on every fifth group)', `INSERT INTO group_roles (tenant_id, group_id, role_id)
        SELECT p.id, pg_temp.seed_id('g', g), r.id
        FROM seed_plan p, generate_series(p.group_start, p.group_start + p.group_count - 1) g, roles r
        WHERE g % 5 = 0 AND r.tenant_id IS NULL AND r.key = 'viewer'`);
      await run('user roles (user-manager for 1 in 100 users)', `INSERT INTO user_roles (tenant_id, user_id, role_id)
        SELECT p.id, pg_temp.seed_id('u', n), r.id
        FROM seed_plan p, generate_series(p.user_start, p.user_start + p.user_count - 1) n, roles r
        WHERE n % 100 = 7 AND r.tenant_id IS NULL AND r.key = 'user-manager'`);

      await sql.raw(`SET session_replication_role = origin`).execute(c);
      for (const index of indexes.rows) {
        const started = performance.now();
        await sql.raw(index.definition).execute(c);
        log(`index ${index.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
      // VACUUM, not just ANALYZE: it sets the visibility map, without which every index-only scan (membership
      // counts, member pages) visits the heap for each row, as it would not on a database that autovacuum keeps.
      await run('vacuum', 'VACUUM (ANALYZE)');
    });

    const summary = await sql<Record<string, number>>`
      select (select count(*) from tenants)::int as tenants, (select count(*) from users)::int as users,
        (select count(*) from user_groups)::int as groups, (select count(*) from user_group_members)::int as memberships,
        (select count(*) from user_group_managers)::int as managers,
        (select max(c) from (select count(*) as c from user_group_members group by group_id) x)::int as largest_group,
        (select percentile_disc(0.5) within group (order by c) from (select count(*) as c from user_group_members group by group_id) x)::int as median_group,
        (select max(c) from (select count(*) as c from user_group_members group by user_id) x)::int as most_groups_per_user,
        (select round(avg(c), 1) from (select count(*) as c from user_group_members group by user_id) x)::float8 as groups_per_user,
        (select count(*) from (select group_id from user_group_members group by group_id having count(*) >= ${HUGE_MIN}) x)::int as huge_groups,
        pg_database_size(current_database())::float8 / 1048576 as megabytes`.execute(db);
    const s = summary.rows[0]!;
    log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    process.stdout.write(`${JSON.stringify({ seconds: Math.round((performance.now() - t0) / 1000), ...s, megabytes: Math.round(Number(s.megabytes)) })}\n`);
  } finally {
    await handle.close();
  }
}

/** Contiguous tenant ranges whose `size` adds up to about `target` each. */
function slices(tenants: readonly TenantPlan[], size: (t: TenantPlan) => number, target: number): [number, number][] {
  const out: [number, number][] = [];
  let from = 0;
  let sum = 0;
  tenants.forEach((t, i) => {
    sum += size(t);
    if (sum >= target || i === tenants.length - 1) {
      out.push([from, i]);
      from = i + 1;
      sum = 0;
    }
  });
  return out;
}

await main();
