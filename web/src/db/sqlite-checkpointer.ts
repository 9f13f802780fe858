import { Worker } from 'node:worker_threads';
import type { CheckpointThreadData } from './sqlite-checkpoint-thread.js';

export interface CheckpointerOptions {
  busyTimeoutMs: number;
  /** The thread failed or stopped on its own; the caller must checkpoint again itself. */
  onFailure(err: Error): void;
}

const THREAD_URL = new URL('./sqlite-checkpoint-thread.js', import.meta.url);
const CHECKPOINT_INTERVAL_MS = 100;

/**
 * Runs the WAL checkpoints of a SQLite file on a thread of its own. A checkpoint copies the WAL back into the
 * database file and syncs it: 2-5 ms every few hundred commits, which on the serving thread shows as event-loop
 * delay under a stream of new users. The thread's checkpoints are PASSIVE: they never wait for the serving
 * connection, so they cannot start the WAL over while commits keep coming. The serving connection keeps
 * SQLite's own auto-checkpoint as the backstop that does, at a higher threshold (see sqlite-store.ts).
 */
export class SqliteCheckpointer {
  private readonly thread: Worker;
  private closing = false;

  constructor(path: string, options: CheckpointerOptions) {
    const data: CheckpointThreadData = {
      path,
      intervalMs: CHECKPOINT_INTERVAL_MS,
      busyTimeoutMs: options.busyTimeoutMs,
    };
    this.thread = new Worker(THREAD_URL, { workerData: data });
    this.thread.unref();
    let failed = false;
    const fail = (err: Error) => {
      if (this.closing || failed) return;
      failed = true;
      options.onFailure(err);
    };
    this.thread.on('error', fail);
    this.thread.on('exit', (code) => fail(new Error(`the SQLite checkpoint thread exited (code ${code})`)));
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.thread.terminate();
  }
}
