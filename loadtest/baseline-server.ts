// The in-process baseline of `npm run bench`: the same Express app as the web front, but every
// process verifies and signs itself (node:cluster, one process per core) — the design a user would
// pick instead of the broker. Not a deployment option: it puts the signing secret in the web process.
//
//   node --import tsx loadtest/baseline-server.ts [--processes N]   (config as for the stack)
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { type Config, createLogger, loadConfigOrExit, loadTokenSecrets } from '@tokenserver/shared';
import type { BrokerStatus } from '@tokenserver/shared/client';
import { createMetricsRegistry } from '@tokenserver/shared/metrics';
import { createWebFront } from '@tokenserver/web/app';
import { prepareStore } from '@tokenserver/web/db/bootstrap';
import { applyNice } from '@tokenserver/web/process-nice';
import { httpLimits, listen } from '@tokenserver/web/server';
import { jobHandlers } from '@tokenserver/worker';
import { emptyKeyFetchStats } from '@tokenserver/worker/auth/key-fetch-stats';
import type { JobRunner } from '@tokenserver/worker/jobs/job-handler';

/** Runs the workers' job handlers in this process, behind the web front's job-client interface. */
class InProcessJobs {
  private readonly runners: Map<string, JobRunner>;

  constructor(config: Config) {
    const context = { keyFetchStats: emptyKeyFetchStats() };
    this.runners = new Map(jobHandlers.map((handler) => [handler.kind, handler.create(config, context)]));
  }

  async submit(kind: string, body: Buffer, timeoutMs = 5000): Promise<Buffer> {
    const run = this.runners.get(kind);
    if (!run) throw Object.assign(new Error(`unknown job kind ${kind}`), { code: 'ERR_BAD_JOB' });
    return run(body, Date.now() + timeoutMs);
  }

  brokerStatus(): BrokerStatus {
    return { connected: true, last: { liveWorkers: 1, pausedWorkers: 0, queued: 0, inFlight: 0 } };
  }
}

async function serve(): Promise<void> {
  const { config } = loadConfigOrExit(process.env.TOKENSERVER_CONFIG);
  const log = createLogger('baseline', config);
  const { store } = await prepareStore(config);
  const version = { source: 'loadtest/baseline-server.ts', version: 'baseline', commit: '', build: '' };
  const jobs = new InProcessJobs(config);
  const { handler } = createWebFront({ config, store, jobs, log, version, metrics: createMetricsRegistry() });
  const server = await listen(handler, config.web.host, config.web.port, httpLimits(config));
  process.stdout.write(`baseline listening on ${server.url} (pid ${process.pid})\n`);
  process.once('SIGTERM', () => process.exit(0));
  process.once('disconnect', () => process.exit(0)); // the primary is gone
}

function processesFromArgs(): number {
  const at = process.argv.indexOf('--processes');
  return at > 0 ? Number(process.argv[at + 1]) : availableParallelism();
}

if (cluster.isPrimary) {
  const { config } = loadConfigOrExit(process.env.TOKENSERVER_CONFIG);
  loadTokenSecrets(config.tokens, config.broker.run_dir, { create: true }); // before the children race for it
  applyNice(config.web.nice); // [web] nice, as the web front applies it; the processes forked below inherit it
  const processes = processesFromArgs();
  for (let i = 0; i < processes; i++) cluster.fork();
  cluster.on('exit', (worker, code) => {
    if (code !== 0) process.stderr.write(`baseline process ${worker.process.pid} exited with ${code}\n`);
  });
  process.once('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  await serve();
}
