import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly ramGiB: number;
  readonly node: string;
  readonly postgres: string;
  readonly os: string;
}

export function machineInfo(postgresVersion: string): MachineInfo {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: postgresVersion,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/** The commit the server code was at when the run started, noting uncommitted changes to the server's sources. */
export function codeRevision(repoRoot: string): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'packages/server/src');
    return dirty ? `${head} + uncommitted changes in packages/server/src` : head;
  } catch {
    return 'unknown (not a git checkout?)';
  }
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

const HEADER = `# Roster benchmarks

Run from the repository root (needs PostgreSQL on 127.0.0.1; see \`BENCH_ADMIN_DATABASE_URL\`):

    npm run bench -- core            # full run, appends/replaces today's section below
    npm run bench -- core --quick    # 1/10 sizes, smoke test, does not touch this file

Each run creates a scratch database \`roster_bench_<random>\`, starts Roster as a child process
(\`node --import tsx packages/server/src/main.ts\`, \`NODE_ENV=production\`, \`LOG_LEVEL=warn\`, default
pool of 10 connections) and drops the database at the end (\`DROP DATABASE ... WITH (FORCE)\`). Every Roster
figure stands beside its *floor*: the same SQL sent straight through \`pg\` from the bench process, no HTTP.
"Roster ÷ floor" is Roster's throughput as a share of the floor's (100% = no overhead at all).

Rows of the \`core\` suite:

1. **createUser** — 10,000 \`createUser\` mutations (unique reference and email), 1 client sequentially and
   16 concurrent clients. Floor: single-row \`INSERT INTO users\` (UUIDv7 id, default tenant) on 1 / 16 connections.
2. **addUsersToUserGroup** — 100,000 existing users (bulk-inserted by SQL) added to a fresh group in calls of
   1,000 ids, and to another fresh group in calls of 10,000 ids. Floor:
   \`insert into user_group_members (tenant_id, group_id, user_id) select $1, $2, unnest($3::uuid[]) on conflict do nothing\`
   in the same batch sizes. Target: ≥ 40% of the floor at 10,000-id calls.
3. **Paging a 100,000-member group** — \`userGroupMembers(first: 100, after)\` walked over all 1,000 pages; mean
   time per page over the first 10 and the last 10 pages. Floor: Roster's own keyset statement through \`pg\`.
   Also offset paging, \`userGroup { users(limit: 100, offset: N) }\`, at offset 0 and 99,900 (median of
   repeated calls) beside the same lateral-join statement Roster sends.
4. **Lookup by reference** — 2,000 \`users(filter: { reference: { equalTo } })\` queries from 32 concurrent
   keep-alive clients, after a warm-up; beside a bare Fastify route (\`GET /lookup?ref=\`, its own process, \`pg\`
   pool of 10) and raw \`pg\` on 32 connections, both running the statement Roster sends for that query (named; since
   2026-12-06, before that a narrower \`select id, email from users where reference = $1 and active\`).
   Seven rounds, the three targets interleaved in blocks of 500 requests (GraphQL, bare, pg, GraphQL, ...) so they
   share the same background load; the round with the median GraphQL ÷ bare ratio is shown, plus one
   4,000-request round as a stability check. Target (issue 6): GraphQL ≥ 70% of the bare route.

With \`--workers N\` Roster runs as \`ROSTER_WORKERS=N\` (its sections' headings say so); its CPU and memory are then
counted over the primary and the workers together, and measuring starts once every worker runs.

CPU column: share of one core used by the Roster process, by the load generator (the bench process) and the
whole-machine busy share (all cores) during the measurement. Load generator, Roster and PostgreSQL share the same
cores, so every figure is a *whole-system* figure on this machine, not a capacity figure for a dedicated server.
`;

/**
 * Writes `section` (which starts with its own "## " heading) into RESULTS.md below the current header, replacing an
 * earlier section with the same heading and keeping all others.
 */
export async function saveSection(file: string, section: string): Promise<void> {
  let sections = '';
  try {
    const text = await readFile(file, 'utf8');
    const first = text.indexOf('\n## ');
    sections = first >= 0 ? text.slice(first + 1) : '';
  } catch {
    // first run: no file yet
  }
  const heading = section.split('\n', 1)[0]!;
  const start = sections.startsWith(`${heading}\n`) ? 0 : sections.indexOf(`\n${heading}\n`);
  if (start >= 0) {
    const after = sections.indexOf('\n## ', start + heading.length);
    sections = sections.slice(0, start) + (start > 0 ? '\n' : '') + `${section.trimEnd()}\n` + (after >= 0 ? sections.slice(after) : '');
  } else {
    sections = `${sections.trimEnd()}\n\n${section.trimEnd()}\n`;
  }
  await writeFile(file, `${HEADER.trimEnd()}\n\n${sections.trim()}\n`);
}
