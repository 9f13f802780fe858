import { Worker } from 'node:worker_threads';

// A synchronous parser stuck in a loop blocks the event loop, so neither mocha's timeout nor a timer can end the
// run: a watchdog thread watches a shared progress counter and kills the process, after saying how to replay.

/** [0]: inputs checked so far; [1]: 1 while a property runs. */
const progress = new Int32Array(new SharedArrayBuffer(8));
let watchdog: Worker | undefined;

const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { progress, limitMs, replay } = workerData;
let last = -1;
let since = Date.now();
setInterval(() => {
  const seen = Atomics.load(progress, 0);
  if (seen !== last || Atomics.load(progress, 1) === 0) {
    last = seen;
    since = Date.now();
    return;
  }
  if (Date.now() - since < limitMs) return;
  writeSync(2, 'fuzz: input ' + (seen + 1) + ' of a property made no progress for ' + limitMs + ' ms (a hang); ' + replay + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, Math.min(1000, limitMs / 4));
`;

/** Starts the watchdog once per process; `replay` says how to run the same inputs again. */
export function armWatchdog(limitMs: number, replay: string): void {
  if (!watchdog) {
    watchdog = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { progress, limitMs, replay } });
    watchdog.unref();
  }
  Atomics.store(progress, 1, 1);
}

export function disarmWatchdog(): void {
  Atomics.store(progress, 1, 0);
}

/** Called once per input. */
export function reportProgress(): void {
  Atomics.add(progress, 0, 1);
}
