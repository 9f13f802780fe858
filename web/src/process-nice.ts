import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { CodedError } from '@tokenserver/shared';

// [web] nice: the web front's scheduling priority. Where workers share the CPUs with the web front, a saturated
// host keeps every core busy with verification and signing, and the web front's event loop, woken by a socket,
// waits in the kernel's run queue behind them (tokenserver_event_loop_cpu_wait_seconds shows how long). A negative
// nice gives the loop its CPU first; the web front does no crypto, so it takes little from the workers.

/** `[web] nice` could not be applied, typically a negative value without root or CAP_SYS_NICE. */
export class NiceNotAppliedError extends CodedError {
  readonly code = 'ERR_NICE_NOT_APPLIED';
}

/** Sets one thread's nice value (Linux: a thread id; elsewhere 0, the process). */
export type SetNice = (threadId: number, nice: number) => void;

/**
 * Gives every thread of this process the nice value `nice` (0: leaves the process as it was started). Linux keeps a
 * nice value per thread, and a thread started later inherits its starter's, so this runs before the web front
 * opens its store and sockets.
 */
export function applyNice(nice: number, setNice: SetNice = setPriority, threads?: readonly number[]): void {
  if (nice === 0) return;
  for (const threadId of threads ?? threadIds()) {
    try {
      setNice(threadId, nice);
    } catch (err) {
      // A thread that ended since the list was read is no error.
      if ((err as { info?: { code?: string } }).info?.code !== 'ESRCH') throw notApplied(nice, err);
    }
  }
}

function notApplied(nice: number, err: unknown): NiceNotAppliedError {
  const hint = nice < 0 ? ' (a negative nice needs root or CAP_SYS_NICE)' : '';
  return new NiceNotAppliedError(`cannot set [web] nice = ${nice}: ${(err as Error).message}${hint}`, { cause: err });
}

/** This process's thread ids on Linux; [0] (the calling process) where /proc/self/task does not exist. */
function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [0];
  }
}
