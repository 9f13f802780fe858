// Entry point of one worker process, forked by the supervisor (`powerhose-worker`).
import {
  brokerEndpoints,
  createLogger,
  loadConfigOrExit,
  onStopSignal,
  warnAboutUnsafeSettings,
} from '@tokenserver/shared';
import { loadTokenSecrets } from './tokens/secrets-source.js';
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
ensureTokenSecrets();
// Under a supervisor, the supervisor warns once for all its workers (and their replacements).
if (!process.send) warnAboutUnsafeSettings(log, config);
const worker = new WorkerProcess({
  config,
  backend: brokerEndpoints(config.broker).backend,
  log,
  maxJobs: args.maxJobs,
  maxAgeMs: args.maxAgeMs,
  onDraining: () => process.send?.({ type: 'draining' }),
  onRecycleDue: process.send ? () => process.send?.({ type: 'recycle' }) : undefined,
  onStarted: () => process.send?.({ type: 'started' }),
  onStats: (keyFetchStats) => process.send?.({ type: 'stats', keyFetchStats }),
});

/** Secrets not configured are generated once into the run directory (never a built-in default). */
function ensureTokenSecrets(): void {
  try {
    const { generated } = loadTokenSecrets(config.tokens, config.broker.run_dir, { create: true });
    for (const file of generated.filter((f) => f.created)) {
      log.warn(
        { path: file.path },
        'no token secret configured: generated one (set [tokens] master_secret to share it with nodes)',
      );
    }
  } catch (err) {
    log.error({ err: (err as Error).message }, 'token secrets unavailable: sign-token jobs will fail');
  }
}

async function stop(reason: string): Promise<void> {
  await worker.drain(reason);
  process.exit(0);
}

onStopSignal(stop);
// The supervisor is gone (even kill -9): finish what we hold and leave.
process.once('disconnect', () => void stop('supervisor gone'));
await worker.start();
