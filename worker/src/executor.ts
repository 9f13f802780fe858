import { Worker } from 'node:worker_threads';
import { Command, type Config, ResultBatch, readJobs, readResults, Status } from '@tokenserver/shared';
import { addKeyFetchStats, emptyKeyFetchStats, type KeyFetchStats } from './auth/key-fetch-stats.js';
import type { ExecutorThreadData, FromThread, ToThread } from './executor-thread.js';

export interface ExecutorEvents {
  /** A DONE frame to pass to the broker as it is. */
  onDone(frame: Buffer): void;
  /** The job thread stopped answering (a long or hung job), or came back. */
  onStallChange(stalled: boolean): void;
}

export interface ExecutorOptions {
  config: Config;
  /** A job this long past its deadline while the thread is stalled gets the thread replaced. */
  hungJobGraceMs: number;
  /** The thread is stalled when silent this long. */
  stallMs: number;
}

const TICK_MS = 50;
const THREAD_URL = new URL('./executor-thread.js', import.meta.url);

/** Owns the job thread: hands it JOBS frames, tracks what it holds, replaces it when a job hangs. */
export class Executor {
  private thread: Worker;
  /** Job id → deadline, for every job the thread holds. */
  private readonly held = new Map<number, number>();
  private lastHeard = Date.now();
  /** False until the current thread's first message: loading it is not a stall. */
  private threadUp = false;
  private stalled = false;
  private readonly watchdog: NodeJS.Timeout;
  private completed = 0;
  /** The current thread's last reported figures, and the sum over the threads it replaced. */
  private threadStats = emptyKeyFetchStats();
  private readonly replacedThreadsStats = emptyKeyFetchStats();
  private markUp: () => void = () => {};
  /** Resolves once the first job thread has loaded its handlers. */
  readonly up: Promise<void> = new Promise((resolve) => {
    this.markUp = resolve;
  });

  constructor(
    private readonly options: ExecutorOptions,
    private readonly events: ExecutorEvents,
  ) {
    this.thread = this.startThread();
    this.watchdog = setInterval(() => this.checkThread(), TICK_MS);
  }

  get holding(): number {
    return this.held.size;
  }

  get jobsCompleted(): number {
    return this.completed;
  }

  keyFetchStats(): KeyFetchStats {
    return addKeyFetchStats(addKeyFetchStats(emptyKeyFetchStats(), this.replacedThreadsStats), this.threadStats);
  }

  run(frame: Buffer): void {
    readJobs(frame, (id, deadline) => this.held.set(id, deadline));
    this.thread.postMessage({ jobs: frame } satisfies ToThread);
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    await this.thread.terminate();
  }

  private startThread(): Worker {
    const data: ExecutorThreadData = { config: this.options.config, tickMs: TICK_MS };
    const thread = new Worker(THREAD_URL, { workerData: data });
    thread.on('message', (message: FromThread) => this.onThreadMessage(message));
    thread.on('error', (err) => {
      process.stderr.write(`job thread failed: ${err.message}\n`);
      this.replaceThread(Date.now());
    });
    this.threadUp = false;
    return thread;
  }

  private onThreadMessage(message: FromThread): void {
    this.lastHeard = Date.now();
    if (!this.threadUp) {
      this.threadUp = true;
      this.markUp();
    }
    if (this.stalled) this.setStalled(false);
    if ('tick' in message) this.threadStats = message.keyFetchStats;
    else if ('done' in message) {
      const frame = Buffer.from(message.done.buffer, message.done.byteOffset, message.done.byteLength);
      this.completed += readResults(frame, (id) => this.held.delete(id));
      this.events.onDone(frame);
    }
  }

  private checkThread(): void {
    const now = Date.now();
    if (!this.threadUp || now - this.lastHeard < this.options.stallMs) return;
    if (!this.stalled) this.setStalled(true);
    for (const deadline of this.held.values()) {
      if (now > deadline + this.options.hungJobGraceMs) return this.replaceThread(now);
    }
  }

  /** Terminates a hung thread: overdue jobs are answered EXPIRED, the rest go back for another worker. */
  private replaceThread(now: number): void {
    const old = this.thread;
    addKeyFetchStats(this.replacedThreadsStats, this.threadStats);
    this.threadStats = emptyKeyFetchStats();
    old.removeAllListeners('message');
    old.removeAllListeners('error');
    old.on('error', () => {});
    void old.terminate();
    const answers = new ResultBatch();
    for (const [id, deadline] of this.held) answers.push(id, deadline <= now ? Status.Expired : Status.Retry);
    this.held.clear();
    this.thread = this.startThread();
    if (answers.length > 0) this.events.onDone(answers.take(Command.Done));
    this.setStalled(false);
  }

  private setStalled(stalled: boolean): void {
    this.stalled = stalled;
    this.events.onStallChange(stalled);
  }
}
