import { hostname } from 'node:os';
import {
  Command,
  type Config,
  encodeControl,
  encodeReady,
  type Logger,
  ProtocolError,
  readCommand,
} from '@tokenserver/shared';
import { createBrokerPeerSocket } from '@tokenserver/shared/broker-peer-socket';
import { curveClientOptions } from '@tokenserver/shared/curve';
import { SerialSender } from '@tokenserver/shared/serial-sender';
import type { Dealer } from 'zeromq';
import type { KeyFetchStats } from './auth/key-fetch-stats.js';
import { Executor } from './executor.js';
import { jobKinds } from './jobs/index.js';

export interface WorkerProcessOptions {
  config: Config;
  backend: string;
  log: Logger;
  /** Recycle after this many jobs (0 = never). */
  maxJobs: number;
  /** Recycle after this many milliseconds (0 = never). */
  maxAgeMs: number;
  /** Told when the process starts draining, so a supervisor can start its replacement. */
  onDraining?: () => void;
  /**
   * Under a supervisor: told once when max jobs or max age is reached. The process keeps serving; the supervisor
   * starts its replacement and sends SIGTERM once that one is registered, so the kind is never without a worker.
   * Without it, the process drains at once.
   */
  onRecycleDue?: (reason: string) => void;
  /** Told once READY has gone to the broker. */
  onStarted?: () => void;
  /** Given the job thread's key-fetch figures every second, for the supervisor's metrics. */
  onStats?: (keyFetchStats: KeyFetchStats) => void;
}

/**
 * One worker process's link to the broker: READY on start and whenever the broker does not know
 * it, heartbeats from the socket thread (so they flow while a job runs), jobs handed to the
 * job thread, DONE frames passed back. Draining says DISCONNECT and waits for held jobs.
 */
export class WorkerProcess {
  private readonly socket: Dealer;
  private readonly sender: SerialSender;
  private readonly executor: Executor;
  private readonly ready: Buffer;
  private readonly heartbeatMs: number;
  private readonly brokerExpiryMs: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private lastHeardFromBroker = Date.now();
  private draining = false;
  private drained: Promise<void> | undefined;
  private lastJobsAt = 0;
  private brokerDisconnected = false;
  private recycleRequested = false;
  private paused = false;

  constructor(private readonly options: WorkerProcessOptions) {
    const { broker, worker } = options.config;
    this.heartbeatMs = broker.heartbeat_interval_ms;
    this.brokerExpiryMs = broker.heartbeat_interval_ms * broker.heartbeat_liveness;
    this.socket = createBrokerPeerSocket({
      heartbeatIntervalMs: broker.heartbeat_interval_ms,
      heartbeatLiveness: broker.heartbeat_liveness,
      maxMessageBytes: broker.max_message_bytes,
      curve: curveClientOptions(options.config),
    });
    this.sender = new SerialSender(this.socket, () => {}); // nothing to do: the broker re-sends what it misses
    this.ready = encodeReady({
      credit: worker.concurrency,
      kinds: [...jobKinds],
      name: `${hostname()}:${process.pid}`,
    });
    this.executor = new Executor(
      {
        config: options.config,
        log: options.log,
        hungJobGraceMs: worker.hung_job_grace_ms,
        stallMs: Math.max(250, this.heartbeatMs / 2),
      },
      {
        onDone: (frame) => this.afterDone(frame),
        onStallChange: (stalled) => this.onStallChange(stalled),
      },
    );
  }

  /** Connects, and says READY once the job thread can take jobs. */
  async start(): Promise<void> {
    this.socket.connect(this.options.backend);
    await this.executor.up;
    this.sender.send(this.ready);
    this.timers.push(setInterval(() => this.heartbeat(), this.heartbeatMs));
    if (this.options.onStats) {
      const report = this.options.onStats;
      this.timers.push(setInterval(() => report(this.executor.keyFetchStats()), STATS_INTERVAL_MS));
    }
    if (this.options.maxAgeMs > 0) {
      this.timers.push(setTimeout(() => this.recycleDue('max age reached'), this.options.maxAgeMs));
    }
    void this.receiveLoop();
    this.options.log.info({ backend: this.options.backend, kinds: jobKinds }, 'worker started');
    this.options.onStarted?.();
  }

