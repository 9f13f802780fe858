import {
  type BrokerConfig,
  type BrokerEndpoints,
  Command,
  decodeReady,
  encodeControl,
  encodePong,
  JobBatch,
  type Logger,
  ProtocolError,
  ResultBatch,
  readCommand,
  readJobs,
  readResults,
  type SecurityConfig,
  type Status,
  statusName,
} from '@tokenserver/shared';
import { curveServerOptions } from '@tokenserver/shared/curve';
import { SerialSender } from '@tokenserver/shared/serial-sender';
import { Router } from 'zeromq';
import { type Job, jobFields, Scheduler, type SchedulerSink, type WorkerRecord } from './scheduler.js';
import { ZapDomain, ZapHandler } from './zap.js';

interface Outgoing<B> {
  peer: Buffer;
  batch: B;
}

/**
 * The broker process's sockets: a ROUTER for clients (frontend), a ROUTER for workers (backend),
 * one receive loop each. Jobs and results are batched per peer and flushed once per event-loop turn.
 */
export class Broker implements SchedulerSink {
  private readonly frontend: Router;
  private readonly backend: Router;
  private readonly toClients: SerialSender;
  private readonly toWorkers: SerialSender;
  private readonly scheduler: Scheduler;
  private readonly jobsFor = new Map<string, Outgoing<JobBatch>>();
  private readonly resultsFor = new Map<string, Outgoing<ResultBatch>>();
  private readonly dirtyWorkers: Outgoing<JobBatch>[] = [];
  private readonly dirtyClients: Outgoing<ResultBatch>[] = [];
  private flushScheduled = false;
  /** Whether per-job debug lines are wanted (the level is fixed for the process's life). */
  private readonly traceJobs: boolean;
  private ticker: NodeJS.Timeout | undefined;
  private readonly zap: ZapHandler | undefined;
  /** When a client (web front) last sent anything: they ping every heartbeat interval. */
  private lastClientFrameAt = 0;
  private stopping = false;

  constructor(
    private readonly config: BrokerConfig,
    private readonly endpoints: BrokerEndpoints,
    private readonly log: Logger,
    security: SecurityConfig = NO_SECURITY,
  ) {
    this.traceJobs = log.isLevelEnabled('debug');
    const common = {
      linger: 0,
      mandatory: true,
      sendTimeout: 0,
      sendHighWaterMark: 10000,
      receiveHighWaterMark: 10000,
      maxMessageSize: config.max_message_bytes,
      heartbeatInterval: config.heartbeat_interval_ms,
      heartbeatTimeout: config.heartbeat_interval_ms * config.heartbeat_liveness,
      // A peer that has not finished the ZMTP/CURVE handshake by then is dropped.
      handshakeInterval: config.handshake_timeout_ms,
    };
    this.frontend = new Router({ ...common, ...curveServerOptions({ security }, ZapDomain.frontend) });
    this.backend = new Router({ ...common, ...curveServerOptions({ security }, ZapDomain.backend) });
    if (security.curve) {
      this.zap = new ZapHandler(
        { [ZapDomain.frontend]: security.allowed_client_keys, [ZapDomain.backend]: security.allowed_worker_keys },
        log,
      );
    }
    this.toClients = new SerialSender(this.frontend, (_message, err) => {
      this.log.debug({ err: err.message }, 'reply to a departed client dropped');
    });
    this.toWorkers = new SerialSender(this.backend, (message, err) => this.onWorkerUnreachable(message, err));
    this.scheduler = new Scheduler(
      {
        maxQueue: config.max_queue,
        maxAttempts: config.max_attempts,
        workerExpiryMs: config.heartbeat_interval_ms * config.heartbeat_liveness,
        noWorkerGraceMs: 2 * config.heartbeat_interval_ms * config.heartbeat_liveness,
      },
      this,
      log,
    );
  }

