// The job thread of a worker process: runs handlers so that a long job never blocks the
// process's socket loop and heartbeats. Receives JOBS frames, answers with DONE frames.
import { parentPort, workerData } from 'node:worker_threads';
// Everything this thread imports must stay free of zeromq (see shared/src/index.ts).
import { Command, type Config, ResultBatch, readJobs, Status } from '@tokenserver/shared';
import { emptyKeyFetchStats, type KeyFetchStats } from './auth/key-fetch-stats.js';
import { jobHandlers } from './jobs/index.js';
import { type JobHandler, type JobRunner, MalformedJobError } from './jobs/job-handler.js';

export interface ExecutorThreadData {
  config: Config;
  tickMs: number;
}

export type ToThread = { jobs: Uint8Array };
export type FromThread = { done: Uint8Array } | { tick: true; keyFetchStats: KeyFetchStats };

const port = parentPort;
if (!port) throw new Error('executor-thread must run as a worker thread');
const { config, tickMs } = workerData as ExecutorThreadData;
const keyFetchStats = emptyKeyFetchStats();
const runners = new Map(jobHandlers.map((handler) => [handler.kind, createRunner(handler.kind, handler.create)]));
const results = new ResultBatch();
/** Results leave in chunks, so the broker relays the first ones while later jobs still run. */
const CHUNK = 64;
let flushScheduled = false;

// Proof of life: the process notices when this loop is blocked (a long or hung job). The first
// tick goes out before any job runs, so a job that blocks at once is still seen as a stall.
const tick = () => port.postMessage({ tick: true, keyFetchStats } satisfies FromThread);
tick();
setInterval(tick, tickMs);

port.on('message', (message: ToThread) => {
  const frame = Buffer.from(message.jobs.buffer, message.jobs.byteOffset, message.jobs.byteLength);
  readJobs(frame, runJob);
  flush();
});

function runJob(id: number, deadline: number, kind: string, body: Buffer): void {
  if (results.length >= CHUNK) flush();
  if (deadline <= Date.now()) return results.push(id, Status.Expired);
  const run = runners.get(kind);
  if (!run) return results.push(id, Status.BadJob, Buffer.from(`unknown job kind ${kind}`));
  try {
    const answer = run(body, deadline);
    if (answer instanceof Promise) {
      answer.then(
        (value) => finishLater(id, Status.Ok, value),
        (err) => finishLater(id, ...statusOf(err)),
      );
    } else results.push(id, Status.Ok, answer);
  } catch (err) {
    results.push(id, ...statusOf(err));
  }
}

/** A handler that cannot start (say, a missing secret) fails its jobs with the reason, not the thread. */
function createRunner(kind: string, create: JobHandler['create']): JobRunner {
  try {
    return create(config, { keyFetchStats });
  } catch (err) {
    const reason = `${kind} jobs cannot run: ${(err as Error).message}`;
    process.stderr.write(`${reason}\n`);
    return () => {
      throw new Error(reason);
    };
  }
}

function statusOf(err: unknown): [Status, Buffer] {
  const message = Buffer.from(err instanceof Error ? err.message : String(err));
  return [err instanceof MalformedJobError ? Status.BadJob : Status.Error, message];
}

function finishLater(id: number, status: Status, body: Buffer): void {
  results.push(id, status, body);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function flush(): void {
  flushScheduled = false;
  if (results.length > 0) port?.postMessage({ done: results.take(Command.Done) } satisfies FromThread);
}
