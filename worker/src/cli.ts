#!/usr/bin/env node
import {
  createLogger,
  EXIT_CONFIG,
  loadConfigOrExit,
  onStopSignal,
  warnAboutUnsafeSettings,
} from '@tokenserver/shared';
import { createMetricsRegistry, serveConfiguredMetrics } from '@tokenserver/shared/metrics';
import { Command, InvalidArgumentError } from 'commander';
import { Supervisor } from './supervisor.js';
import { registerSupervisorMetrics } from './supervisor-metrics.js';

interface WorkerCliOptions {
  config?: string;
  processes?: number;
  maxJobs?: number;
  maxAge?: number;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function positiveNumber(value: string): number {
  const n = wholeNumber(value);
  if (n < 1) throw new InvalidArgumentError('expected a number of at least 1');
  return n;
}

const program = new Command('powerhose-worker')
  .description('Starts and supervises worker processes that run jobs for the broker')
  .option('-c, --config <path>', 'config file (default: $TOKENSERVER_CONFIG or config/default.toml)')
  .option('-n, --processes <n>', 'worker processes to run (default: [worker] processes)', positiveNumber)
  .option('--max-jobs <j>', 'recycle a process after about J jobs, 0 = never (default: [worker] max_jobs)', wholeNumber)
  .option(
    '--max-age <s>',
    'recycle a process after about S seconds, 0 = never (default: [worker] max_age_s)',
    wholeNumber,
  )
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CONFIG))
  .action((options: WorkerCliOptions) => runSupervisor(options));

async function runSupervisor(options: WorkerCliOptions): Promise<void> {
  const { config } = loadConfigOrExit(options.config);
  const log = createLogger('worker-supervisor', config);
  warnAboutUnsafeSettings(log, config);
  const supervisor = new Supervisor({
    processes: options.processes ?? config.worker.processes,
    configPath: options.config,
    maxJobs: options.maxJobs ?? config.worker.max_jobs,
    maxAgeS: options.maxAge ?? config.worker.max_age_s,
    restartBackoffMs: config.worker.restart_backoff_ms,
    restartBackoffMaxMs: config.worker.restart_backoff_max_ms,
    stopGraceMs: config.broker.shutdown_grace_ms,
    log,
  });
  // Before any worker starts: a metrics port that cannot be bound stops the supervisor with a message, alone.
  if (config.worker.metrics_port > 0) {
    const registry = createMetricsRegistry();
    registerSupervisorMetrics(registry, supervisor);
    const metrics = await serveConfiguredMetrics(registry, config.worker).catch((err: Error) => {
      process.stderr.write(`powerhose-worker: ${err.message}\n`);
      process.exit(1);
    });
    log.info({ url: metrics?.url }, 'worker supervisor metrics');
  }
  supervisor.start();
  log.info({ pids: supervisor.pids }, 'workers started');
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping workers');
    await supervisor.stop();
    process.exit(0);
  };
  onStopSignal(stop);
}

await program.parseAsync();
