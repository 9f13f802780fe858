import { type Config, createLogger, encodeJobBody, type Logger } from '@tokenserver/shared';
import type { BrokerStatus } from '@tokenserver/shared/client';
import { createMetricsRegistry } from '@tokenserver/shared/metrics';
import { createWebFront } from '../../../web/src/app.js';
import type { Store } from '../../../web/src/db/store.js';
import { observeRequests } from '../../../web/src/observability/request-observer.js';
import { WebMetrics } from '../../../web/src/observability/web-metrics.js';
import { httpLimits, type ListeningServer, listen } from '../../../web/src/server.js';
import type { JobClient } from '../../../web/src/token-jobs-client.js';
import { STAND_IN_CONFIG, STAND_IN_SERVICE, standInUser } from '../../support/web-stand-ins.js';

// The web front in process, wired as web-main wires it (request observer, metrics, /metrics), with stand-in
// jobs and store, and its log lines collected as parsed JSON.

export const FXA_UID = '0123456789abcdef0123456789abcdef';
export const EMAIL = `${FXA_UID}@api.accounts.firefox.com`;
export const HASHED_FXA_UID = 'aef64d12503ad1d840fd953c713c482d';
export const TOKEN_ID = 'eyJ1aWQiOiAxfQ-token-id';
export const TOKEN_KEY = 'egJjyf8wUWHG0RjpsRbaT87LMUvzixsS6hBv_KtdDIk=';

const USER = standInUser(EMAIL);

export class StandInJobs implements JobClient {
  failure: Error | undefined;
  /** The verify verdict answered next: a rejected credential when set. */
  rejection: { status: string } | undefined;
  status: BrokerStatus = { connected: true, last: { liveWorkers: 3, pausedWorkers: 1, queued: 5, inFlight: 9 } };

  submit(kind: string): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (kind === 'sign-token') {
      return Promise.resolve(
        encodeJobBody({ id: TOKEN_ID, key: TOKEN_KEY, duration: 3600, hashedFxaUid: HASHED_FXA_UID }),
      );
    }
    if (this.rejection) return Promise.resolve(encodeJobBody({ ok: false, ...this.rejection }));
    return Promise.resolve(encodeJobBody({ ok: true, identity: { email: EMAIL, fxaUid: FXA_UID } }));
  }

  brokerStatus(): BrokerStatus {
    return this.status;
  }
}

export class ObservedApp {
  private constructor(
    readonly server: ListeningServer,
    readonly jobs: StandInJobs,
    readonly logged: Array<Record<string, unknown>>,
  ) {}

  static async start(config: Config = STAND_IN_CONFIG): Promise<ObservedApp> {
    const jobs = new StandInJobs();
    const store = { listServices: async () => [STAND_IN_SERVICE], getUser: async () => USER, ping: async () => {} };
    const logged: Array<Record<string, unknown>> = [];
    const log: Logger = createLogger(
      'web',
      { log: { level: 'info', format: 'json' } },
      { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const metrics = new WebMetrics(createMetricsRegistry(), jobs);
    const { handler } = createWebFront({
      config,
      store: store as unknown as Store,
      jobs,
      log,
      version: { source: '', version: '1', commit: '', build: '' },
      metrics: metrics.registry,
    });
    const server = await listen(observeRequests(handler, { log, metrics }), '127.0.0.1', 0, httpLimits(config));
    return new ObservedApp(server, jobs, logged);
  }

  get url(): string {
    return this.server.url;
  }

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.url}${path}`, init);
  }

  /** GET /1.0/sync/1.5 with an OAuth credential the stand-in jobs accept. */
  token(headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch('/1.0/sync/1.5', { headers: { Authorization: 'Bearer stand-in-token', ...headers } });
  }

  /** The request log lines, oldest first (the line is written when the response closes: wait for it). */
  async requestLines(count: number): Promise<Array<Record<string, unknown>>> {
    const deadline = Date.now() + 2000;
    for (;;) {
      const lines = this.logged.filter((line) => line.msg === 'request');
      if (lines.length >= count || Date.now() > deadline) return lines;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
