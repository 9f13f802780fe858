import type { Logger, ReadyInfo } from '@tokenserver/shared';
import { Status } from '@tokenserver/shared';
import { JobQueue } from './job-queue.js';

// The broker's scheduling, free of sockets: which worker gets which job, and what the client hears.
// Every job gets exactly one reply through `sink.reply`; the broker's socket code only moves bytes.

export interface Job {
  /** The broker's own id, the one workers see. */
  readonly id: number;
  readonly client: Buffer;
  /** `client` as a map key, computed once per incoming message. */
  readonly clientKey: string;
  readonly clientJobId: number;
  readonly kind: string;
  readonly deadline: number;
  readonly body: Buffer;
  /** Dispatches so far. */
  attempts: number;
  worker: WorkerRecord | undefined;
  /** Arrival order, to serve the oldest job first across kinds. */
  readonly seq: number;
  /** When it entered a queue (0 when dispatched at once). */
  queuedAt: number;
}

export interface WorkerRecord {
  readonly id: Buffer;
  readonly key: string;
  readonly name: string;
  readonly kinds: ReadonlySet<string>;
  readonly credit: number;
  readonly jobs: Set<Job>;
  lastSeen: number;
  /** LRU clock value of its last dispatch. */
  lastUsed: number;
  /** Said DISCONNECT: finishes what it has, gets nothing new. */
  leaving: boolean;
  /** Said PAUSE (its job thread is stalled): skipped, but still counted live, until READY. */
  paused: boolean;
}

export interface SchedulerSink {
  dispatch(worker: WorkerRecord, job: Job): void;
  reply(job: Job, status: Status, body?: Buffer): void;
}

export interface SchedulerOptions {
  maxQueue: number;
  maxAttempts: number;
  /** A worker silent this long is dropped. */
  workerExpiryMs: number;
  /**
   * When the last worker of a kind was lost this recently, its jobs wait in the queue for a worker to
   * (re)register instead of failing at once: a worker restart is not an outage.
   */
  noWorkerGraceMs: number;
}

/** Running totals since start, read by the metrics endpoint (plain numbers: free on the hot path). */
export interface SchedulerCounters {
  submitted: number;
  dispatched: number;
  /** Jobs given to another worker after theirs died, was dropped, or could not run them. */
  retried: number;
  busy: number;
  expired: number;
  noWorker: number;
  workerLost: number;
  /** Workers dropped for missing heartbeats or being unreachable. */
  workersDropped: number;
  /** Time jobs spent queued before dispatch, summed, and how many were queued. */
  queueWaitMsTotal: number;
  queuedJobs: number;
}

export interface SchedulerStats {
  liveWorkers: number;
  pausedWorkers: number;
  queued: number;
  inFlight: number;
}

export class Scheduler {
  private readonly workers = new Map<string, WorkerRecord>();
  private readonly queues = new Map<string, JobQueue<Job>>();
  private readonly inFlight = new Map<number, Job>();
  /** Kind → when its last live worker went away (kinds never served are absent). */
  private readonly lostAt = new Map<string, number>();
  private queued = 0;
  private nextJobId = 1;
  private seq = 0;
  private lruClock = 0;
  /** False once shutdown began: new jobs are answered BUSY. */
  accepting = true;
  readonly counters: SchedulerCounters = {
    submitted: 0,
    dispatched: 0,
    retried: 0,
    busy: 0,
    expired: 0,
    noWorker: 0,
    workerLost: 0,
    workersDropped: 0,
    queueWaitMsTotal: 0,
    queuedJobs: 0,
  };

  /** `log` gets a line keyed by job id for each job that does not simply run: retried, rejected, expired, lost. */
  constructor(
    private readonly options: SchedulerOptions,
    private readonly sink: SchedulerSink,
    private readonly log: Logger,
  ) {}

  stats(): SchedulerStats {
    let liveWorkers = 0;
    let pausedWorkers = 0;
    for (const worker of this.workers.values()) {
      if (worker.leaving) continue;
      liveWorkers++;
      if (worker.paused) pausedWorkers++;
    }
    return { liveWorkers, pausedWorkers, queued: this.queued, inFlight: this.inFlight.size };
  }

  get idle(): boolean {
    return this.queued === 0 && this.inFlight.size === 0;
  }

