// The job thread of a worker process: runs the kinds that may take long (not `inline`), so that such
// a job never blocks the process's socket loop and heartbeats. Receives JOBS frames, answers with DONE frames.
import { parentPort, workerData } from 'node:worker_threads';
// Everything this thread imports must stay free of zeromq (see shared/src/index.ts).
import { type Config, createLogger, readJobs } from '@tokenserver/shared';
import type { KeyFetchStats } from './auth/key-fetch-stats.js';
import { JobRunners } from './job-runners.js';
import { jobHandlers } from './jobs/index.js';

export interface ExecutorThreadData {
  config: Config;
  tickMs: number;
}

export type ToThread = { jobs: Uint8Array };
export type FromThread = { done: Uint8Array } | { tick: true; keyFetchStats: KeyFetchStats };

const port = parentPort;
if (!port) throw new Error('executor-thread must run as a worker thread');
const { config, tickMs } = workerData as ExecutorThreadData;
const runners = new JobRunners(
  jobHandlers.filter((handler) => !handler.inline),
  config,
  (frame) => port.postMessage({ done: frame } satisfies FromThread),
  createLogger('worker', config).child({ thread: 'job' }),
);

// Proof of life: the process notices when this loop is blocked (a long or hung job). The first
// tick goes out before any job runs, so a job that blocks at once is still seen as a stall.
const tick = () => port.postMessage({ tick: true, keyFetchStats: runners.keyFetchStats } satisfies FromThread);
tick();
setInterval(tick, tickMs);

port.on('message', (message: ToThread) => {
  readJobs(Buffer.from(message.jobs.buffer, message.jobs.byteOffset, message.jobs.byteLength), runners.run);
  runners.flush();
});
