import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.ts';

/**
 * `ROSTER_WORKERS` > 1: this process (the primary) serves nothing itself. It forks that many workers, each a whole
 * Roster server with its own connection pool, all accepting on one port (node:cluster hands each new connection to
 * the next worker in turn). One Node process runs its JavaScript on one core; a lookup costs Roster about three
 * times the CPU it costs PostgreSQL, so on a machine with cores to spare a single process is the bottleneck.
 *
 * - Start: the first worker alone, until it listens (it migrates the database and, in development, may generate the
 *   first API key: one process does that once); then the others. The first answer comes as soon as with one process.
 * - A worker that dies is replaced, unless workers keep dying: more than MAX_RESTARTS within RESTART_WINDOW_MS
 *   stops the whole server with exit code 1, so a supervisor sees the failure instead of a restart loop. A worker
 *   that exits with 2 (a start-up error, e.g. the port is taken) stops it at once, with 2.
 * - SIGTERM or SIGINT: every worker finishes its requests and closes (each its own 25 s limit), then the primary exits.
 * - `GET /metrics`, answered by whichever worker gets the scrape, sums all the workers (see observability/cluster-metrics.ts).
 */
export function runPrimary(config: Config): void {
  const log = primaryLogger(config.logLevel);
  const restarts: number[] = [];
  let stopping = false;
  let exitCode = 0;

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => void answerMetricsRequest(worker, message));
    return worker;
  };

  const first = fork();
  first.once('listening', () => {
    for (let i = 1; i < config.workers; i++) fork();
    log(30, `Roster listening on http://${config.host}:${config.port} with ${config.workers} workers`, { workers: config.workers });
  });

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    // Exit code 2 is a start-up error the worker has explained in one line (a port in use, a bad setting): another
    // worker would fail the same way, so the server stops with the same code.
    if (code === 2) {
      exitCode = 2;
      stop();
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > MAX_RESTARTS) {
      log(50, `workers keep exiting (${restarts.length} in ${RESTART_WINDOW_MS / 1000} s); stopping`, { code, signal });
      exitCode = 1;
      stop();
      return;
    }
    log(50, 'a worker exited; starting another', { worker: worker.process.pid, code, signal });
    fork();
  });

  const stop = () => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (alive.length === 0) process.exit(exitCode);
    for (const worker of alive) worker.process.kill('SIGTERM');
    // The workers give up after 25 s of their own; this is for one that hangs before it could install its handler.
    setTimeout(() => {
      log(50, 'workers did not stop within 30 s; killing them');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, 30_000).unref();
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      log(30, 'shutting down the workers', { signal });
      stop();
    });
  }
}

/** Replacements allowed within RESTART_WINDOW_MS before the server gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/** A worker asks for the summed metrics of all workers; prom-client's aggregator collects them over IPC. */
async function answerMetricsRequest(worker: Worker, message: unknown): Promise<void> {
  const request = message as { type?: unknown; id?: unknown } | null;
  if (request?.type !== METRICS_REQUEST || typeof request.id !== 'number') return;
  try {
    const { clusterMetricsText } = await import('./observability/cluster-metrics.ts');
    worker.send({ type: METRICS_RESPONSE, id: request.id, text: await clusterMetricsText() });
  } catch (e) {
    worker.send({ type: METRICS_RESPONSE, id: request.id, error: e instanceof Error ? e.message : String(e) });
  }
}

export const METRICS_REQUEST = 'roster:metrics-request';
export const METRICS_RESPONSE = 'roster:metrics-response';

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** JSON lines shaped like the workers' (pino) log lines, so one log pipeline reads both. */
function primaryLogger(level: string): (at: number, msg: string, extra?: Record<string, unknown>) => void {
  const threshold = LEVELS[level] ?? 30;
  return (at, msg, extra = {}) => {
    if (at < threshold) return;
    process.stdout.write(`${JSON.stringify({ level: at, time: Date.now(), pid: process.pid, role: 'primary', ...extra, msg })}\n`);
  };
}
