import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import { CodedError } from './errors.js';
import { registerEventLoopDelay } from './event-loop-delay.js';
import { listenHttp } from './http-listen.js';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds, from a cached lookup (sub-millisecond) to a job deadline (seconds). */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

type SeriesLabels = Readonly<Record<string, string>>;

interface SampleValue {
  value: number;
  labels: Readonly<Record<string, string | number>>;
  metricName?: string;
}

/** One labelled series of a SeriesCounter. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: SeriesLabels) {}

  inc(by = 1): void {
    this.value += by;
  }
}

/** One labelled series of a SeriesHistogram. */
export class HistogramSeries {
  /** Per bucket, not cumulative; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: SeriesLabels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let bucket = 0;
    while (bucket < this.bounds.length && value > (this.bounds[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

/**
 * Counters and histograms for hot paths. prom-client's own hash their label object and allocate a closure on
 * every inc/observe, even through labels() children; here a caller gets each series once with series(labels),
 * keeps it, and counts with a few arithmetic operations. The registry reads them at scrape time through the
 * metric interface it calls (name, help, type, get, reset).
 */
abstract class SeriesMetric<L extends string, S extends { labels: SeriesLabels }> {
  readonly aggregator = 'sum';
  private readonly all = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  series(labels: Readonly<Record<L, string>>): S {
    const key = JSON.stringify(labels);
    let series = this.all.get(key);
    if (!series) {
      series = this.create(labels);
      this.all.set(key, series);
    }
    return series;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: SampleValue[] }> {
    const values: SampleValue[] = [];
    for (const series of this.all.values()) this.samples(series, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const series of this.all.values()) this.zero(series);
  }

  abstract readonly type: 'counter' | 'histogram';
  protected abstract create(labels: SeriesLabels): S;
  protected abstract samples(series: S, into: SampleValue[]): void;
  protected abstract zero(series: S): void;
}

export class SeriesCounter<L extends string> extends SeriesMetric<L, CounterSeries> {
  readonly type = 'counter';

  protected create(labels: SeriesLabels): CounterSeries {
    return new CounterSeries(labels);
  }

  protected samples(series: CounterSeries, into: SampleValue[]): void {
    into.push({ value: series.value, labels: series.labels });
  }

  protected zero(series: CounterSeries): void {
    series.value = 0;
  }
}

export class SeriesHistogram<L extends string> extends SeriesMetric<L, HistogramSeries> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    registry: Registry,
    private readonly bounds: readonly number[] = LATENCY_BUCKETS_S,
  ) {
    super(name, help, registry);
  }

  protected create(labels: SeriesLabels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  protected samples(series: HistogramSeries, into: SampleValue[]): void {
    const bucketName = `${this.name}_bucket`;
    let cumulative = 0;
    this.bounds.forEach((bound, index) => {
      cumulative += series.counts[index] as number;
      into.push({ value: cumulative, labels: { ...series.labels, le: bound }, metricName: bucketName });
    });
    into.push({ value: series.count, labels: { ...series.labels, le: '+Inf' }, metricName: bucketName });
    into.push({ value: series.sum, labels: series.labels, metricName: `${this.name}_sum` });
    into.push({ value: series.count, labels: series.labels, metricName: `${this.name}_count` });
  }

  protected zero(series: HistogramSeries): void {
    series.counts.fill(0);
    series.sum = 0;
    series.count = 0;
  }
}

/** A registry of this process's metrics, with Node's process metrics (CPU, memory, event-loop delay, GC). */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerEventLoopDelay(registry);
  return registry;
}

/** The Prometheus text answer for a registry: content type and body. */
export async function renderMetrics(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

export interface MetricsServer {
  /** `http://host:port/metrics`. */
  url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` on its own port, for processes without an HTTP front (broker, worker supervisor). Binds to
 * loopback unless told otherwise: the figures are not secret, but they are nobody else's business either.
 */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server = createServer((req, res) => void answerMetricsRequest(registry, req, res));
  const listening = await listenHttp(server, port, host);
  return { url: `${listening.url}/metrics`, close: listening.close };
}

/** A `metrics_port` that cannot be bound (taken, or a bad host): the message names the address and why. */
export class MetricsListenError extends CodedError {
  readonly code = 'ERR_METRICS_LISTEN';
}

/**
 * `serveMetrics` as a config section asks (`[broker]`, `[worker]` or `[web]` `metrics_port` and `metrics_host`):
 * undefined when the port is 0; rejects with MetricsListenError when it cannot listen.
 */
export async function serveConfiguredMetrics(
  registry: Registry,
  section: { metrics_port: number; metrics_host: string },
): Promise<MetricsServer | undefined> {
  if (section.metrics_port === 0) return undefined;
  try {
    return await serveMetrics(registry, section.metrics_port, section.metrics_host);
  } catch (err) {
    const address = `${section.metrics_host}:${section.metrics_port}`;
    throw new MetricsListenError(`cannot listen on ${address} for metrics: ${(err as Error).message}`, { cause: err });
  }
}

async function answerMetricsRequest(registry: Registry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = req.url?.split('?')[0];
  if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  try {
    const { contentType, body } = await renderMetrics(registry);
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (err) {
    res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics unavailable: ${(err as Error).message}\n`);
  }
}

/**
 * A Prometheus counter that mirrors a running total kept elsewhere as a plain number (free to bump on a hot
 * path): the difference since the last scrape is added when scraped.
 */
export function runningTotalCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  let reported = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      this.inc(now - reported);
      reported = now;
    },
  });
}
