#!/usr/bin/env node
import {
  brokerEndpoints,
  createLogger,
  ensureRunDir,
  loadConfigOrExit,
  onStopSignal,
  plaintextTransportWarning,
  warnLoudly,
} from '@tokenserver/shared';
import { generateKeyPair } from '@tokenserver/shared/curve';
import { createMetricsRegistry, MetricsListenError, serveConfiguredMetrics } from '@tokenserver/shared/metrics';
import { Command } from 'commander';
import { Broker } from './broker.js';
import { registerBrokerMetrics } from './broker-metrics.js';
import { acquireRunLock } from './run-lock.js';

const program = new Command('powerhose-broker')
  .description('Routes jobs from web fronts to worker processes over ZeroMQ')
  .option('-c, --config <path>', 'config file (default: $TOKENSERVER_CONFIG or config/default.toml)')
  .showHelpAfterError()
  .action(async (options: { config?: string }) => runBroker(options.config));

program
  .command('keygen')
  .description('make a CURVE key pair for the broker, a web front or a worker ([security] in the config)')
  .option('-o, --out <file>', 'write the pair to FILE (mode 0600, never overwritten) and print only the public key')
  .action((options: { out?: string }) => {
    try {
      const pair = generateKeyPair(options.out);
      process.stdout.write(options.out ? `${pair.publicKey}\n` : `${JSON.stringify(pair, null, 2)}\n`);
    } catch (err) {
      process.stderr.write(`powerhose-broker keygen: ${(err as Error).message}\n`);
      process.exit(1);
    }
  });

async function runBroker(configPath?: string): Promise<void> {
  const { config } = loadConfigOrExit(configPath);
  const log = createLogger('broker', config);
  const plaintext = plaintextTransportWarning(config);
  if (plaintext) warnLoudly(log, plaintext);
  const endpoints = brokerEndpoints(config.broker);
  let releaseLock = () => {};
  try {
    if (endpoints.runDir) {
      ensureRunDir(endpoints.runDir);
      releaseLock = acquireRunLock(endpoints.runDir);
    }
    const broker = new Broker(config.broker, endpoints, log, config.security);
    await broker.start();
    if (config.broker.metrics_port > 0) {
      const registry = createMetricsRegistry();
      registerBrokerMetrics(registry, broker);
      const metrics = await serveConfiguredMetrics(registry, config.broker);
      log.info({ url: metrics?.url }, 'broker metrics');
    }
    const shutdown = async (signal: string) => {
      log.info({ signal }, 'draining');
      await broker.stop();
      releaseLock();
      log.info('broker stopped');
      process.exit(0);
    };
    onStopSignal(shutdown);
  } catch (err) {
    releaseLock();
    process.stderr.write(`powerhose-broker: ${describeStartError(err as NodeJS.ErrnoException)}\n`);
    process.exit(1);
  }
}

function describeStartError(err: NodeJS.ErrnoException): string {
  if (err instanceof MetricsListenError) return err.message;
  if (err.code === 'EADDRINUSE' || /in use/i.test(err.message)) {
    return `address already in use (${err.message}); is another broker running on these endpoints?`;
  }
  return err.message;
}

await program.parseAsync();