  submit(
    client: Buffer,
    clientKey: string,
    clientJobId: number,
    kind: string,
    deadline: number,
    body: Buffer,
    now: number,
  ): void {
    const job: Job = {
      id: this.takeJobId(),
      client,
      clientKey,
      clientJobId,
      kind,
      deadline,
      body,
      attempts: 0,
      worker: undefined,
      seq: this.seq++,
      queuedAt: 0,
    };
    this.counters.submitted++;
    if (!this.accepting) return this.answer(job, Status.Busy);
    if (deadline <= now) return this.answer(job, Status.Expired);
    const worker = this.pickWorker(kind);
    if (worker) return this.assign(worker, job);
    if (!this.hasLiveWorkerFor(kind) && !this.inGrace(kind, now)) return this.answer(job, Status.NoWorker);
    if (this.queued >= this.options.maxQueue) return this.answer(job, Status.Busy);
    this.enqueue(job, false, now);
  }

  /** READY: a new worker, or a known one re-registering (its in-flight jobs stand). */
  ready(id: Buffer, key: string, info: ReadyInfo, now: number): void {
    const known = this.workers.get(key);
    const worker: WorkerRecord = {
      id,
      key,
      name: info.name,
      kinds: new Set(info.kinds),
      credit: info.credit,
      jobs: known?.jobs ?? new Set(),
      lastSeen: now,
      lastUsed: known?.lastUsed ?? 0,
      leaving: false,
      paused: false,
    };
    for (const job of worker.jobs) job.worker = worker;
    this.workers.set(key, worker);
    this.pump(worker, now);
  }

  /** Any message from a worker proves it alive. Returns false for a worker the broker does not know. */
  touch(key: string, now: number): boolean {
    const worker = this.workers.get(key);
    if (!worker) return false;
    worker.lastSeen = now;
    return true;
  }

  /** A result from a worker. Results for jobs it no longer holds (requeued elsewhere) are dropped. */
  done(key: string, jobId: number, status: Status, body: Buffer, now: number): void {
    const worker = this.workers.get(key);
    const job = this.inFlight.get(jobId);
    if (!worker || !job || job.worker !== worker) return;
    worker.jobs.delete(job);
    if (status === Status.Retry) this.retry(job, now);
    else this.finish(job, status, body);
  }

  /** Called after a batch of results: gives the worker's freed credit to queued jobs. */
  refill(key: string, now: number): void {
    const worker = this.workers.get(key);
    if (worker) this.pump(worker, now);
  }

  leaving(key: string, now = Date.now()): void {
    const worker = this.workers.get(key);
    if (!worker) return;
    worker.leaving = true;
    this.noteLostKinds(worker, now);
  }

  pause(key: string): void {
    const worker = this.workers.get(key);
    if (worker) worker.paused = true;
  }

  /** The worker is gone (expired, unreachable): every job it held goes to another worker. */
  dropWorker(key: string, now: number): void {
    const worker = this.workers.get(key);
    if (!worker) return;
    this.workers.delete(key);
    this.counters.workersDropped++;
    this.noteLostKinds(worker, now);
    const jobs = [...worker.jobs].sort((a, b) => b.seq - a.seq);
    for (const job of jobs) this.retry(job, now);
  }

  /** Periodic: drop silent workers, answer EXPIRED for queued jobs past their deadline. */
  expire(now: number): string[] {
    const dropped: string[] = [];
    for (const worker of this.workers.values()) {
      if (now - worker.lastSeen > this.options.workerExpiryMs) dropped.push(worker.key);
    }
    for (const key of dropped) this.dropWorker(key, now);
    for (const [kind, queue] of this.queues) {
      const expired = queue.removeWhere((job) => job.deadline <= now);
      this.queued -= expired.length;
      for (const job of expired) this.answer(job, Status.Expired);
      if (queue.length > 0 && !this.hasLiveWorkerFor(kind) && !this.inGrace(kind, now)) {
        const stranded = queue.removeWhere(() => true);
        this.queued -= stranded.length;
        for (const job of stranded) this.answer(job, Status.NoWorker);
      }
    }
    return dropped;
  }

  workersToHeartbeat(): IterableIterator<WorkerRecord> {
    return this.workers.values();
  }

  /** Shutdown past its grace period: every job still held is answered BUSY. */
  abandonAll(): void {
    for (const queue of this.queues.values())
      for (const job of queue.removeWhere(() => true)) this.finish(job, Status.Busy);
    this.queued = 0;
    for (const job of [...this.inFlight.values()]) this.finish(job, Status.Busy);
  }

  private takeJobId(): number {
    const id = this.nextJobId;
    this.nextJobId = id === 0xffffffff ? 1 : id + 1;
    return id;
  }

  private retry(job: Job, now: number): void {
    const lostWorker = job.worker?.name;
    job.worker = undefined;
    this.inFlight.delete(job.id);
    if (job.attempts >= this.options.maxAttempts) return this.answer(job, Status.WorkerLost);
    if (job.deadline <= now) return this.answer(job, Status.Expired);
    this.counters.retried++;
    this.log.warn({ ...jobFields(job), lostWorker }, 'job re-dispatched: its worker was lost or could not run it');
    const worker = this.pickWorker(job.kind);
    if (worker) this.assign(worker, job);
    else if (this.hasLiveWorkerFor(job.kind) || this.inGrace(job.kind, now)) this.enqueue(job, true, now);
    else this.answer(job, Status.NoWorker);
  }

