// Work on one SQLite file runs one item at a time, in order (see SqliteDatabase). better-sqlite3 is synchronous, and
// items chained on a promise run back to back as microtasks: 128 queued new-user transactions held the web front's
// event loop for all of them (its delay p99 read 21 ms at 3,900 new users/s). After `sliceMs` of work without a
// break, the queue lets the loop turn (timers, sockets, ZeroMQ) before it goes on; short bursts never wait.

const DEFAULT_SLICE_MS = 2;

export class SqliteWorkQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** When the current run of back-to-back work began; undefined once the event loop has turned since. */
  private sliceStartedAt: number | undefined;

  constructor(private readonly sliceMs = DEFAULT_SLICE_MS) {}

  /** Runs `fn` after everything queued before it has settled; its result or rejection is the caller's. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.turnIfLong()).then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private turnIfLong(): Promise<void> | undefined {
    const now = performance.now();
    if (this.sliceStartedAt === undefined) {
      this.startSlice(now);
      return undefined;
    }
    if (now - this.sliceStartedAt < this.sliceMs) return undefined;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.startSlice(performance.now());
        resolve();
      }),
    );
  }

  private startSlice(now: number): void {
    this.sliceStartedAt = now;
    // Runs at the loop's next check phase: the loop has turned, and the next piece of work starts a new slice.
    setImmediate(() => {
      this.sliceStartedAt = undefined;
    });
  }
}