  /** Binds both sockets and starts serving. Rejects (EADDRINUSE…) without side effects on failure. */
  async start(): Promise<void> {
    await this.zap?.start();
    await this.frontend.bind(this.endpoints.frontend);
    await this.backend.bind(this.endpoints.backend);
    this.ticker = setInterval(() => this.tick(), this.config.heartbeat_interval_ms);
    void this.receive(this.frontend, 'client', (peer, frame) => this.handleClient(peer, frame));
    void this.receive(this.backend, 'worker', (peer, frame) => this.handleWorker(peer, frame));
    this.log.info({ frontend: this.endpoints.frontend, backend: this.endpoints.backend }, 'broker listening');
  }

  stats() {
    return this.scheduler.stats();
  }

  /** Running totals for the metrics endpoint. */
  get counters() {
    return this.scheduler.counters;
  }

  /**
   * SIGTERM: while clients are still connected (within the grace period) serve as usual, keeping even workers that
   * say they are leaving: when the whole stack is signalled at once, the web front is still finishing requests
   * that need jobs run. Then answer new jobs BUSY, let in-flight jobs finish, and close.
   */
  async stop(graceMs = this.config.shutdown_grace_ms): Promise<void> {
    this.stopping = true;
    const deadline = Date.now() + graceMs;
    while (this.clientsConnected() && Date.now() < deadline) await sleep(20);
    this.scheduler.accepting = false;
    const drainDeadline = Math.max(deadline, Date.now() + MIN_DRAIN_MS);
    while (!this.scheduler.idle && Date.now() < drainDeadline) await sleep(20);
    if (!this.scheduler.idle) {
      this.log.warn(this.scheduler.stats(), 'grace period over: abandoning jobs still held');
      this.scheduler.abandonAll();
    }
    this.flush();
    for (const worker of this.scheduler.workersToHeartbeat()) this.toWorkers.send([worker.id, DISCONNECT]);
    await sleep(20); // let the last replies leave the process
    clearInterval(this.ticker);
    this.frontend.close();
    this.backend.close();
    this.zap?.close();
  }

  // SchedulerSink: called synchronously by the scheduler; bytes leave at the next flush.

  dispatch(worker: WorkerRecord, job: Job): void {
    let out = this.jobsFor.get(worker.key);
    if (!out) {
      out = { peer: worker.id, batch: new JobBatch() };
      this.jobsFor.set(worker.key, out);
    }
    if (out.batch.length === 0) this.dirtyWorkers.push(out);
    if (this.traceJobs) this.log.debug({ ...jobFields(job), worker: worker.name }, 'job dispatched');
    out.batch.push(job.id, job.deadline, job.kind, job.body);
    if (out.batch.length >= MAX_BATCH) this.toWorkers.send([out.peer, out.batch.take(Command.Jobs)]);
    this.scheduleFlush();
  }

  reply(job: Job, status: Status, body?: Buffer): void {
    let out = this.resultsFor.get(job.clientKey);
    if (!out) {
      out = { peer: job.client, batch: new ResultBatch() };
      this.resultsFor.set(job.clientKey, out);
    }
    if (out.batch.length === 0) this.dirtyClients.push(out);
    if (this.traceJobs) this.log.debug({ ...jobFields(job), status: statusName(status) }, 'job answered');
    out.batch.push(job.clientJobId, status, body);
    if (out.batch.length >= MAX_BATCH) this.toClients.send([out.peer, out.batch.take(Command.Result)]);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    for (const out of this.dirtyWorkers) {
      if (out.batch.length > 0) this.toWorkers.send([out.peer, out.batch.take(Command.Jobs)]);
    }
    for (const out of this.dirtyClients) {
      if (out.batch.length > 0) this.toClients.send([out.peer, out.batch.take(Command.Result)]);
    }
    this.dirtyWorkers.length = 0;
    this.dirtyClients.length = 0;
    // Peers come and go (random routing ids); forget idle ones so the maps stay small.
    if (this.resultsFor.size > 4096) this.resultsFor.clear();
    if (this.jobsFor.size > 4096) this.jobsFor.clear();
  };

