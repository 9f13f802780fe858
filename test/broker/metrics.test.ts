import { encodeJobBody, TokenJob } from '@tokenserver/shared';
import type { PowerhoseClient } from '@tokenserver/shared/client';
import { expect } from 'chai';
import { createSigningKey, JwksServer, mintAccessToken } from '../support/oauth.js';
import { ClusterEnv, freePort, outcomes, waitForWorkers } from '../support/powerhose.js';
import { eventually, type RunningProcess } from '../support/processes.js';

/** One sample of a Prometheus text answer, or undefined. */
async function sample(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('broker and worker supervisor metrics', function () {
  this.timeout(30_000);
  let cluster: ClusterEnv;
  let procs: RunningProcess[];
  let client: PowerhoseClient;
  let brokerMetrics: string;
  let workerMetrics: string;
  let jwks: JwksServer;
  const signingKey = createSigningKey('metrics-test');

  before(async () => {
    const [brokerPort, workerPort] = [await freePort(), await freePort()];
    jwks = await JwksServer.start([(await signingKey).publicJwk]);
    cluster = await ClusterEnv.create('ipc', {
      TOKENSERVER_OAUTH__JWKS_URL: jwks.url,
      TOKENSERVER_BROKER__METRICS_PORT: String(brokerPort),
      TOKENSERVER_WORKER__METRICS_PORT: String(workerPort),
      TOKENSERVER_BROKER__MAX_QUEUE: '1',
      TOKENSERVER_WORKER__CONCURRENCY: '1',
    });
    brokerMetrics = `http://127.0.0.1:${brokerPort}/metrics`;
    workerMetrics = `http://127.0.0.1:${workerPort}/metrics`;
    procs = [await cluster.startBroker(), cluster.startSupervisor(['-n', '1'])];
    client = cluster.client();
    await waitForWorkers(client, 1);
  });

  after(async () => {
    await jwks.close();
    client.close();
    await Promise.all(procs.map((proc) => proc.stop('SIGKILL')));
    cluster.cleanup();
  });

  it('counts jobs, BUSY and NO_WORKER answers, and shows live workers and the queue', async () => {
    const result = await outcomes([
      ...Array.from({ length: 4 }, () => client.submit('burn', Buffer.from('100'))),
      client.submit('no-such-kind', Buffer.alloc(0)),
    ]);
    expect(result.errors).to.deep.equal({ ERR_BROKER_BUSY: 2, ERR_NO_WORKER: 1 });
    expect(await sample(brokerMetrics, 'powerhose_broker_jobs_submitted_total')).to.be.at.least(5);
    expect(await sample(brokerMetrics, 'powerhose_broker_busy_total')).to.equal(2);
    expect(await sample(brokerMetrics, 'powerhose_broker_no_worker_total')).to.equal(1);
    expect(await sample(brokerMetrics, 'powerhose_broker_queued_jobs_total')).to.equal(1);
    expect(await sample(brokerMetrics, 'powerhose_broker_queue_wait_seconds_total')).to.be.above(0.05);
    expect(await sample(brokerMetrics, 'powerhose_broker_live_workers')).to.equal(1);
    expect(await sample(brokerMetrics, 'powerhose_broker_queue_depth')).to.equal(0);
  });

  it('counts JWKS downloads made by the workers verifying OAuth tokens', async () => {
    const token = await mintAccessToken(await signingKey);
    const verdict = JSON.parse(String(await client.submit(TokenJob.verifyOAuth, encodeJobBody({ token }))));
    expect(verdict.ok, JSON.stringify(verdict)).to.equal(true);
    await eventually(async () => ((await sample(workerMetrics, 'tokenserver_jwks_fetches_total')) ?? 0) >= 1, 3000);
    expect(await sample(workerMetrics, 'tokenserver_jwks_fetch_failures_total')).to.equal(0);
  });

  it('counts worker restarts and heartbeat misses when a worker process dies', async () => {
    const supervisor = procs[1] as RunningProcess;
    const pid = supervisor.logLines().find((line) => line.msg === 'worker started')?.pid as number;
    process.kill(pid, 'SIGKILL');
    await eventually(async () => (await sample(workerMetrics, 'powerhose_worker_restarts_total')) === 1, 5000);
    await eventually(
      async () => ((await sample(brokerMetrics, 'powerhose_broker_heartbeat_misses_total')) ?? 0) >= 1,
      5000,
    );
    await eventually(async () => (await sample(workerMetrics, 'powerhose_worker_processes')) === 1, 5000);
  });
});
