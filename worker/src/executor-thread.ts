// The job thread of a worker process: runs handlers so that a long job never blocks the
// process's socket loop and heartbeats. Receives JOBS frames, answers with DONE frames.
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '@tokenserver/shared';
// Not the package index: it loads zeromq, whose addon blocks a second thread while the
// process's sockets are open. Everything this thread imports must stay free of zeromq.
import { Command, ResultBatch, readJobs, Status } from '@tokenserver/shared/protocol';
import { jobHandlers } from './jobs/index.js';
import { MalformedJobError } from './jobs/job-handler.js';

export interface ExecutorThreadData {
  config: Config;
  tickMs: number;
}

export type ToThread = { jobs: Uint8Array };
export type FromThread = { done: Uint8Array } | { tick: true };

const port = parentPort;
if (!port) throw new Error('executor-thread must run as a worker thread');
const { config, tickMs } = workerData as ExecutorThreadData;
const results = new ResultBatch();
let flushScheduled = false;

// Proof of life: the process notices when this loop is blocked (a long or hung job).
setInterval(() => port.postMessage({ tick: true } satisfies FromThread), tickMs);

port.on('message', (message: ToThread) => {
  const frame = Buffer.from(message.jobs.buffer, message.jobs.byteOffset, message.jobs.byteLength);
  readJobs(frame, runJob);
  flush();
});

function runJob(id: number, deadline: number, kind: string, body: Buffer): void {
  if (deadline <= Date.now()) return results.push(id, Status.Expired);
  const handler = jobHandlers.get(kind);
  if (!handler) return results.push(id, Status.BadJob, Buffer.from(`unknown job kind ${kind}`));
  try {
    const answer = handler.run(body, { deadline, config });
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
