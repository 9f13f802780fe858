import { BrokerBusyError, JobTimeoutError } from '@tokenserver/shared';
import { expect } from 'chai';
import { ObservedApp } from './observed-app.js';

// GET /metrics in the web front: request counts and latencies by route and status, token stage timings, job
// errors by code, and the broker's figures from its last heartbeat.

/** The value of one sample line, e.g. `tokenserver_http_requests_total{method="GET",...} 3`; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',');
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return 0;
}

describe('web front metrics', () => {
  let app: ObservedApp;

  before(async () => {
    app = await ObservedApp.start();
  });
  after(() => app.close());
  afterEach(() => {
    app.jobs.failure = undefined;
  });

  const scrape = async (): Promise<string> => {
    const res = await app.fetch('/metrics');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('exposes every metric, with Node process metrics', async () => {
    const text = await scrape();
    for (const name of [
      'tokenserver_http_requests_total',
      'tokenserver_http_request_duration_seconds',
      'tokenserver_token_stage_duration_seconds',
      'tokenserver_job_errors_total',
      'tokenserver_broker_connected',
      'tokenserver_broker_live_workers',
      'tokenserver_broker_paused_workers',
      'tokenserver_broker_queued_jobs',
      'tokenserver_broker_jobs_in_flight',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
      'tokenserver_event_loop_delay_seconds',
      'tokenserver_event_loop_cpu_wait_seconds',
    ]) {
      expect(text).to.include(`# TYPE ${name} `);
    }
  });

  it('counts requests and observes their latency by method, route pattern and status', async () => {
    const token = { method: 'GET', route: '/1.0/:application/:version', status: '200' };
    const before = await scrape();
    for (let i = 0; i < 3; i++) expect((await app.token()).status).to.equal(200);
    await app.fetch('/no/such/path');
    await app.requestLines(4);
    const after = await scrape();
    const moved = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(moved('tokenserver_http_requests_total', token)).to.equal(3);
    expect(moved('tokenserver_http_request_duration_seconds_count', token)).to.equal(3);
    expect(moved('tokenserver_http_request_duration_seconds_bucket', { ...token, le: '+Inf' })).to.equal(3);
    expect(moved('tokenserver_http_requests_total', { route: 'unmatched', status: '404' })).to.equal(1);
    for (const stage of ['verify', 'db', 'sign']) {
      expect(moved('tokenserver_token_stage_duration_seconds_count', { stage }), stage).to.equal(3);
    }
    expect(after).not.to.include('/no/such/path');
  });

  it('counts job errors by code', async () => {
    const before = await scrape();
    app.jobs.failure = new BrokerBusyError('busy');
    await app.token();
    await app.token();
    app.jobs.failure = new JobTimeoutError('slow');
    await app.token();
    await app.requestLines(3);
    const after = await scrape();
    const moved = (code: string) =>
      sample(after, 'tokenserver_job_errors_total', { code }) -
      sample(before, 'tokenserver_job_errors_total', { code });
    expect(moved('ERR_BROKER_BUSY')).to.equal(2);
    expect(moved('ERR_JOB_TIMEOUT')).to.equal(1);
    expect(sample(after, 'tokenserver_http_requests_total', { status: '503' })).to.be.at.least(3);
  });

  it("reports the broker's figures from its last heartbeat", async () => {
    let text = await scrape();
    expect(sample(text, 'tokenserver_broker_connected')).to.equal(1);
    expect(sample(text, 'tokenserver_broker_live_workers')).to.equal(3);
    expect(sample(text, 'tokenserver_broker_paused_workers')).to.equal(1);
    expect(sample(text, 'tokenserver_broker_queued_jobs')).to.equal(5);
    expect(sample(text, 'tokenserver_broker_jobs_in_flight')).to.equal(9);
    app.jobs.status = { connected: false, last: { liveWorkers: 0, pausedWorkers: 0, queued: 0, inFlight: 0 } };
    text = await scrape();
    expect(sample(text, 'tokenserver_broker_connected')).to.equal(0);
    expect(sample(text, 'tokenserver_broker_live_workers')).to.equal(0);
  });

  it('answers 405 to other methods on /metrics', async () => {
    expect((await app.fetch('/metrics', { method: 'POST' })).status).to.equal(405);
  });
});
