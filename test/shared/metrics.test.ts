import { expect } from 'chai';
import { Counter, createMetricsRegistry, type MetricsServer, serveMetrics } from '@tokenserver/shared/metrics';

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
