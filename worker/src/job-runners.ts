// Runs jobs and collects their results into DONE frames: the same code in the job thread and, for
// inline kinds, in the socket thread. Zeromq-free (it runs in the job thread; see shared/src/index.ts).
import { Command, type Config, type Logger, ResultBatch, Status, statusName } from '@tokenserver/shared';
import { emptyKeyFetchStats, type KeyFetchStats } from './auth/key-fetch-stats.js';
import { type JobHandler, type JobRunner, MalformedJobError } from './jobs/job-handler.js';

/** Results leave in chunks, so the broker relays the first ones while later jobs still run. */
const CHUNK = 64;

export class JobRunners {
  readonly keyFetchStats: KeyFetchStats = emptyKeyFetchStats();
  private readonly runners: Map<string, JobRunner>;
  private readonly results = new ResultBatch();
  private flushScheduled = false;
  private running = 0;
  private finished = 0;
  /** Whether per-job debug lines are wanted (the level is fixed for the process's life). */
  private readonly traceJobs: boolean;

  /** `sendDone` gets each DONE frame; `log` a line keyed by job id for each failed job (and each job at debug). */
  constructor(
    handlers: readonly JobHandler[],
    private readonly config: Config,
    private readonly sendDone: (frame: Buffer) => void,
    private readonly log: Logger,
  ) {
    this.traceJobs = log.isLevelEnabled('debug');
    this.runners = new Map(handlers.map((handler) => [handler.kind, this.createRunner(handler)]));
  }

  /** Jobs started and not yet answered (async ones waiting on I/O). */
  get pending(): number {
    return this.running;
  }

  get completed(): number {
    return this.finished;
  }

  /** Runs one job; its result goes out with the next flush. */
  readonly run = (id: number, deadline: number, kind: string, body: Buffer): void => {
    if (this.results.length >= CHUNK) this.flush();
    if (this.traceJobs) this.log.debug({ jobId: id, kind }, 'job started');
    if (deadline <= Date.now()) return this.push(id, kind, Status.Expired);
    const run = this.runners.get(kind);
    if (!run) return this.push(id, kind, Status.BadJob, Buffer.from(`unknown job kind ${kind}`));
    try {
      const answer = run(body, deadline);
      if (answer instanceof Promise) {
        this.running++;
        answer.then(
          (value) => this.finishLater(id, kind, Status.Ok, value),
          (err) => this.finishLater(id, kind, ...statusOf(err)),
        );
      } else this.push(id, kind, Status.Ok, answer);
    } catch (err) {
      this.push(id, kind, ...statusOf(err));
    }
  };

  /** Sends the results collected so far as one DONE frame. */
  readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.results.length > 0) this.sendDone(this.results.take(Command.Done));
  };

  private push(id: number, kind: string, status: Status, body?: Buffer): void {
    this.finished++;
    this.results.push(id, status, body);
    if (status === Status.Error || status === Status.BadJob) {
      this.log.warn({ jobId: id, kind, status: statusName(status), err: String(body) }, 'job failed');
    } else if (status === Status.Expired) {
      this.log.info({ jobId: id, kind }, 'job expired before it started');
    } else if (this.traceJobs) {
      this.log.debug({ jobId: id, kind, status: statusName(status) }, 'job finished');
    }
  }

  private finishLater(id: number, kind: string, status: Status, body: Buffer): void {
    this.running--;
    this.push(id, kind, status, body);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** A handler that cannot start (say, a missing secret) fails its jobs with the reason, not the thread. */
  private createRunner(handler: JobHandler): JobRunner {
    try {
      return handler.create(this.config, { keyFetchStats: this.keyFetchStats });
    } catch (err) {
      const reason = `${handler.kind} jobs cannot run: ${(err as Error).message}`;
      this.log.error(reason);
      return () => {
        throw new Error(reason);
      };
    }
  }
}

function statusOf(err: unknown): [Status, Buffer] {
  const message = Buffer.from(err instanceof Error ? err.message : String(err));
  return [err instanceof MalformedJobError ? Status.BadJob : Status.Error, message];
}
