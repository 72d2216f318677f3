import { setTimeout as sleep } from 'node:timers/promises';
import type { RunResult } from './stats.ts';

export interface OpenLoopResult extends RunResult {
  /** Requests that were due while `maxInFlight` were already outstanding, and so never sent. */
  readonly dropped: number;
}

/**
 * Sends `task(i)` at a fixed rate for `durationMs`, whether or not earlier ones have answered (an open loop, as
 * independent users would), and times each from when it was *due*, not when it was sent: a stall shows up in
 * the latencies of everything queued behind it instead of silently lowering the rate (coordinated omission).
 * At most `maxInFlight` are outstanding; a request due beyond that is counted as dropped.
 */
export async function runOpenLoop(
  ratePerSecond: number,
  durationMs: number,
  task: (index: number) => Promise<void>,
  maxInFlight = 512,
): Promise<OpenLoopResult> {
  const interval = 1000 / ratePerSecond;
  const total = Math.max(1, Math.floor((durationMs / 1000) * ratePerSecond));
  const latencies: number[] = [];
  const pending = new Set<Promise<void>>();
  let dropped = 0;
  let failure: unknown;
  const started = performance.now();
  for (let i = 0; i < total && failure === undefined; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait);
    if (pending.size >= maxInFlight) {
      dropped++;
      continue;
    }
    const p: Promise<void> = task(i).then(
      () => void latencies.push(performance.now() - due),
      (e: unknown) => void (failure ??= e),
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  return { totalMs: performance.now() - started, latencies, dropped };
}
