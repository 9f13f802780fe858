import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Another live broker holds the run directory. */
export class BrokerLockedError extends Error {
  readonly code = 'ERR_BROKER_LOCKED';
}

/**
 * IPC binds silently take over an existing socket path, so a second broker would steal the
 * first one's clients. A PID lock file in the run directory prevents that; a lock left by a
 * dead broker (kill -9) is taken over.
 */
export function acquireRunLock(runDir: string): () => void {
  const path = join(runDir, 'broker.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => releaseIfOurs(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(path);
      if (holder !== undefined && isAlive(holder)) {
        throw new BrokerLockedError(`another broker (pid ${holder}) is running on ${runDir}; refusing to start`);
      }
      unlinkSync(path); // stale: its broker died without cleaning up
    }
  }
  throw new BrokerLockedError(`could not take the broker lock ${path}`);
}

function readHolder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseIfOurs(path: string): void {
  if (readHolder(path) === process.pid) unlinkSync(path);
}
