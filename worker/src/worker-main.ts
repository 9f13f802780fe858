// Entry point of one worker process, forked by the supervisor (`powerhose-worker`).
import { brokerEndpoints, createLogger, loadConfigOrExit } from '@tokenserver/shared';
import { WorkerProcess } from './worker-process.js';

export interface WorkerMainArgs {
  configPath?: string;
  maxJobs: number;
  maxAgeMs: number;
}

/** The supervisor passes its settings in the environment so argv stays readable in `ps`. */
function argsFromEnv(): WorkerMainArgs {
  return {
    configPath: process.env.POWERHOSE_WORKER_CONFIG || undefined,
    maxJobs: Number(process.env.POWERHOSE_WORKER_MAX_JOBS ?? 0),
    maxAgeMs: Number(process.env.POWERHOSE_WORKER_MAX_AGE_MS ?? 0),
  };
}

const args = argsFromEnv();
const { config } = loadConfigOrExit(args.configPath);
const log = createLogger('worker', config);
const worker = new WorkerProcess({
  config,
  backend: brokerEndpoints(config.broker).backend,
  log,
  maxJobs: args.maxJobs,
  maxAgeMs: args.maxAgeMs,
  onDraining: () => process.send?.({ type: 'draining' }),
});

async function stop(reason: string): Promise<void> {
  await worker.drain(reason);
  process.exit(0);
}

process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
// The supervisor is gone (even kill -9): finish what we hold and leave.
process.once('disconnect', () => void stop('supervisor gone'));
worker.start();
