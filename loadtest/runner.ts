import type { HttpOutcome, HttpTarget } from './http-client.js';

// HTTP load over keep-alive connections: `connections` loops, each sending its next request when the previous one
// is answered. With a target rate, requests are given send times 1/rate apart and latency is measured from that
// scheduled time, so a slow server shows up as latency instead of silently lowering the offered load.

export interface LoadShape {
  connections: number;
  /** Stop sending after this long. */
  durationMs?: number;
  /** Stop after this many requests. */
  requests?: number;
  /** Requests per second over all connections. */
  rate?: number;
  timeoutMs: number;
}

export interface Dispatch<T> {
  /** The next request to send: its path and headers, plus whatever `done` needs to judge the answer. */
  next(): { path: string; headers: Readonly<Record<string, string>>; context: T };
  /**
   * `latencyMs` counts from the scheduled send time (with a rate), `serviceMs` from when the request was actually
   * sent: the server's own answer time. A returned promise holds the connection's loop until it settles.
   */
  done(context: T, outcome: HttpOutcome, latencyMs: number, atMs: number, serviceMs: number): void | Promise<void>;
}

export interface DriveControl {
  /** Resolves when every loop has stopped and every request in flight was answered. */
  finished: Promise<void>;
  /** Stops sending new requests (Ctrl-C). */
  stop(): void;
  /** Milliseconds since the run started. */
  elapsedMs(): number;
}

export function drive<T>(target: HttpTarget, shape: LoadShape, dispatch: Dispatch<T>): DriveControl {
  const startedAt = performance.now();
  const deadline = shape.durationMs === undefined ? Number.POSITIVE_INFINITY : startedAt + shape.durationMs;
  const limit = shape.requests ?? Number.POSITIVE_INFINITY;
  let issued = 0;
  let stopped = false;
  const mayIssue = () => !stopped && issued < limit && performance.now() < deadline;
  const pacer = new Pacer();

  const loop = async (): Promise<void> => {
    while (mayIssue()) {
      const index = issued++;
      let sentAt = performance.now();
      if (shape.rate !== undefined) {
        const slot = startedAt + (index * 1000) / shape.rate;
        if (slot > sentAt) await pacer.until(slot);
        if (stopped || slot >= deadline) return;
        sentAt = slot;
      }
      const { path, headers, context } = dispatch.next();
      const issuedAt = performance.now();
      const outcome = await target.send(path, headers, shape.timeoutMs);
      const end = performance.now();
      const followUp = dispatch.done(context, outcome, end - sentAt, end - startedAt, end - issuedAt);
      if (followUp) await followUp;
    }
  };
  const finished = Promise.all(Array.from({ length: shape.connections }, loop)).then(() => undefined);
  return {
    finished,
    stop: () => {
      stopped = true;
    },
    elapsedMs: () => performance.now() - startedAt,
  };
}

/**
 * Wakes the loops at their send times with one timer for all of them: a timer and a promise per request cost the
 * generator a few microseconds each, CPU taken from the server at 10,000 requests a second. Send times are asked for
 * in increasing order (each loop takes the next index, then waits), so the waiting list stays sorted.
 */
class Pacer {
  private readonly waiting: Array<{ at: number; wake: () => void }> = [];

  until(at: number): Promise<void> {
    return new Promise((wake) => {
      this.waiting.push({ at, wake });
      if (this.waiting.length === 1) this.arm(at);
    });
  }

  private arm(at: number): void {
    setTimeout(this.fire, Math.max(0, at - performance.now()));
  }

  private readonly fire = (): void => {
    const now = performance.now();
    let head = this.waiting[0];
    for (; head !== undefined && head.at <= now; head = this.waiting[0]) {
      this.waiting.shift();
      head.wake();
    }
    if (head) this.arm(head.at);
  };
}
