import {
  Counter,
  createMetricsRegistry,
  type MetricsServer,
  Registry,
  SeriesCounter,
  SeriesHistogram,
  serveMetrics,
} from '@tokenserver/shared/metrics';
import { expect } from 'chai';

// serveMetrics: GET /metrics on its own port, for the broker and the worker supervisor.

describe('shared metrics server', () => {
  let server: MetricsServer;
  const registry = createMetricsRegistry();
  const jobs = new Counter({ name: 'test_jobs_total', help: 'jobs', registers: [registry] });

  before(async () => {
    server = await serveMetrics(registry, 0);
  });
  after(() => server.close());

  it('answers GET /metrics in the Prometheus text format, with current values', async () => {
    expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    jobs.inc(4);
    const res = await fetch(server.url);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).to.include('test_jobs_total 4');
    expect(text).to.include('# TYPE process_resident_memory_bytes gauge');
  });

  it('answers 404 to anything else', async () => {
    expect((await fetch(server.url.replace('/metrics', '/'))).status).to.equal(404);
    expect((await fetch(server.url, { method: 'POST' })).status).to.equal(404);
  });
});

describe('series metrics (hot-path counters and histograms)', () => {
  it('expose cumulative buckets, sum and count per series, and counters, in the Prometheus text format', async () => {
    const registry = new Registry();
    const latency = new SeriesHistogram<'route'>('test_latency_seconds', 'latency', registry, [0.01, 0.1, 1]);
    const hits = new SeriesCounter<'route'>('test_hits_total', 'hits', registry);
    const a = latency.series({ route: '/a' });
    for (const value of [0.005, 0.01, 0.05, 2]) a.observe(value);
    expect(latency.series({ route: '/a' })).to.equal(a);
    hits.series({ route: '/a' }).inc();
    hits.series({ route: '/a' }).inc(2);
    const text = await registry.metrics();
    expect(text).to.include('# TYPE test_latency_seconds histogram');
    expect(text).to.include('test_latency_seconds_bucket{route="/a",le="0.01"} 2');
    expect(text).to.include('test_latency_seconds_bucket{route="/a",le="0.1"} 3');
    expect(text).to.include('test_latency_seconds_bucket{route="/a",le="1"} 3');
    expect(text).to.include('test_latency_seconds_bucket{route="/a",le="+Inf"} 4');
    expect(text).to.include(`test_latency_seconds_sum{route="/a"} ${0.005 + 0.01 + 0.05 + 2}`);
    expect(text).to.include('test_latency_seconds_count{route="/a"} 4');
    expect(text).to.include('# TYPE test_hits_total counter');
    expect(text).to.include('test_hits_total{route="/a"} 3');
  });
});
