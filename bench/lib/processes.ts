import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  readonly baseUrl: string;
  /** The last lines the child wrote (stdout and stderr), for error reports. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  readonly name: string;
  /** Arguments to `node` (e.g. `['--import', 'tsx', 'path/to/main.ts']`). */
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly port: number;
  readonly readyPath: string;
  readonly readyTimeoutMs?: number;
}

/** Starts a server as a child `node` process and waits until `readyPath` answers 200. */
export async function startChildServer(options: StartOptions): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, [...options.args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? `code ${code}`}`;
      resolve();
    }),
  );
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const handle: ChildServer = {
    name: options.name,
    pid: child.pid ?? -1,
    baseUrl,
    output: () => lines.join('\n'),
    stop: async (graceMs = 10_000) => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`${options.name} ${exited} before it was ready:\n${handle.output()}`);
    try {
      const res = await fetch(`${baseUrl}${options.readyPath}`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return handle;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await handle.stop(1_000);
      throw new Error(`${options.name} was not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${handle.output()}`);
    }
    await sleep(100);
  }
}

/** CPU time (user + system, all threads) a process has used so far, in ms; Linux only, NaN elsewhere. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU of `pid` and every process below it: a Roster started with ROSTER_WORKERS > 1 is a primary whose workers
 * do the work. A child's time is counted while it runs (a reaped child's time would move into its parent's
 * cutime, which this does not read). Linux only.
 */
export function processTreeCpuMs(pid: number): number {
  return descendantsAndSelf(pid).reduce((sum, p) => sum + (processCpuMs(p) || 0), 0);
}

/**
 * With ROSTER_WORKERS > 1 the first worker answers before the others have started: waits until `workers` children
 * run, then `settleMs` more for them to compile their route schemas (done after listening), so that no measurement
 * starts while a worker is still starting.
 */
export async function waitForWorkers(pid: number, workers: number, settleMs = 3_000): Promise<void> {
  if (workers <= 1) return;
  const deadline = Date.now() + 60_000;
  while (descendantsAndSelf(pid).length < workers + 1) {
    if (Date.now() > deadline) throw new Error(`Roster (pid ${pid}) did not start ${workers} workers within 60 s`);
    await sleep(100);
  }
  await sleep(settleMs);
}

/** `pid` and its descendants, from the parent pid in each /proc/<pid>/stat. */
export function descendantsAndSelf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(parent) ?? [];
      list.push(Number(entry));
      children.set(parent, list);
    } catch {
      // the process ended while the list was read
    }
  }
  const out: number[] = [];
  const visit = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return out;
}

/** Pids of the processes whose command name (`/proc/<pid>/comm`) is `name`, e.g. every PostgreSQL backend; Linux only. */
export function pidsByCommand(name: string): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/comm`, 'utf8').trim() === name;
        } catch {
          return false; // exited meanwhile
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

/** Busy and total CPU time of the whole machine so far, in ms (from /proc/stat). */
/**
 * CPU time of all cores since boot, in ms: busy (everything but idle and I/O wait), total, and steal (time the
 * hypervisor ran something else while this machine's virtual CPUs wanted to run: a stall no process here can see).
 */
export function machineCpuMs(): { busy: number; total: number; steal: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already counted in user.
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: ((total - idle) * 1000) / CLOCK_TICKS, total: (total * 1000) / CLOCK_TICKS, steal: ((v[7] ?? 0) * 1000) / CLOCK_TICKS };
  } catch {
    return { busy: Number.NaN, total: Number.NaN, steal: Number.NaN };
  }
}

/** Measures the share of the machine's CPU time that was stolen by the hypervisor between start and stop. */
export class StealMeter {
  #start = machineCpuMs();

  start(): void {
    this.#start = machineCpuMs();
  }

  /** Stolen share of all cores' time since start (0.1 = a tenth of the machine's time went elsewhere). */
  stop(): number {
    const now = machineCpuMs();
    return (now.steal - this.#start.steal) / (now.total - this.#start.total);
  }
}

// USER_HZ is 100 on every mainstream Linux build.
const CLOCK_TICKS = 100;

export interface CpuSample {
  /** CPU used by each watched process during the interval, as a share of one core (1 = one core fully busy). */
  readonly cores: Record<string, number>;
  /** Whole-machine busy share of all cores (1 = every core busy). */
  readonly machine: number;
  /** Length of the interval, ms. */
  readonly wallMs: number;
}

/** Several intervals as one: each share weighted by its interval's length. */
export function combineCpu(samples: readonly CpuSample[]): CpuSample {
  const wallMs = samples.reduce((a, s) => a + s.wallMs, 0);
  const cores: Record<string, number> = {};
  for (const s of samples) {
    for (const [name, share] of Object.entries(s.cores)) cores[name] = (cores[name] ?? 0) + (share * s.wallMs) / wallMs;
  }
  return { cores, machine: samples.reduce((a, s) => a + (s.machine * s.wallMs) / wallMs, 0), wallMs };
}

/** Measures CPU use of the bench itself, the watched children and the machine between `start` and `stop`. */
export class CpuMeter {
  #wall = 0;
  #machine = { busy: 0, total: 0 };
  #procs = new Map<string, number>();
  #self = 0;

  constructor(private readonly watched: () => Record<string, number>) {}

  start(): void {
    this.#wall = performance.now();
    this.#machine = machineCpuMs();
    this.#self = selfCpuMs();
    this.#procs = new Map(Object.entries(this.watched()).map(([name, pid]) => [name, processTreeCpuMs(pid)]));
  }

  stop(): CpuSample {
    const wall = performance.now() - this.#wall;
    const machine = machineCpuMs();
    const cores: Record<string, number> = { bench: (selfCpuMs() - this.#self) / wall };
    for (const [name, pid] of Object.entries(this.watched())) {
      const before = this.#procs.get(name);
      if (before !== undefined) cores[name] = (processTreeCpuMs(pid) - before) / wall;
    }
    return { cores, machine: (machine.busy - this.#machine.busy) / (machine.total - this.#machine.total), wallMs: wall };
  }
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Whole-machine busy share over the next `ms` milliseconds: the background load the bench competes with. */
export async function backgroundBusy(ms = 2_000): Promise<number> {
  const before = machineCpuMs();
  await sleep(ms);
  const after = machineCpuMs();
  return (after.busy - before.busy) / (after.total - before.total);
}
