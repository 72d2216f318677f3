/**
 * ROSTER_WORKERS > 1 (src/cluster.ts): the real entry point forks that many workers on one port, a scrape of
 * /metrics sums every worker, a worker that dies is replaced, SIGTERM stops them all; on PGlite it is refused.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createScratchDatabase } from './helpers/server.ts';

const serverDir = new URL('..', import.meta.url).pathname;
const adminUrl = process.env.DATABASE_URL;
const needsPostgres = adminUrl ? false : 'DATABASE_URL is not set (workers need PostgreSQL)';
const API_KEY = 'cluster-test-key-0123456789abcdef';

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnRoster(env: Record<string, string>): Omit<Running, 'url'> {
  const environment: Record<string, string | undefined> = { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ROSTER_API_KEY: API_KEY, ...env };
  if (!env.DATABASE_URL) delete environment.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: serverDir, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Pids of the live child processes of `pid`, from the parent pid in each /proc/<pid>/stat. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      // ended while listed
    }
  }
  return out.sort();
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** One request on a connection of its own: node:cluster hands each new connection to the next worker in turn. */
const lookup = (url: string) =>
  fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, connection: 'close' },
    body: JSON.stringify({ query: '{ users(limit: 1) { data { id } } }' }),
  });

const metricValue = (text: string, line: RegExp): number => Number(line.exec(text)?.[1] ?? Number.NaN);

describe('ROSTER_WORKERS', () => {
  it('above 1 on the embedded database is refused at start, naming the setting', async () => {
    const { exited, output } = spawnRoster({ ROSTER_WORKERS: '2', ROSTER_DATA_DIR: 'memory://', PORT: '0' });
    assert.equal(await exited, 2);
    assert.match(output(), /ROSTER_WORKERS above 1 needs DATABASE_URL/);
  });

  describe('on PostgreSQL', { skip: needsPostgres }, () => {
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
    let roster: Running;

    before(async () => {
      scratch = await createScratchDatabase(adminUrl!, 'roster_cluster');
      for (let attempt = 1; ; attempt++) {
        const port = 20000 + Math.floor(Math.random() * 12000);
        const started = spawnRoster({ ROSTER_WORKERS: '2', DATABASE_URL: scratch.url, PORT: String(port), NODE_ENV: 'production' });
        const url = `http://127.0.0.1:${port}`;
        try {
          await waitFor('the workers', async () => {
            if (started.child.exitCode !== null) throw new Error(`exited:\n${started.output()}`);
            return childrenOf(started.child.pid!).length === 2 && (await fetch(`${url}/readyz`).then((r) => r.ok, () => false));
          });
          roster = { ...started, url };
          break;
        } catch (e) {
          started.child.kill('SIGKILL');
          if (attempt >= 3 || !started.output().includes('EADDRINUSE')) throw e;
        }
      }
    });
    after(async () => {
      roster?.child.kill('SIGKILL');
      for (const pid of roster ? childrenOf(roster.child.pid!) : []) process.kill(pid, 'SIGKILL');
      await scratch?.drop();
    });

    it('serves one port from two workers, and a scrape counts the requests of both', async () => {
      const before = metricValue(await (await fetch(`${roster.url}/metrics`)).text(), /^roster_http_requests_total\{method="POST",route="\/graphql",status="200"\} (\d+)$/m);
      for (let i = 0; i < 20; i++) assert.equal((await lookup(roster.url)).status, 200);
      const text = await (await fetch(`${roster.url}/metrics`)).text();
      const counted = metricValue(text, /^roster_http_requests_total\{method="POST",route="\/graphql",status="200"\} (\d+)$/m);
      // Each worker counted about half of them; only the sum over both gives 20.
      assert.equal(counted - (Number.isNaN(before) ? 0 : before), 20, text);
      assert.equal(metricValue(text, /^roster_info\{[^}]*\} (\d+)$/m), 1, 'roster_info is taken once, not summed');
      assert.equal(metricValue(text, /^roster_db_pool_total (\d+)$/m) <= 10, true, 'the default pool of 10 is shared by the workers');
    });

    it('a worker that dies is replaced, and the server keeps answering', async () => {
      const workers = childrenOf(roster.child.pid!);
      process.kill(workers[0]!, 'SIGKILL');
      // A connection handed to the killed worker before the primary saw it exit is reset; a client retries those.
      await waitFor('a replacement worker', () => {
        const now = childrenOf(roster.child.pid!);
        return now.length === 2 && !now.includes(workers[0]!);
      });
      await waitFor('the replacement to listen', async () => (await fetch(`${roster.url}/readyz`).then((r) => r.ok, () => false)));
      for (let i = 0; i < 10; i++) assert.equal((await lookup(roster.url)).status, 200);
      assert.match(roster.output(), /a worker exited; starting another/);
    });

    it('SIGTERM stops every worker and then the primary, with exit code 0', async () => {
      const workers = childrenOf(roster.child.pid!);
      roster.child.kill('SIGTERM');
      assert.equal(await roster.exited, 0, roster.output());
      for (const pid of workers) assert.throws(() => process.kill(pid, 0), 'worker still running');
    });
  });
});
