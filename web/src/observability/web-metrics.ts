import type { BrokerStatus } from '@tokenserver/shared/client';
import {
  type CounterSeries,
  Gauge,
  type HistogramSeries,
  type Registry,
  SeriesCounter,
  SeriesHistogram,
} from '@tokenserver/shared/metrics';
import type { RequestRecord, TokenStage } from './request-record.js';

// The web front's Prometheus metrics. Label values are bounded: method (known verbs), route (the route pattern,
// never the raw path), HTTP status, stage, job error code.

type RequestLabel = 'method' | 'route' | 'status';

interface RequestSeries {
  requests: CounterSeries;
  duration: HistogramSeries;
}

export class WebMetrics {
  private readonly requests: SeriesCounter<RequestLabel>;
  private readonly duration: SeriesHistogram<RequestLabel>;
  private readonly jobErrors: SeriesCounter<'code'>;
  private readonly stages: Record<TokenStage, HistogramSeries>;
  private readonly series = new Map<string, RequestSeries>();

  constructor(
    readonly registry: Registry,
    broker: { brokerStatus(): BrokerStatus },
  ) {
    this.requests = new SeriesCounter(
      'tokenserver_http_requests_total',
      'HTTP requests answered, by method, route pattern and status',
      registry,
    );
    this.duration = new SeriesHistogram(
      'tokenserver_http_request_duration_seconds',
      'Time from request to the end of the answer, by method, route pattern and status',
      registry,
    );
    const stage = new SeriesHistogram<'stage'>(
      'tokenserver_token_stage_duration_seconds',
      'Time spent by token requests in each stage: verify (job), db (service and user), sign (job)',
      registry,
    );
    this.stages = {
      verify: stage.series({ stage: 'verify' }),
      db: stage.series({ stage: 'db' }),
      sign: stage.series({ stage: 'sign' }),
    };
    this.jobErrors = new SeriesCounter(
      'tokenserver_job_errors_total',
      'Token requests failed by a job error, by code (ERR_BROKER_BUSY, ERR_JOB_TIMEOUT, ERR_NO_WORKER, …)',
      registry,
    );
    addBrokerGauges(registry, broker);
  }

  observe(method: string, route: string, status: number, record: RequestRecord, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      const labels = { method, route, status: String(status) };
      series = { requests: this.requests.series(labels), duration: this.duration.series(labels) };
      this.series.set(key, series);
    }
    series.requests.inc();
    series.duration.observe(seconds);
    if (record.verifyMs !== undefined) this.stages.verify.observe(record.verifyMs / 1000);
    if (record.dbMs !== undefined) this.stages.db.observe(record.dbMs / 1000);
    if (record.signMs !== undefined) this.stages.sign.observe(record.signMs / 1000);
    if (record.jobError !== undefined) this.jobErrors.series({ code: record.jobError }).inc();
  }
}

/** The broker's figures from its last PONG, read at scrape time. */
function addBrokerGauges(registry: Registry, broker: { brokerStatus(): BrokerStatus }): void {
  const gauges: Array<[name: string, help: string, read: (status: BrokerStatus) => number]> = [
    ['tokenserver_broker_connected', '1 while the broker answers heartbeats, else 0', (s) => (s.connected ? 1 : 0)],
    ['tokenserver_broker_live_workers', 'Workers registered with the broker', (s) => s.last?.liveWorkers ?? 0],
    [
      'tokenserver_broker_paused_workers',
      'Workers skipped while their job thread stalls',
      (s) => s.last?.pausedWorkers ?? 0,
    ],
    ['tokenserver_broker_queued_jobs', 'Jobs queued at the broker, waiting for a worker', (s) => s.last?.queued ?? 0],
    ['tokenserver_broker_jobs_in_flight', 'Jobs held by workers', (s) => s.last?.inFlight ?? 0],
  ];
  for (const [name, help, read] of gauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(broker.brokerStatus()));
      },
    });
  }
}