  /**
   * Stops taking jobs, waits for held ones (bounded), then closes. Resolves when closed, for every caller: a second
   * stop (a signal during a drain begun by the supervisor's going away) waits for the same drain.
   */
  drain(reason: string, graceMs = this.options.config.broker.shutdown_grace_ms): Promise<void> {
    this.drained ??= this.runDrain(reason, graceMs);
    return this.drained;
  }

  private async runDrain(reason: string, graceMs: number): Promise<void> {
    this.draining = true;
    this.options.log.info({ reason, holding: this.executor.holding }, 'draining');
    this.options.onDraining?.();
    this.sender.send(DISCONNECT);
    const deadline = Date.now() + graceMs;
    while ((this.executor.holding > 0 || this.brokerStillSending()) && Date.now() < deadline) await sleep(10);
    await sleep(20); // let the last DONE frame leave
    for (const timer of this.timers) clearInterval(timer);
    await this.executor.close();
    this.socket.close();
  }

  private async receiveLoop(): Promise<void> {
    for await (const [frame] of this.socket) {
      this.lastHeardFromBroker = Date.now();
      try {
        this.handle(readCommand(frame as Buffer), frame as Buffer);
      } catch (err) {
        this.options.log.warn({ err: (err as Error).message }, 'dropped malformed broker frame');
      }
    }
  }

  /**
   * A broker that is itself stopping keeps sending jobs to a draining worker (its web fronts are finishing
   * requests): serve them until it says DISCONNECT or stops sending. Any other broker sends nothing after ours.
   */
  private brokerStillSending(): boolean {
    return !this.brokerDisconnected && Date.now() - this.lastJobsAt < this.brokerExpiryMs;
  }

  private handle(command: Command, frame: Buffer): void {
    if (command === Command.Jobs) {
      this.lastJobsAt = Date.now();
      this.executor.run(frame);
    } else if (command === Command.Disconnect) {
      this.brokerDisconnected = this.draining;
      // The broker does not know us (it restarted, or thought us dead): register again.
      if (!this.draining && !this.paused) this.sender.send(this.ready);
    } else if (command !== Command.Heartbeat) {
      throw new ProtocolError(`unexpected command 0x${command.toString(16)} from the broker`);
    }
  }

  private heartbeat(): void {
    const silentFor = Date.now() - this.lastHeardFromBroker;
    // A silent broker may be a new one that never heard of us: READY doubles as the probe.
    this.sender.send(silentFor > this.brokerExpiryMs && !this.draining && !this.paused ? this.ready : HEARTBEAT);
  }

  private afterDone(frame: Buffer): void {
    this.sender.send(frame);
    const { maxJobs } = this.options;
    if (maxJobs > 0 && this.executor.jobsCompleted >= maxJobs) this.recycleDue('max jobs reached');
  }

  private recycleDue(reason: string): void {
    if (this.draining || this.recycleRequested) return;
    const { onRecycleDue } = this.options;
    if (!onRecycleDue) return void this.drain(reason);
    this.recycleRequested = true;
    this.options.log.info({ reason }, 'recycle due: serving until the replacement is up');
    onRecycleDue(reason);
  }

  /** A stalled job thread takes no new jobs: the broker is told to skip us until it recovers. */
  private onStallChange(stalled: boolean): void {
    if (this.draining) return;
    this.paused = stalled;
    this.sender.send(stalled ? PAUSE : this.ready);
    this.options.log.warn({ stalled }, stalled ? 'job thread stalled: paused' : 'job thread recovered: resumed');
  }
}

const STATS_INTERVAL_MS = 1000;
const HEARTBEAT = encodeControl(Command.Heartbeat);
const DISCONNECT = encodeControl(Command.Disconnect);
const PAUSE = encodeControl(Command.Pause);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
