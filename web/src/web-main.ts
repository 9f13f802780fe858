#!/usr/bin/env node
// The web front alone (the Procfile's `web:` line; `tokenserver start` runs it next to the broker and workers).
import { fileURLToPath } from 'node:url';
import {
  brokerEndpoints,
  createLogger,
  loadConfigOrExit,
  onStopSignal,
  warnAboutUnsafeSettings,
} from '@tokenserver/shared';
import { PowerhoseClient } from '@tokenserver/shared/client';
import { curveClientOptions } from '@tokenserver/shared/curve';
import { createMetricsRegistry, serveConfiguredMetrics } from '@tokenserver/shared/metrics';
import { Command } from 'commander';
import { createWebFront } from './app.js';
import { prepareStore } from './db/bootstrap.js';
import { readVersionDocument } from './health-routes.js';
import { observeRequests } from './observability/request-observer.js';
import { registerSqliteWalGauge } from './observability/sqlite-wal-gauge.js';
import { WebMetrics } from './observability/web-metrics.js';
import { applyNice } from './process-nice.js';
import { httpLimits, listen } from './server.js';
import { withoutTokenSecrets } from './web-config.js';

/** Message sent to a parent process (`tokenserver start`) once the server listens. */
export interface WebListeningMessage {
  type: 'listening';
  url: string;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const program = new Command('tokenserver-web')
  .description('Serves the token API; verification and signing are sent to workers through the broker')
  .option('-c, --config <path>', 'config file (default: $TOKENSERVER_CONFIG or config/default.toml)')
  .showHelpAfterError()
  .action((options: { config?: string }) => runWeb(options.config));

async function runWeb(configPath?: string): Promise<void> {
  const config = withoutTokenSecrets(loadConfigOrExit(configPath).config);
  try {
    applyNice(config.web.nice); // first: threads started from here on inherit it
  } catch (err) {
    process.stderr.write(`tokenserver-web: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const log = createLogger('web', config);
  warnAboutUnsafeSettings(log, config);
  let prepared: Awaited<ReturnType<typeof prepareStore>>;
  try {
    prepared = await prepareStore(config);
  } catch (err) {
    process.stderr.write(`tokenserver-web: database: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const client = new PowerhoseClient({
    endpoint: brokerEndpoints(config.broker).frontend,
    defaultTimeoutMs: config.web.job_timeout_ms,
    heartbeatIntervalMs: config.broker.heartbeat_interval_ms,
    heartbeatLiveness: config.broker.heartbeat_liveness,
    maxMessageBytes: config.broker.max_message_bytes,
    onProtocolError: (err) => log.warn({ err: err.message }, 'broker protocol error'),
    curve: curveClientOptions(config),
  });
  const metrics = new WebMetrics(createMetricsRegistry(), client);
  registerSqliteWalGauge(metrics.registry, config.database.url);
  // With [web] metrics_port, /metrics moves to a listener of its own (and is not served on the web port).
  const metricsServer = await serveConfiguredMetrics(metrics.registry, config.web).catch((err: Error) => {
    process.stderr.write(`tokenserver-web: ${err.message}\n`);
    process.exit(1);
  });
  const front = createWebFront({
    config,
    store: prepared.store,
    jobs: client,
    log,
    version: readVersionDocument([process.cwd(), REPO_ROOT]),
    ...(metricsServer ? {} : { metrics: metrics.registry }),
  });
  const handler = observeRequests(front.handler, { log, metrics });
  const server = await listen(handler, config.web.host, config.web.port, httpLimits(config)).catch((err: Error) => {
    process.stderr.write(`tokenserver-web: cannot listen on ${config.web.host}:${config.web.port}: ${err.message}\n`);
    process.exit(1);
  });
  log.info(
    {
      url: server.url,
      ...(metricsServer ? { metrics: metricsServer.url } : {}),
      migrations: prepared.migrations,
      bootstrap: prepared.bootstrap,
    },
    'web listening',
  );
  process.send?.({ type: 'listening', url: server.url } satisfies WebListeningMessage);

  const stop = async (signal: string): Promise<void> => {
    log.info({ signal }, 'web stopping');
    await server.close();
    await metricsServer?.close();
    client.close();
    await prepared.store.close();
    process.exit(0);
  };
  onStopSignal(stop);
}

await program.parseAsync();
