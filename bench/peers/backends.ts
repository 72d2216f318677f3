import { readFileSync } from 'node:fs';
import { pidsByCommand, processCpuMs } from '../lib/processes.ts';

/**
 * CPU used so far by the PostgreSQL processes working for one database (its backends, and an autovacuum worker while
 * one runs there), ms by pid; Linux only. A backend's process title names its database
 * (`postgres: 15/main: postgres <database> 127.0.0.1(port) idle`), and the scratch databases have unique random
 * names, so the two servers' PostgreSQL work can be told apart. `exclude` leaves out the bench's own connections.
 */
export function databaseCpu(database: string, exclude: ReadonlySet<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pidsByCommand('postgres')) {
    if (exclude.has(pid)) continue;
    let title: string;
    try {
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    if (!title.replaceAll('\0', ' ').split(/\s+/).includes(database)) continue;
    out.set(pid, processCpuMs(pid));
  }
  return out;
}

/**
 * CPU used between two readings. A process seen only in the second began in between (pools open connections on
 * demand), so all its CPU counts; one that exited in between is lost.
 */
export function cpuBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) {
    const used = ms - (before.get(pid) ?? 0);
    if (Number.isFinite(used)) total += used;
  }
  return total;
}
