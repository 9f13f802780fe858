import { Gauge, type Registry, runningTotalCounter } from '@tokenserver/shared/metrics';
import type { Supervisor } from './supervisor.js';

/** The worker supervisor's Prometheus metrics, read from the supervisor when scraped. */
export function registerSupervisorMetrics(registry: Registry, supervisor: Supervisor): void {
  new Gauge({
    name: 'powerhose_worker_processes',
    help: 'Worker processes running (a recycled one and its replacement overlap briefly)',
    registers: [registry],
    collect() {
      this.set(supervisor.running);
    },
  });
  const counter = (name: string, help: string, read: () => number) => runningTotalCounter(registry, name, help, read);
  counter(
    'powerhose_worker_restarts_total',
    'Worker processes restarted after exiting unexpectedly',
    () => supervisor.counters.restarts,
  );
  counter(
    'powerhose_worker_recycles_total',
    'Worker processes replaced after --max-jobs or --max-age',
    () => supervisor.counters.recycles,
  );
  const fetches = () => supervisor.keyFetchStats();
  counter(
    'tokenserver_idp_fetches_total',
    'BrowserID support documents fetched (cache misses)',
    () => fetches().idpFetches,
  );
  counter(
    'tokenserver_idp_fetch_failures_total',
    'BrowserID support document fetches that failed',
    () => fetches().idpFetchFailures,
  );
  counter(
    'tokenserver_idp_cache_hits_total',
    'BrowserID support documents served from the cache',
    () => fetches().idpCacheHits,
  );
  counter('tokenserver_jwks_fetches_total', 'OAuth JWKS downloads', () => fetches().jwksFetches);
  counter(
    'tokenserver_jwks_fetch_failures_total',
    'OAuth JWKS downloads that failed',
    () => fetches().jwksFetchFailures,
  );
  counter(
    'tokenserver_jwks_cache_hits_total',
    'OAuth token keys found in the cached JWKS, without a download',
    () => fetches().jwksCacheHits,
  );
}
