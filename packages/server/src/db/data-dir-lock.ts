import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const LOCK_FILE = 'roster.lock';

export class DataDirectoryInUseError extends Error {}

/**
 * One process per PGlite data directory. PGlite writes the same fake PID into `postmaster.pid` for every
 * instance, so it never stops a second process from opening the directory, and two writers silently lose each
 * other's commits. Roster therefore holds its own lock file with the real PID: created with O_EXCL, taken over
 * only when its holder is dead (a crash or kill -9 leaves it behind), removed on close.
 */
export function lockDataDirectory(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readHolder(path);
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
      throw new DataDirectoryInUseError(
        `The data directory ${dataDir} is in use by process ${holder}. Stop it first: two processes on one PGlite directory lose each other's writes.`,
      );
    }
    // The holder is gone: take the stale lock over. Renaming first means only one of two racing starters wins it.
    try {
      renameSync(path, `${path}.stale-${process.pid}`);
      unlinkSync(`${path}.stale-${process.pid}`);
    } catch {
      // another starter took it over first; try again
    }
  }
  throw new DataDirectoryInUseError(`Could not lock the data directory ${dataDir}; another Roster is starting on it`);
}

function readHolder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live Node process (a PID reused by an unrelated program after a crash does not count). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    // No /proc (macOS): the signal check is all we have.
    return true;
  }
}