  private finish(job: Job, status: Status, body?: Buffer): void {
    this.inFlight.delete(job.id);
    job.worker?.jobs.delete(job);
    job.worker = undefined;
    this.sink.reply(job, status, body);
  }

  /** A reply that is not a worker's result: counted by status, and logged. */
  private answer(job: Job, status: Status): void {
    if (status === Status.Busy) {
      this.counters.busy++;
      this.log.warn(
        jobFields(job),
        this.accepting ? 'job rejected BUSY: queue full' : 'job rejected BUSY: shutting down',
      );
    } else if (status === Status.Expired) {
      this.counters.expired++;
      this.log.info(jobFields(job), 'job expired: its deadline passed before a worker ran it');
    } else if (status === Status.NoWorker) {
      this.counters.noWorker++;
      this.log.warn(jobFields(job), 'job answered NO_WORKER: no live worker serves its kind');
    } else if (status === Status.WorkerLost) {
      this.counters.workerLost++;
      this.log.warn(jobFields(job), 'job answered WORKER_LOST: it lost its worker max_attempts times');
    }
    this.sink.reply(job, status);
  }

  private assign(worker: WorkerRecord, job: Job, now = 0): void {
    if (job.queuedAt > 0) {
      this.counters.queueWaitMsTotal += Math.max(0, now - job.queuedAt);
      this.counters.queuedJobs++;
      job.queuedAt = 0;
    }
    this.counters.dispatched++;
    job.attempts++;
    job.worker = worker;
    worker.jobs.add(job);
    worker.lastUsed = ++this.lruClock;
    this.inFlight.set(job.id, job);
    this.sink.dispatch(worker, job);
  }

  /** The least recently used worker with free credit that serves `kind`. */
  private pickWorker(kind: string): WorkerRecord | undefined {
    let best: WorkerRecord | undefined;
    for (const worker of this.workers.values()) {
      if (worker.leaving || worker.paused || worker.jobs.size >= worker.credit || !worker.kinds.has(kind)) continue;
      if (!best || worker.lastUsed < best.lastUsed) best = worker;
    }
    return best;
  }

  /** Records when a kind lost its last live worker. */
  private noteLostKinds(gone: WorkerRecord, now: number): void {
    for (const kind of gone.kinds) if (!this.hasLiveWorkerFor(kind)) this.lostAt.set(kind, now);
  }

  private inGrace(kind: string, now: number): boolean {
    const lost = this.lostAt.get(kind);
    return lost !== undefined && now - lost < this.options.noWorkerGraceMs;
  }

  private hasLiveWorkerFor(kind: string): boolean {
    for (const worker of this.workers.values()) if (!worker.leaving && worker.kinds.has(kind)) return true;
    return false;
  }

  private enqueue(job: Job, front: boolean, now: number): void {
    job.queuedAt = now || 1;
    let queue = this.queues.get(job.kind);
    if (!queue) {
      queue = new JobQueue<Job>();
      this.queues.set(job.kind, queue);
    }
    if (front) queue.unshift(job);
    else queue.push(job);
    this.queued++;
  }

  /** Fills the worker's free credit from the queues of its kinds, oldest job first. */
  private pump(worker: WorkerRecord, now: number): void {
    if (this.queued === 0 || worker.leaving || worker.paused) return;
    while (worker.jobs.size < worker.credit) {
      const queue = this.oldestQueueFor(worker);
      if (!queue) return;
      const job = queue.shift() as Job;
      this.queued--;
      if (job.deadline <= now) this.answer(job, Status.Expired);
      else this.assign(worker, job, now);
    }
  }

  private oldestQueueFor(worker: WorkerRecord): JobQueue<Job> | undefined {
    let best: JobQueue<Job> | undefined;
    let bestSeq = Number.POSITIVE_INFINITY;
    for (const kind of worker.kinds) {
      const head = this.queues.get(kind)?.peek();
      if (head && head.seq < bestSeq) {
        bestSeq = head.seq;
        best = this.queues.get(kind);
      }
    }
    return best;
  }
}

/** The fields that identify a job in the broker's log lines; workers log the same `jobId`. */
export function jobFields(job: Job): { jobId: number; clientJobId: number; kind: string; attempts: number } {
  return { jobId: job.id, clientJobId: job.clientJobId, kind: job.kind, attempts: job.attempts };
}
