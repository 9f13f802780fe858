import { closeSync, openSync, readSync } from 'node:fs';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** How often the delay is sampled: a timer of this period, whose lateness is the delay. */
export const EVENT_LOOP_SAMPLE_MS = 5;
const QUANTILES = [0.5, 0.9, 0.99, 1] as const;

/**
 * The event loop's delay: how late a timer fires after it was due, by quantile, since the previous scrape. On
 * Linux also the loop thread's CPU wait over the same sample intervals: the time it was ready to run but every CPU
 * was busy with other work. Where the two are close, the delay was the host's, not this process's own work.
 *
 * Measured here with a plain timer rather than read from prom-client's `nodejs_eventloop_lag_*`, which reports
 * Node's monitorEventLoopDelay histogram. On Node 20 that histogram holds the intervals between its ticks, so an
 * idle process shows a p99 of 10.6 ms (the 10 ms period itself), and in our checks it did not record a 30 ms
 * synchronous block at all (test/shared/event-loop-delay.test.ts pins what this gauge must see).
 */
export function registerEventLoopDelay(registry: Registry): void {
  const delays = createHistogram();
  const cpuWait = ThreadCpuWait.open();
  const waits = cpuWait ? createHistogram() : undefined;
  let dueAt = 0;
  let waitedNs = Number.NaN; // the first tick only reads it
  const tick = () => {
    const now = performance.now();
    if (dueAt > 0) delays.record(Math.max(1, Math.round((now - dueAt) * 1e6)));
    const total = cpuWait?.totalNs() ?? Number.NaN;
    if (waits && Number.isFinite(total) && Number.isFinite(waitedNs)) waits.record(Math.max(1, total - waitedNs));
    waitedNs = total;
    dueAt = now + EVENT_LOOP_SAMPLE_MS;
    setTimeout(tick, EVENT_LOOP_SAMPLE_MS).unref();
  };
  tick();
  quantileGauge(
    registry,
    'tokenserver_event_loop_delay_seconds',
    `How late a due timer fires (event-loop delay), by quantile, since the previous scrape (sampled every ${EVENT_LOOP_SAMPLE_MS} ms)`,
    delays,
  );
  if (waits) {
    quantileGauge(
      registry,
      'tokenserver_event_loop_cpu_wait_seconds',
      'How long the event-loop thread waited for a CPU while ready to run, per delay sample interval, by quantile, since the previous scrape',
      waits,
    );
  }
}

function quantileGauge(registry: Registry, name: string, help: string, histogram: RecordableHistogram): void {
  new Gauge({
    name,
    help,
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      for (const quantile of QUANTILES) {
        const ns = histogram.count > 0 ? histogram.percentile(quantile * 100) : 0;
        this.set({ quantile: String(quantile) }, ns / 1e9);
      }
      histogram.reset();
    },
  });
}

/**
 * The calling thread's total run-queue wait, from Linux's /proc/thread-self/schedstat ("on-CPU ns, waiting ns,
 * timeslices"). The file stays open and is read from offset 0 each time: one system call a sample.
 */
class ThreadCpuWait {
  private readonly buffer = Buffer.alloc(96);

  private constructor(private readonly fd: number) {}

  /** undefined where the kernel does not expose it (not Linux, or built without scheduler statistics). */
  static open(): ThreadCpuWait | undefined {
    let fd: number | undefined;
    try {
      fd = openSync('/proc/thread-self/schedstat', 'r');
      const reader = new ThreadCpuWait(fd);
      if (Number.isFinite(reader.totalNs())) return reader;
    } catch {
      // not readable here: the gauge is left out
    }
    if (fd !== undefined) closeSync(fd);
    return undefined;
  }

  /** NaN if the file cannot be read: a metric must never stop the process. */
  totalNs(): number {
    try {
      const length = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      return Number(this.buffer.toString('latin1', 0, length).split(' ')[1]);
    } catch {
      return Number.NaN;
    }
  }
}