  /** One receive loop per socket: each message is handled synchronously; a malformed one is logged and dropped. */
  private async receive(socket: Router, side: 'client' | 'worker', handle: (peer: Buffer, frame: Buffer) => void) {
    for await (const [peer, frame, extra] of socket) {
      try {
        if (!frame || extra) throw new ProtocolError('expected exactly one frame after the routing id');
        handle(peer as Buffer, frame as Buffer);
      } catch (err) {
        const reason = (err as Error).message;
        this.log.warn({ err: reason, peer: (peer as Buffer).toString('hex') }, `dropped malformed ${side} frame`);
      }
    }
  }

  private clientsConnected(): boolean {
    return Date.now() - this.lastClientFrameAt < this.config.heartbeat_interval_ms * this.config.heartbeat_liveness;
  }

  private handleClient(peer: Buffer, frame: Buffer): void {
    const command = readCommand(frame);
    const now = Date.now();
    this.lastClientFrameAt = now;
    if (command === Command.Submit) {
      const key = peer.toString('latin1');
      readJobs(frame, (id, deadline, kind, body) => this.scheduler.submit(peer, key, id, kind, deadline, body, now));
    } else if (command === Command.Ping) {
      this.toClients.send([peer, encodePong(this.scheduler.stats())]);
    } else throw new ProtocolError(`unexpected command 0x${command.toString(16)} from a client`);
  }

  private handleWorker(peer: Buffer, frame: Buffer): void {
    const command = readCommand(frame);
    const key = peer.toString('latin1');
    const now = Date.now();
    if (command === Command.Ready) {
      const info = decodeReady(frame);
      this.scheduler.ready(peer, key, info, now);
      this.log.info({ worker: info.name, kinds: info.kinds, credit: info.credit }, 'worker ready');
      return;
    }
    if (!this.scheduler.touch(key, now)) {
      // Unknown worker (the broker restarted, or dropped it): it must register again.
      if (command !== Command.Disconnect) this.toWorkers.send([peer, DISCONNECT]);
      return;
    }
    if (command === Command.Done) {
      readResults(frame, (id, status, body) => this.scheduler.done(key, id, status, body, now));
      this.scheduler.refill(key, now);
    } else if (command === Command.Pause) {
      this.scheduler.pause(key);
    } else if (command === Command.Disconnect) {
      // Stopping: the broker disconnects every worker itself once its clients are done.
      if (this.stopping) return;
      this.scheduler.leaving(key);
      this.log.info({ worker: peer.toString('hex') }, 'worker leaving');
    } else if (command !== Command.Heartbeat) {
      throw new ProtocolError(`unexpected command 0x${command.toString(16)} from a worker`);
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const key of this.scheduler.expire(now)) {
      this.log.warn(
        { worker: Buffer.from(key, 'latin1').toString('hex') },
        'worker silent too long: dropped, jobs requeued',
      );
    }
    for (const worker of this.scheduler.workersToHeartbeat()) this.toWorkers.send([worker.id, HEARTBEAT]);
  }

  private onWorkerUnreachable(message: Buffer | Buffer[], err: Error): void {
    const peer = (message as Buffer[])[0] as Buffer;
    this.log.warn({ err: err.message, worker: peer.toString('hex') }, 'worker unreachable: dropped, jobs requeued');
    this.scheduler.dropWorker(peer.toString('latin1'), Date.now());
  }
}

const MAX_BATCH = 64;
/** Jobs still in flight when the clients are gone get at least this long, even past the grace period. */
const MIN_DRAIN_MS = 1000;
const NO_SECURITY: SecurityConfig = {
  curve: false,
  broker_public_key: '',
  key_file: '',
  allowed_client_keys: [],
  allowed_worker_keys: [],
};
const HEARTBEAT = encodeControl(Command.Heartbeat);
const DISCONNECT = encodeControl(Command.Disconnect);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
