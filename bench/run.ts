/**
 * Benchmark dispatcher: `npm run bench -- <suite> [--quick] [--no-write] [--keep-db] [--workers N]`.
 *
 *   --quick     smaller sizes (smoke test); prints results, never saves them
 *   --no-write  do not update bench/RESULTS.md
 *   --keep-db   leave the scratch database in place for EXPLAIN; drop it yourself
 *   --workers N start Roster with ROSTER_WORKERS=N (node:cluster; default 1); sections are headed with the count
 *
 *   core   GraphQL user creation, bulk membership, member paging and lookups vs their raw-SQL floors
 *   rest   REST v3 membership PATCH, member listing (offset 0 vs deep) and rbac-info vs their raw-SQL floors
 *   sdk    @roster/client and @roq/nodejs@1.0.13 vs raw fetch: lookup, membership write, user-token read
 *   scale  every read path at 1M users (peak, p99 at half peak) and membership writes vs raw SQL; start-up and RSS.
 *          Needs the database of `npm run bench:seed` (`--database <name>`, default roster_seed).
 *   peers  Roster beside Better Auth (organization + admin plugins) in one run, same PostgreSQL server and load
 *          generator: create a user, add a member, list a 1,000-member group's first page, look a user up by id
 *          (Better Auth runs from bench/peers/better-auth-server.ts on its own scratch database)
 *
 * Suites register below and receive the same context.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SuiteContext {
  /** Repository root: the children are started from here. */
  readonly repoRoot: string;
  readonly resultsFile: string;
  /** Smaller sizes for a smoke test; results are printed but not saved. */
  readonly quick: boolean;
  /** Save the results section into RESULTS.md. */
  readonly write: boolean;
  /** Leave the scratch database in place (for EXPLAIN afterwards); the caller drops it. */
  readonly keepDatabase: boolean;
  /** ROSTER_WORKERS of the Roster under test. */
  readonly workers: number;
  /** Arguments after the suite name that the dispatcher did not consume. */
  readonly args: readonly string[];
}

interface SuiteModule {
  run(ctx: SuiteContext): Promise<void>;
}

const suites: Record<string, { readonly description: string; readonly load: () => Promise<SuiteModule> }> = {
  core: {
    description: 'createUser, addUsersToUserGroup, member paging and lookups vs raw-SQL floors',
    load: () => import('./core.ts'),
  },
  rest: {
    description: 'REST v3: PATCH members, member listing at deep offsets, rbac-info vs raw-SQL floors',
    load: () => import('./rest.ts'),
  },
  scale: {
    description: 'the seeded 1M-user database: read paths at peak and at half peak, writes vs raw SQL, start-up, RSS',
    load: () => import('./scale.ts'),
  },
  sdk: {
    description: '@roster/client and @roq/nodejs vs raw fetch: throughput, latency and client CPU per request',
    load: () => import('./sdk.ts'),
  },
  peers: {
    description: 'Roster vs Better Auth (organization/admin plugins): create user, add member, list members, get user',
    load: () => import('./peers.ts'),
  },
};

const FLAGS = ['--quick', '--no-write', '--keep-db'];

function usage(): string {
  const list = Object.entries(suites)
    .map(([name, s]) => `  ${name.padEnd(8)} ${s.description}`)
    .join('\n');
  return `usage: npm run bench -- <suite> [--quick] [--no-write] [--keep-db] [--workers N]\n\nsuites:\n${list}\n`;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const suite = suites[name];
  if (!suite) {
    process.stderr.write(`unknown suite "${name}"\n\n${usage()}`);
    return 2;
  }
  const workersAt = rest.indexOf('--workers');
  const workers = workersAt < 0 ? 1 : Number(rest[workersAt + 1]);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    process.stderr.write(`--workers needs a whole number from 1 to 64\n\n${usage()}`);
    return 2;
  }
  const options = workersAt < 0 ? rest : [...rest.slice(0, workersAt), ...rest.slice(workersAt + 2)];
  const benchDir = path.dirname(fileURLToPath(import.meta.url));
  const ctx: SuiteContext = {
    repoRoot: path.resolve(benchDir, '..'),
    resultsFile: path.join(benchDir, 'RESULTS.md'),
    quick: options.includes('--quick'),
    write: !options.includes('--no-write'),
    keepDatabase: options.includes('--keep-db'),
    workers,
    args: options.filter((a) => !FLAGS.includes(a)),
  };
  await (await suite.load()).run(ctx);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
