import { createServer, type Server } from 'node:net';
import { encodeJobBody, TokenJob } from '@tokenserver/shared';
import type { PowerhoseClient } from '@tokenserver/shared/client';
import { expect } from 'chai';
import { sample } from '../support/metrics.js';
import { createSigningKey, JwksServer, mintAccessToken } from '../support/oauth.js';
import { BROKER_CLI, ClusterEnv, freePort, outcomes, WORKER_CLI, waitForWorkers } from '../support/powerhose.js';
import { eventually, type RunningProcess, runToExit } from '../support/processes.js';

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

  it('counts JWKS downloads made by the workers verifying OAuth tokens, and the cache hits after them', async () => {
    const verify = async () => {
      const token = await mintAccessToken(await signingKey);
      const verdict = JSON.parse(String(await client.submit(TokenJob.verifyOAuth, encodeJobBody({ token }))));
      expect(verdict.ok, JSON.stringify(verdict)).to.equal(true);
    };
    await verify();
    await eventually(async () => ((await sample(workerMetrics, 'tokenserver_jwks_fetches_total')) ?? 0) >= 1, 3000);
    expect(await sample(workerMetrics, 'tokenserver_jwks_cache_hits_total')).to.equal(0);
    await verify();
    await verify();
    await eventually(async () => (await sample(workerMetrics, 'tokenserver_jwks_cache_hits_total')) === 2, 3000);
    expect(await sample(workerMetrics, 'tokenserver_jwks_fetches_total')).to.equal(1);
    expect(jwks.fetches).to.equal(1);
    expect(await sample(workerMetrics, 'tokenserver_jwks_fetch_failures_total')).to.equal(0);
  });

  it('shows the job in flight, and counts a queued job whose deadline passed as EXPIRED', async () => {
    const expiredBefore = (await sample(brokerMetrics, 'powerhose_broker_expired_total')) ?? 0;
    const long = client.submit('burn', Buffer.from('800'), 5000);
    await eventually(async () => (await sample(brokerMetrics, 'powerhose_broker_jobs_in_flight')) === 1, 2000);
    // Concurrency 1: this one waits in the queue past its deadline; the broker answers EXPIRED on its next tick.
    const late = client.submit('echo', Buffer.from('late'), 200);
    const result = await outcomes([long, late]);
    expect(result.ok.map(String)).to.deep.equal(['800']);
    expect(await sample(brokerMetrics, 'powerhose_broker_expired_total')).to.equal(expiredBefore + 1);
    expect(await sample(brokerMetrics, 'powerhose_broker_jobs_in_flight')).to.equal(0);
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

describe('broker metrics when workers die mid-job', function () {
  this.timeout(30_000);
  let cluster: ClusterEnv;
  let procs: RunningProcess[];
  let client: PowerhoseClient;
  let brokerMetrics: string;

  before(async () => {
    const port = await freePort();
    cluster = await ClusterEnv.create('ipc', {
      TOKENSERVER_BROKER__METRICS_PORT: String(port),
      // Not loopback's usual address: proves [broker] metrics_host is applied (all of 127/8 is local on Linux).
      TOKENSERVER_BROKER__METRICS_HOST: '127.0.0.2',
      TOKENSERVER_BROKER__MAX_ATTEMPTS: '2',
      // The broker's per-job lines say which worker holds the job.
      TOKENSERVER_LOG__LEVEL: 'debug',
    });
    brokerMetrics = `http://127.0.0.2:${port}/metrics`;
    procs = [await cluster.startBroker()];
    client = cluster.client();
  });

  after(async () => {
    client.close();
    await Promise.all(procs.map((proc) => proc.stop('SIGKILL')));
    cluster.cleanup();
  });

  /** Kills the worker process the broker's debug log says the `attempt`th dispatch of the job went to. */
  async function killWorkerOf(attempt: number): Promise<void> {
    const broker = procs[0] as RunningProcess;
    const dispatch = await eventually(() =>
      broker.logLines().find((line) => line.msg === 'job dispatched' && line.attempts === attempt),
    );
    const pid = Number(String(dispatch.worker).split(':').at(-1));
    const worker = procs.find((proc) => proc.pid === pid) as RunningProcess;
    worker.child.kill('SIGKILL');
    await worker.exit;
  }

  it('counts a re-dispatch when a job loses its worker, and WORKER_LOST when it loses max_attempts of them', async () => {
    procs.push(cluster.startWorker(), cluster.startWorker());
    await waitForWorkers(client, 2);
    const job = client.submit('burn', Buffer.from('20000'), 25_000);
    await eventually(async () => (await sample(brokerMetrics, 'powerhose_broker_jobs_in_flight')) === 1, 2000);
    await killWorkerOf(1);
    await eventually(async () => (await sample(brokerMetrics, 'powerhose_broker_job_retries_total')) === 1, 5000);
    expect(await sample(brokerMetrics, 'powerhose_broker_jobs_in_flight')).to.equal(1);
    expect(await sample(brokerMetrics, 'powerhose_broker_worker_lost_total')).to.equal(0);
    await killWorkerOf(2);
    const result = await outcomes([job]);
    expect(result.errors).to.deep.equal({ ERR_WORKER_LOST: 1 });
    expect(await sample(brokerMetrics, 'powerhose_broker_worker_lost_total')).to.equal(1);
    expect(await sample(brokerMetrics, 'powerhose_broker_job_retries_total')).to.equal(1);
    expect(await sample(brokerMetrics, 'powerhose_broker_jobs_in_flight')).to.equal(0);
    expect(await sample(brokerMetrics, 'powerhose_broker_heartbeat_misses_total')).to.equal(2);
  });
});

describe('a metrics port that is taken', function () {
  this.timeout(30_000);
  let taken: Server;
  let port: number;
  let cluster: ClusterEnv;

  before(async () => {
    port = await freePort();
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    cluster = await ClusterEnv.create('ipc', {
      TOKENSERVER_BROKER__METRICS_PORT: String(port),
      TOKENSERVER_WORKER__METRICS_PORT: String(port),
    });
  });

  after(() => {
    taken.close();
    cluster.cleanup();
  });

  it('stops the broker with a message that names the metrics address, and exit code 1', async () => {
    const result = await runToExit(process.execPath, [BROKER_CLI], cluster.env);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(`powerhose-broker: cannot listen on 127.0.0.1:${port} for metrics: `);
    expect(result.stderr).not.to.match(/another broker|\n\s+at /);
  });

  it('stops the worker supervisor before it starts any worker, with a message and exit code 1', async () => {
    const result = await runToExit(process.execPath, [WORKER_CLI, '-n', '1'], cluster.env);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(`powerhose-worker: cannot listen on 127.0.0.1:${port} for metrics: `);
    expect(result.stderr).not.to.match(/\n\s+at /);
    expect(result.stdout).not.to.include('worker started');
  });
});
