import { Worker } from 'node:worker_threads';
import {
  Command,
  type Config,
  JobBatch,
  type Logger,
  ResultBatch,
  readJobs,
  readResults,
  Status,
  statusName,
} from '@tokenserver/shared';
import { addKeyFetchStats, emptyKeyFetchStats, type KeyFetchStats } from './auth/key-fetch-stats.js';
import type { ExecutorThreadData, FromThread, ToThread } from './executor-thread.js';
import { JobRunners } from './job-runners.js';
import { jobHandlers } from './jobs/index.js';

export interface ExecutorEvents {
  /** A DONE frame to pass to the broker as it is. */
  onDone(frame: Buffer): void;
  /** The job thread stopped answering (a long or hung job), or came back. */
  onStallChange(stalled: boolean): void;
}

export interface ExecutorOptions {
  config: Config;
  log: Logger;
  /** A job this long past its deadline while the thread is stalled gets the thread replaced. */
  hungJobGraceMs: number;
  /** The thread is stalled when silent this long. */
  stallMs: number;
}

const TICK_MS = 50;
const THREAD_URL = new URL('./executor-thread.js', import.meta.url);

const INLINE_KINDS: ReadonlySet<string> = new Set(jobHandlers.filter((h) => h.inline).map((h) => h.kind));

/**
 * Runs the jobs of JOBS frames: inline kinds right here on the socket thread, the others on the job
 * thread, whose liveness it watches (it replaces the thread when a job hangs).
 */
export class Executor {
  private thread: Worker;
  private readonly inline: JobRunners;
  private readonly forThread = new JobBatch();
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
    this.inline = new JobRunners(
      jobHandlers.filter((handler) => handler.inline),
      options.config,
      (frame) => events.onDone(frame),
      options.log,
    );
    this.thread = this.startThread();
    this.watchdog = setInterval(() => this.checkThread(), TICK_MS);
  }

  get holding(): number {
    return this.held.size + this.inline.pending;
  }

  get jobsCompleted(): number {
    return this.completed + this.inline.completed;
  }

  keyFetchStats(): KeyFetchStats {
    const total = addKeyFetchStats(emptyKeyFetchStats(), this.replacedThreadsStats);
    return addKeyFetchStats(addKeyFetchStats(total, this.threadStats), this.inline.keyFetchStats);
  }

  run(frame: Buffer): void {
    readJobs(frame, this.route);
    this.inline.flush();
    if (this.forThread.length > 0)
      this.thread.postMessage({ jobs: this.forThread.take(Command.Jobs) } satisfies ToThread);
  }

  private readonly route = (id: number, deadline: number, kind: string, body: Buffer): void => {
    if (INLINE_KINDS.has(kind)) return this.inline.run(id, deadline, kind, body);
    this.held.set(id, deadline);
    this.forThread.push(id, deadline, kind, body);
  };

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    await this.thread.terminate();
  }

  private startThread(): Worker {
    const data: ExecutorThreadData = { config: this.options.config, tickMs: TICK_MS };
    const thread = new Worker(THREAD_URL, { workerData: data });
    thread.on('message', (message: FromThread) => this.onThreadMessage(message));
    thread.on('error', (err) => {
      this.options.log.error({ err: err.message }, 'job thread failed: replacing it');
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
    for (const [id, deadline] of this.held) {
      const status = deadline <= now ? Status.Expired : Status.Retry;
      this.options.log.warn({ jobId: id, status: statusName(status) }, 'job thread replaced: job given back');
      answers.push(id, status);
    }
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
