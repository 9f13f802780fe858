import type { Dealer } from 'zeromq';
import { createBrokerPeerSocket } from './broker-peer-socket.js';
import type { CurveClientOptions } from './curve.js';
import { DeadlineSweeper } from './deadline-sweeper.js';
import {
  BadJobError,
  BrokerBusyError,
  BrokerUnavailableError,
  ClientClosedError,
  JobExpiredError,
  JobFailedError,
  JobTimeoutError,
  NoWorkerError,
  type PowerhoseError,
  ProtocolError,
  WorkerLostError,
} from './errors.js';
import {
  Command,
  decodePong,
  encodeControl,
  JobBatch,
  type PongInfo,
  readCommand,
  readJobs,
  readResults,
  Status,
} from './protocol.js';
import { SerialSender } from './serial-sender.js';

export interface PowerhoseClientOptions {
  /** The broker's frontend endpoint (`ipc://…` or `tcp://…`). */
  endpoint: string;
  /** Deadline of a job when `submit` is given none. */
  defaultTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatLiveness: number;
  maxMessageBytes: number;
  /** Called for frames that break the protocol; they are dropped. */
  onProtocolError?: (error: Error) => void;
  /** CURVE keys when the broker requires them (see curveClientOptions). */
  curve?: CurveClientOptions;
}

export interface BrokerStatus {
  /** A PONG arrived within the liveness window. */
  connected: boolean;
  /** Last PONG's figures, or undefined before the first one. */
  last?: PongInfo;
}

interface PendingJob {
  resolve: (body: Buffer) => void;
  reject: (error: PowerhoseError) => void;
  kind: string;
  deadline: number;
}

/** How late a job's timeout may fire: one sweep per this many milliseconds instead of a timer per job. */
const TIMEOUT_RESOLUTION_MS = 10;

/** Jobs per message: large enough to amortise a send, small enough to keep latency flat. */
const MAX_JOBS_PER_MESSAGE = 256;

/**
 * One DEALER per process, many jobs in flight. Jobs submitted in the same event-loop turn
 * leave in one message; each job is a promise settled by its reply, its deadline, or the
 * loss of the broker connection. Late replies for settled jobs are dropped.
 */
export class PowerhoseClient {
  private readonly socket: Dealer;
  private readonly sender: SerialSender;
  private readonly pending = new Map<number, PendingJob>();
  private readonly sweeper = new DeadlineSweeper(this.expire.bind(this), TIMEOUT_RESOLUTION_MS);
  private readonly batch = new JobBatch();
  private readonly heartbeat: NodeJS.Timeout;
  private nextId = 1;
  private flushScheduled = false;
  private lastPongAt = 0;
  private lastPong: PongInfo | undefined;
  private closed = false;

  constructor(private readonly options: PowerhoseClientOptions) {
    this.socket = createBrokerPeerSocket(options);
    this.sender = new SerialSender(this.socket, (message) => this.failMessage(message as Buffer));
    this.socket.events.on('disconnect', () =>
      this.failAll(() => new BrokerUnavailableError('lost the broker connection')),
    );
    this.socket.connect(options.endpoint);
    this.heartbeat = setInterval(() => this.sender.send(encodeControl(Command.Ping)), options.heartbeatIntervalMs);
    this.heartbeat.unref();
    this.sender.send(encodeControl(Command.Ping));
    void this.receiveLoop();
  }

  /** Number of jobs waiting for a reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  brokerStatus(): BrokerStatus {
    const window = this.options.heartbeatIntervalMs * this.options.heartbeatLiveness;
    return { connected: Date.now() - this.lastPongAt <= window, last: this.lastPong };
  }

  /** Sends a job of `kind`; resolves with the worker's reply body or rejects with a typed error. */
  submit(kind: string, body: Buffer, timeoutMs = this.options.defaultTimeoutMs): Promise<Buffer> {
    if (this.closed) return Promise.reject(new ClientClosedError('client is closed'));
    const id = this.nextId;
    this.nextId = id === 0xffffffff ? 1 : id + 1;
    return new Promise<Buffer>((resolve, reject) => {
      const now = Date.now();
      this.pending.set(id, { resolve, reject, kind, deadline: now + timeoutMs });
      this.sweeper.add(id, timeoutMs, now);
      this.batch.push(id, now + timeoutMs, kind, body);
      if (this.batch.length >= MAX_JOBS_PER_MESSAGE) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.sweeper.close();
    this.failAll(() => new ClientClosedError('client closed with the job in flight'));
    this.socket.close();
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.batch.length > 0) this.sender.send(this.batch.take(Command.Submit));
  };

  private async receiveLoop(): Promise<void> {
    try {
      for await (const [frame] of this.socket) this.handleFrame(frame as Buffer);
    } catch (err) {
      if (!this.closed) this.options.onProtocolError?.(err as Error);
    }
  }

  private handleFrame(frame: Buffer): void {
    try {
      const command = readCommand(frame);
      if (command === Command.Result) readResults(frame, this.onResult);
      else if (command === Command.Pong) {
        this.lastPong = decodePong(frame);
        this.lastPongAt = Date.now();
      } else throw new ProtocolError(`unexpected command 0x${command.toString(16)} from broker`);
    } catch (err) {
      this.options.onProtocolError?.(err as Error);
    }
  }

  private readonly onResult = (id: number, status: Status, body: Buffer): void => {
    if (status === Status.Ok) this.settle(id, body, undefined);
    else this.settle(id, undefined, errorForStatus(status, body));
  };

  private settle(id: number, body: Buffer | undefined, error: PowerhoseError | undefined): void {
    const job = this.pending.get(id);
    if (!job) return; // late reply for a job that already timed out
    this.pending.delete(id);
    if (error) job.reject(error);
    else job.resolve(body as Buffer);
  }

  private expire(id: number, deadline: number): void {
    const job = this.pending.get(id);
    // The deadline check keeps a wrapped-around id from expiring a newer job.
    if (job && job.deadline === deadline) this.settle(id, undefined, new JobTimeoutError(`${job.kind} job timed out`));
  }

  /** A SUBMIT that could not be queued (no broker connection, or its queue is full). */
  private failMessage(frame: Buffer): void {
    if (frame[1] !== Command.Submit) return; // a lost PING needs no answer
    readJobs(frame, (id) => this.settle(id, undefined, new BrokerUnavailableError('broker is not reachable')));
  }

  private failAll(makeError: () => PowerhoseError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, makeError());
  }
}

function errorForStatus(status: Status, body: Buffer): PowerhoseError {
  switch (status) {
    case Status.Busy:
      return new BrokerBusyError('broker queue is full');
    case Status.NoWorker:
      return new NoWorkerError('no live worker serves this job kind');
    case Status.Expired:
      return new JobExpiredError('job deadline passed before a worker took it');
    case Status.WorkerLost:
      return new WorkerLostError('every worker given this job died');
    case Status.BadJob:
      return new BadJobError(body.toString('utf8') || 'job rejected as malformed');
    case Status.Error:
      return new JobFailedError(body.toString('utf8'));
    default:
      return new ProtocolError(`unexpected status ${status}`);
  }
}
