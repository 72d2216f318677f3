import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { workerPoolSize } from '../../packages/server/src/config.ts';
import type { SuiteContext } from '../run.ts';
import { createScratchDatabase, type ScratchDatabase } from './postgres.ts';
import { backgroundBusy, freePort, startChildServer, waitForWorkers, type ChildServer } from './processes.ts';
import { codeRevision, saveSection } from './report.ts';
import { fmtPct } from './stats.ts';

/**
 * One suite run's lifetime: a log with elapsed time, clean-ups run in reverse on the way out, and a deadline and
 * SIGINT/SIGTERM that stop the servers and drop the scratch database instead of leaving them behind.
 */
export class SuiteRun {
  readonly startedAt = new Date();
  readonly cleanups: (() => Promise<void>)[] = [];
  readonly #t0 = performance.now();
  readonly #deadline: NodeJS.Timeout;
  readonly #onSignal = () => this.#abort('interrupted');
  #cleaned = false;

  constructor(
    private readonly name: string,
    deadlineMs: number,
  ) {
    this.#deadline = setTimeout(() => this.#abort(`${name} suite exceeded ${deadlineMs / 60_000} minutes`), deadlineMs);
    this.#deadline.unref();
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  elapsedSeconds(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  readonly log = (msg: string): void => {
    process.stderr.write(`[${this.name} ${this.elapsedSeconds().toFixed(1)}s] ${msg}\n`);
  };

  /** Runs the clean-ups (once) and releases the deadline and signal handlers. */
  async finish(): Promise<void> {
    await this.#cleanup();
    clearTimeout(this.#deadline);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }

  async #cleanup(): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        process.stderr.write(`cleanup: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
  }

  #abort(why: string): void {
    process.stderr.write(`\n${why}: stopping servers and dropping the scratch database\n`);
    void this.#cleanup().finally(() => process.exit(1));
  }
}

export interface RosterUnderTest {
  /** Share of all CPUs busy, and the 1-min load average, just before the start. */
  readonly background: number;
  readonly loadAverage: number;
  readonly scratch: ScratchDatabase;
  /** The code the server was started from (others may be changing the tree while this runs). */
  readonly revision: string;
  readonly apiKey: string;
  readonly roster: ChildServer;
}

/**
 * The set-up every suite shares: background load, a scratch database, and Roster started on it as in production.
 * `extraEnv` adds variables (e.g. `ROSTER_ENVIRONMENT_ID`); it cannot change the ones set here.
 */
export async function startRoster(suite: SuiteRun, ctx: SuiteContext, extraEnv: Record<string, string> = {}): Promise<RosterUnderTest> {
  const background = await backgroundBusy();
  const loadAverage = os.loadavg()[0] ?? Number.NaN;
  suite.log(`background load before start: ${fmtPct(background)} of all CPUs busy, load average ${loadAverage.toFixed(2)}`);
  const scratch = await createScratchDatabase();
  suite.cleanups.push(async () => {
    if (ctx.keepDatabase) process.stderr.write(`kept database ${scratch.url} (--keep-db): drop it when done\n`);
    else await scratch.drop();
  });
  suite.log(`created database ${scratch.name}`);

  const revision = codeRevision(ctx.repoRoot);
  const apiKey = randomBytes(24).toString('base64url'); // 32 characters
  const rosterPort = await freePort();
  const roster = await startChildServer({
    name: 'Roster',
    args: ['--import', 'tsx', 'packages/server/src/main.ts'],
    cwd: ctx.repoRoot,
    env: {
      ...extraEnv,
      DATABASE_URL: scratch.url,
      ROSTER_API_KEY: apiKey,
      PORT: String(rosterPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      ROSTER_WORKERS: String(ctx.workers),
    },
    port: rosterPort,
    readyPath: '/readyz',
  });
  suite.cleanups.push(() => roster.stop());
  await waitForWorkers(roster.pid, ctx.workers);
  suite.log(`Roster ready at ${roster.baseUrl} (pid ${roster.pid}${ctx.workers > 1 ? `, ${ctx.workers} workers` : ''})`);
  return { background, loadAverage, scratch, revision, apiKey, roster };
}

/** What a section's heading and set-up line add when Roster ran with several workers. */
export function workersTag(ctx: SuiteContext): { heading: string; setup: string } {
  return ctx.workers > 1
    ? { heading: ` (${ctx.workers} workers)`, setup: `, ROSTER_WORKERS=${ctx.workers} (node:cluster; the pool of 10 shared: ${workerPoolSize(10, ctx.workers)} each)` }
    : { heading: '', setup: '' };
}

/**
 * The end of every suite: the section (heading to table) with the notes and Roster's warning count appended, printed,
 * and saved into RESULTS.md unless the run is --quick or --no-write; Roster's own output is shown when it warned.
 */
export async function publishSection(
  suite: SuiteRun,
  ctx: SuiteContext,
  rosterOutput: string,
  lines: readonly string[],
  notes: readonly string[],
): Promise<void> {
  const warnings = rosterOutput.split('\n').filter((l) => l.trim()).length;
  const section = [
    ...lines,
    ...notes.map((n) => `- ${n}`),
    `- Roster wrote ${warnings} log line(s) at level warn or above during the run.`,
    '',
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (ctx.write && !ctx.quick) {
    await saveSection(ctx.resultsFile, section);
    suite.log(`results saved to ${path.relative(ctx.repoRoot, ctx.resultsFile)}`);
  }
  if (warnings > 0) process.stderr.write(`Roster output:\n${rosterOutput}\n`);
}
