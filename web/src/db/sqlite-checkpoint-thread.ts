// The checkpoint thread of a SQLite store (see sqlite-checkpointer.ts): its own connection to the file, and a
// PASSIVE checkpoint (it never waits for a lock nor blocks a writer) every interval.
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointThreadData {
  path: string;
  intervalMs: number;
  busyTimeoutMs: number;
}

const { path, intervalMs, busyTimeoutMs } = workerData as CheckpointThreadData;
const db = new Database(path, { timeout: busyTimeoutMs });

setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), intervalMs);
