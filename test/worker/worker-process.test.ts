import { join } from 'node:path';
import { createLogger, loadConfig } from '@tokenserver/shared';
import type { PowerhoseClient } from '@tokenserver/shared/client';
import { expect } from 'chai';
import { WorkerProcess } from '../../worker/dist/worker-process.js';
import { ClusterEnv, waitForWorkers } from '../support/powerhose.js';
import { REPO_ROOT, type RunningProcess, sleep } from '../support/processes.js';

describe('worker process', () => {
  let cluster: ClusterEnv | undefined;
  let broker: RunningProcess | undefined;
  let client: PowerhoseClient | undefined;

  afterEach(async () => {
    client?.close();
    broker?.child.kill('SIGKILL');
    await broker?.exit;
    cluster?.cleanup();
  });

  it('told to stop twice, both stops wait for the one drain: the job it holds is answered first', async () => {
    cluster = await ClusterEnv.create('ipc');
    broker = await cluster.startBroker();
    const workerEnv = { ...cluster.env, TOKENSERVER_LOG__LEVEL: 'error' };
    const { config } = loadConfig(join(REPO_ROOT, 'config/default.toml'), workerEnv);
    const worker = new WorkerProcess({
      config,
      backend: cluster.backend,
      log: createLogger('worker', config),
      maxJobs: 0,
      maxAgeMs: 0,
    });
    await worker.start();
    client = cluster.client();
    await waitForWorkers(client, 1);

    let answeredAt = 0;
    const job = client.submit('burn', Buffer.from('400')).then(() => {
      answeredAt = performance.now();
    });
    await sleep(100); // the worker now holds the job
    const first = worker.drain('supervisor gone');
    // As worker-main does when SIGTERM follows: a second stop must not end the process before the drain does.
    const secondStoppedAt = await worker.drain('SIGTERM').then(() => performance.now());
    await Promise.all([first, job]);
    expect(answeredAt, 'the held job was answered').to.be.greaterThan(0);
    expect(secondStoppedAt, 'the second stop resolved before the held job was answered').to.be.at.least(answeredAt);
  });
});
