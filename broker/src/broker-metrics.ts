import { Gauge, type Registry, runningTotalCounter } from '@tokenserver/shared/metrics';
import type { SchedulerCounters, SchedulerStats } from './scheduler.js';

export interface BrokerFigures {
  stats(): SchedulerStats;
  readonly counters: SchedulerCounters;
}

/**
 * The broker's Prometheus metrics. Everything is read from the scheduler's plain counters when
 * scraped, so the job path pays nothing for them.
 */
export function registerBrokerMetrics(registry: Registry, figures: BrokerFigures): void {
  const gauge = (name: string, help: string, read: (stats: SchedulerStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(figures.stats()));
      },
    });
  gauge('powerhose_broker_queue_depth', 'Jobs waiting for a free worker', (s) => s.queued);
  gauge('powerhose_broker_jobs_in_flight', 'Jobs dispatched to workers and not yet answered', (s) => s.inFlight);
  gauge('powerhose_broker_live_workers', 'Registered workers that are not leaving', (s) => s.liveWorkers);
  gauge('powerhose_broker_paused_workers', 'Live workers whose job thread is stalled', (s) => s.pausedWorkers);

  const counter = (name: string, help: string, read: (c: SchedulerCounters) => number) =>
    runningTotalCounter(registry, name, help, () => read(figures.counters));
  counter('powerhose_broker_jobs_submitted_total', 'Jobs received from clients', (c) => c.submitted);
  counter('powerhose_broker_jobs_dispatched_total', 'Dispatches to workers (retries included)', (c) => c.dispatched);
  counter('powerhose_broker_job_retries_total', 'Jobs given to another worker after theirs was lost', (c) => c.retried);
  counter('powerhose_broker_busy_total', 'Jobs answered BUSY (queue full or shutting down)', (c) => c.busy);
  counter(
    'powerhose_broker_expired_total',
    'Jobs answered EXPIRED (deadline passed before dispatch)',
    (c) => c.expired,
  );
  counter('powerhose_broker_no_worker_total', 'Jobs answered NO_WORKER', (c) => c.noWorker);
  counter('powerhose_broker_worker_lost_total', 'Jobs that lost their worker max_attempts times', (c) => c.workerLost);
  counter(
    'powerhose_broker_heartbeat_misses_total',
    'Workers dropped for silence or being unreachable',
    (c) => c.workersDropped,
  );
  counter(
    'powerhose_broker_queue_wait_seconds_total',
    'Time queued jobs waited for a worker',
    (c) => c.queueWaitMsTotal / 1000,
  );
  counter('powerhose_broker_queued_jobs_total', 'Jobs that had to wait in the queue', (c) => c.queuedJobs);
}
