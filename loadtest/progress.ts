// A live progress line on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise (CI logs).

export interface ProgressSnapshot {
  elapsedMs: number;
  requests: number;
  unexpected: number;
  errors: number;
  p99Ms: number;
}

export interface ProgressBounds {
  durationMs?: number;
  requests?: number;
}

const TTY_INTERVAL_MS = 250;
const PLAIN_INTERVAL_MS = 5000;
const BAR_WIDTH = 30;

export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private lastRequests = 0;
  private lastElapsedMs = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly bounds: ProgressBounds,
    private readonly snapshot: () => ProgressSnapshot,
  ) {}

  start(): void {
    const interval = this.stream.isTTY ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS;
    this.timer = setInterval(() => this.draw(), interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.draw(true);
    if (this.stream.isTTY) this.stream.write('\n');
  }

  private draw(final = false): void {
    const now = this.snapshot();
    const windowMs = now.elapsedMs - this.lastElapsedMs;
    // The last line shows the whole run's rate: its window since the previous draw can be a few milliseconds.
    const rate = final
      ? (now.requests * 1000) / Math.max(1, now.elapsedMs)
      : windowMs > 0
        ? ((now.requests - this.lastRequests) * 1000) / windowMs
        : 0;
    this.lastRequests = now.requests;
    this.lastElapsedMs = now.elapsedMs;
    const line = `${bar(fractionDone(now, this.bounds))} ${(now.elapsedMs / 1000).toFixed(1)} s  ${now.requests} req  ${Math.round(rate)} req/s  p99 ${now.p99Ms.toFixed(1)} ms  unexpected ${now.unexpected}  errors ${now.errors}`;
    if (this.stream.isTTY) this.stream.write(`\r\x1b[2K${line}`);
    else this.stream.write(`loadtest: ${line}\n`);
  }
}

function fractionDone(now: ProgressSnapshot, bounds: ProgressBounds): number {
  const byTime = bounds.durationMs ? now.elapsedMs / bounds.durationMs : 0;
  const byCount = bounds.requests ? now.requests / bounds.requests : 0;
  return Math.min(1, Math.max(byTime, byCount));
}

function bar(fraction: number): string {
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}
