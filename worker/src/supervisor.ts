import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from '@tokenserver/shared';
import { addKeyFetchStats, emptyKeyFetchStats, type KeyFetchStats } from './auth/key-fetch-stats.js';

export interface SupervisorOptions {
  processes: number;
  configPath?: string;
  /** Recycle each process after about this many jobs (0 = never). */
  maxJobs: number;
  /** Recycle each process after about this many seconds (0 = never). */
  maxAgeS: number;
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  /** How long children may drain on SIGTERM before they are killed. */
  stopGraceMs: number;
  log: Logger;
}

interface Slot {
  child: ChildProcess | undefined;
  startedAt: number;
  /** `child` said it started (its job thread is up): a kill from outside after that is not a crash loop. */
  childStarted: boolean;
  /** This slot's workers killed from outside before they started, in a row. */
  killedWhileStarting: number;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** The process being recycled: it serves until `child`, its replacement, has started. */
  retiring?: ChildProcess;
}

const WORKER_MAIN = new URL('./worker-main.js', import.meta.url);
/** A child that lived this long before dying restarts without backoff: it was not crash-looping. */
const STABLE_AFTER_MS = 2_000;
const JITTER = 0.1;
/** An operator's or the OOM killer's signal, not a crash of the worker's own. */
const KILLED_FROM_OUTSIDE: ReadonlySet<string> = new Set(['SIGKILL', 'SIGTERM']);

/** Kills from outside of workers still starting, in a row in one slot, after which its restarts back off. */
const KILLS_WHILE_STARTING_BEFORE_BACKOFF = 3;

export interface WorkerExit {
  livedMs: number;
  signal: string | null;
  /** The slot's workers killed from outside before they started, in a row, this one included (0 once one starts). */
  killedWhileStarting: number;
}

/**
 * Whether a worker's exit ends its slot's backoff, so that the restart comes at once. It does when the worker had
 * lived long enough not to be crash-looping, or was killed from outside (an operator, the OOM killer, a chaos test).
 * Outside kills of workers that never got to start are a loop, though, once they come three times in a row: the OOM
 * killer taking each new worker as it loads would otherwise have it restarted at the base delay forever. A kill
 * now and then that happens to land on a starting worker (they take a second or more to start) does not count.
 */
export function endsBackoff(exit: WorkerExit): boolean {
  if (exit.livedMs > STABLE_AFTER_MS) return true;
  if (!KILLED_FROM_OUTSIDE.has(exit.signal ?? '')) return false;
  return exit.killedWhileStarting < KILLS_WHILE_STARTING_BEFORE_BACKOFF;
}

/**
 * Keeps N worker processes running: restarts crashed ones with exponential backoff, recycles
 * (starts the replacement, and drains the old process once the replacement is registered), and
 * drains them all on stop.
 */
export class Supervisor {
  private readonly slots: Slot[] = [];
  private readonly children = new Set<ChildProcess>();
  private stopping = false;
  /** Running totals for the metrics endpoint. */
  readonly counters = { restarts: 0, recycles: 0 };
  /** Each running child's last reported key-fetch figures, and the sum over children gone. */
  private readonly childStats = new Map<ChildProcess, KeyFetchStats>();
  private readonly exitedChildrenStats = emptyKeyFetchStats();

  constructor(private readonly options: SupervisorOptions) {}

  get running(): number {
    return this.children.size;
  }

  /** Key fetches and cache hits of every worker process since the supervisor started. */
  keyFetchStats(): KeyFetchStats {
    const total = addKeyFetchStats(emptyKeyFetchStats(), this.exitedChildrenStats);
    for (const stats of this.childStats.values()) addKeyFetchStats(total, stats);
    return total;
  }

  get pids(): number[] {
    return [...this.children].map((child) => child.pid as number);
  }

  start(): void {
    for (let i = 0; i < this.options.processes; i++) {
      const slot: Slot = {
        child: undefined,
        startedAt: 0,
        childStarted: false,
        killedWhileStarting: 0,
        backoffMs: this.options.restartBackoffMs,
        restartTimer: undefined,
      };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  /** SIGTERM every child, wait for them to drain (killing stragglers after the grace period). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) clearTimeout(slot.restartTimer);
    const exits = [...this.children].map((child) => exited(child));
    for (const child of this.children) child.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const child of this.children) child.kill('SIGKILL');
    }, this.options.stopGraceMs + 2000);
    await Promise.all(exits);
    clearTimeout(killer);
  }

  private spawn(slot: Slot): void {
    slot.restartTimer = undefined;
    const child = fork(WORKER_MAIN, [], { env: this.childEnv(), stdio: 'inherit' });
    slot.child = child;
    slot.startedAt = Date.now();
    slot.childStarted = false;
    this.children.add(child);
    child.on('message', (message: { type?: string; keyFetchStats?: KeyFetchStats }) => {
      if (message?.type === 'stats' && message.keyFetchStats) this.childStats.set(child, message.keyFetchStats);
      if (this.stopping || slot.child !== child) return;
      if (message?.type === 'started') {
        slot.childStarted = true;
        slot.killedWhileStarting = 0;
      }
      if (message?.type === 'recycle' && !slot.retiring) {
        this.options.log.info({ workerPid: child.pid }, 'worker recycling: starting its replacement');
        this.counters.recycles++;
        slot.retiring = child;
        this.spawn(slot);
      } else if (message?.type === 'started' && slot.retiring) {
        slot.retiring.kill('SIGTERM');
        slot.retiring = undefined;
      } else if (message?.type === 'draining') {
        // Drained from outside (SIGTERM to this one process): replace it.
        this.options.log.info({ workerPid: child.pid }, 'worker draining: starting its replacement');
        this.spawn(slot);
      }
    });
    child.on('exit', (code, signal) => this.onExit(slot, child, code, signal));
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.children.delete(child);
    addKeyFetchStats(this.exitedChildrenStats, this.childStats.get(child) ?? emptyKeyFetchStats());
    this.childStats.delete(child);
    if (slot.retiring === child) slot.retiring = undefined;
    if (this.stopping || slot.child !== child) return; // draining or replaced: nothing to do
    if (!slot.childStarted && KILLED_FROM_OUTSIDE.has(signal ?? '')) slot.killedWhileStarting++;
    const exit = { livedMs: Date.now() - slot.startedAt, signal, killedWhileStarting: slot.killedWhileStarting };
    if (endsBackoff(exit)) {
      slot.backoffMs = this.options.restartBackoffMs;
    }
    this.options.log.warn(
      { workerPid: child.pid, code, signal, restartInMs: slot.backoffMs },
      'worker exited: restarting',
    );
    slot.child = undefined;
    this.counters.restarts++;
    slot.restartTimer = setTimeout(() => this.spawn(slot), slot.backoffMs);
    slot.backoffMs = Math.min(slot.backoffMs * 2, this.options.restartBackoffMaxMs);
  }

  private childEnv(): NodeJS.ProcessEnv {
    const { maxJobs, maxAgeS, configPath } = this.options;
    return {
      ...process.env,
      POWERHOSE_WORKER_CONFIG: configPath ?? '',
      POWERHOSE_WORKER_MAX_JOBS: String(maxJobs > 0 ? Math.round(jittered(maxJobs)) : 0),
      POWERHOSE_WORKER_MAX_AGE_MS: String(maxAgeS > 0 ? Math.round(jittered(maxAgeS * 1000)) : 0),
    };
  }
}

/** Spreads recycling so that processes started together do not all drain at once. */
function jittered(value: number): number {
  return value * (1 + Math.random() * JITTER);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
