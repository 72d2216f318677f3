/** Latency and throughput arithmetic shared by the suites. All times are milliseconds. */

export interface Summary {
  readonly count: number;
  readonly totalMs: number;
  /** Operations per second over the wall-clock time of the whole run. */
  readonly perSec: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function summarize(latencies: readonly number[], totalMs: number, operations = latencies.length): Summary {
  const sorted = [...latencies].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: operations,
    totalMs,
    perSec: operations / (totalMs / 1000),
    meanMs: sorted.length ? sum / sorted.length : Number.NaN,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? Number.NaN,
  };
}

export interface RunResult {
  readonly totalMs: number;
  /** Latency of each task, in completion order. */
  readonly latencies: number[];
}

/**
 * Runs `total` tasks with `concurrency` workers, each taking the next index when it finishes the previous one
 * (a closed loop: `concurrency` requests are in flight at any time). `worker` tells which worker runs the task.
 */
export function runClosedLoop(
  total: number,
  concurrency: number,
  task: (index: number, worker: number) => Promise<void>,
): Promise<RunResult> {
  return runWorkers(Math.min(concurrency, total), (index) => index < total, task);
}

/**
 * Like `runClosedLoop`, but bounded by time: `concurrency` workers each start a new task as soon as their previous
 * one finishes, until `durationMs` has passed; tasks in flight then complete. `totalMs` includes that drain.
 */
export function runForDuration(
  durationMs: number,
  concurrency: number,
  task: (index: number, worker: number) => Promise<void>,
): Promise<RunResult> {
  const deadline = performance.now() + durationMs;
  return runWorkers(concurrency, () => performance.now() < deadline, task);
}

/** `workers` closed loops taking the next index while `more(index)` says so, timing each task. */
async function runWorkers(
  workers: number,
  more: (index: number) => boolean,
  task: (index: number, worker: number) => Promise<void>,
): Promise<RunResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const loop = async (worker: number) => {
    for (;;) {
      if (!more(next)) return;
      const index = next++;
      const t0 = performance.now();
      await task(index, worker);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  return { totalMs: performance.now() - started, latencies };
}

export const median = (values: readonly number[]): number => percentile([...values].sort((a, b) => a - b), 50);

export const mean = (values: readonly number[]): number =>
  values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;

/** Deterministic PRNG (mulberry32) so every run picks the same lookup keys. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Formatting for the report.
export const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
export const fmtMs = (n: number): string => {
  if (!Number.isFinite(n)) return 'n/a';
  if (n < 1) return `${n.toFixed(3)} ms`;
  if (n < 10) return `${n.toFixed(2)} ms`;
  if (n < 100) return `${n.toFixed(1)} ms`;
  return `${Math.round(n).toLocaleString('en-US')} ms`;
};
export const fmtPct = (ratio: number, digits = 0): string => (Number.isFinite(ratio) ? `${(ratio * 100).toFixed(digits)}%` : 'n/a');
