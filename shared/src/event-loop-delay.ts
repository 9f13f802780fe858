import { createHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** How often the delay is sampled: a timer of this period, whose lateness is the delay. */
export const EVENT_LOOP_SAMPLE_MS = 5;
const QUANTILES = [0.5, 0.9, 0.99, 1] as const;

/**
 * The event loop's delay: how late a timer fires after it was due, by quantile, since the previous scrape.
 *
 * Measured here with a plain timer rather than read from prom-client's `nodejs_eventloop_lag_*`, which reports
 * Node's monitorEventLoopDelay histogram. On Node 20 that histogram holds the intervals between its ticks, so an
 * idle process shows a p99 of 10.6 ms (the 10 ms period itself), and in our checks it did not record a 30 ms
 * synchronous block at all (test/shared/event-loop-delay.test.ts pins what this gauge must see).
 */
export function registerEventLoopDelay(registry: Registry): void {
  const delays = createHistogram();
  let dueAt = 0;
  const tick = () => {
    const now = performance.now();
    if (dueAt > 0) delays.record(Math.max(1, Math.round((now - dueAt) * 1e6)));
    dueAt = now + EVENT_LOOP_SAMPLE_MS;
    setTimeout(tick, EVENT_LOOP_SAMPLE_MS).unref();
  };
  tick();
  new Gauge({
    name: 'tokenserver_event_loop_delay_seconds',
    help: `How late a due timer fires (event-loop delay), by quantile, since the previous scrape (sampled every ${EVENT_LOOP_SAMPLE_MS} ms)`,
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      for (const quantile of QUANTILES) {
        const ns = delays.count > 0 ? delays.percentile(quantile * 100) : 0;
        this.set({ quantile: String(quantile) }, ns / 1e9);
      }
      delays.reset();
    },
  });
}
