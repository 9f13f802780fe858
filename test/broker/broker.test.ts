import { randomBytes } from 'node:crypto';
import { Command, encodeControl, JobBatch, PROTOCOL_VERSION } from '@tokenserver/shared';
import type { PowerhoseClient } from '@tokenserver/shared/client';
import { expect } from 'chai';
import { Dealer } from 'zeromq';
import { ClusterEnv, outcomes, type Transport, waitForWorkers } from '../support/powerhose.js';
import { eventually, type RunningProcess, runToExit, sleep } from '../support/processes.js';

for (const transport of ['ipc', 'tcp'] as Transport[]) {
  describe(`broker over ${transport}`, function () {
    this.timeout(30_000);
    let cluster: ClusterEnv;
    let processes: RunningProcess[];
    let clients: PowerhoseClient[];

    async function start(overrides: Record<string, string> = {}, workers = 2) {
      cluster = await ClusterEnv.create(transport, overrides);
      const broker = await cluster.startBroker();
      const workerProcs = Array.from({ length: workers }, () => cluster.startWorker());
      processes.push(broker, ...workerProcs);
      const client = cluster.client();
      clients.push(client);
      await waitForWorkers(client, workers);
      return { broker, workers: workerProcs, client };
    }

    beforeEach(() => {
      processes = [];
      clients = [];
    });

    afterEach(async () => {
      for (const client of clients) client.close();
      await Promise.all(processes.map((proc) => proc.stop('SIGKILL')));
      cluster?.cleanup();
    });

    it('answers a job with the worker reply', async () => {
      const { client } = await start({}, 1);
      const reply = await client.submit('echo', Buffer.from('hello'));
      expect(reply.toString()).to.equal('hello');
    });

    it('answers 1000 concurrent jobs over 2 workers, each with its own reply', async () => {
      const { client } = await start();
      const bodies = Array.from({ length: 1000 }, (_, i) => Buffer.from(`job-${i}`));
      const replies = await Promise.all(bodies.map((body) => client.submit('echo', body)));
      expect(replies.map(String)).to.deep.equal(bodies.map(String));
    });

    it('spreads work over both workers instead of queueing behind a busy one', async () => {
      const { client } = await start();
      // Two 300 ms jobs: in parallel on two workers they take ~300 ms, in series ~600 ms.
      const started = Date.now();
      await Promise.all([client.submit('burn', Buffer.from('300')), client.submit('burn', Buffer.from('300'))]);
      expect(Date.now() - started).to.be.below(550);
    });

    it('answers a job of an unknown kind with NO_WORKER and a bad body with BAD_JOB', async () => {
      const { client } = await start({}, 1);
      const result = await outcomes([
        client.submit('no-such-kind', Buffer.alloc(0)),
        client.submit('burn', Buffer.from('x')),
      ]);
      expect(result.errors).to.deep.equal({ ERR_NO_WORKER: 1, ERR_BAD_JOB: 1 });
    });

    it('re-dispatches the jobs of a worker killed with -9 mid-job: every job answered once', async () => {
      const { client, workers } = await start();
      const jobs = Array.from({ length: 20 }, () => client.submit('burn', Buffer.from('100'), 15_000));
      await sleep(150); // both workers are busy now
      workers[0]?.child.kill('SIGKILL');
      const result = await outcomes(jobs);
      expect(result.errors).to.deep.equal({});
      expect(result.ok).to.have.length(20);
    });

    it('serves new jobs within 5 s after the broker is killed and restarted', async () => {
      const { broker, client } = await start();
      broker.child.kill('SIGKILL');
      await broker.exit;
      const restarted = await cluster.startBroker();
      processes.push(restarted);
      const restartedAt = Date.now();
      for (;;) {
        try {
          expect(String(await client.submit('echo', Buffer.from('back'), 500))).to.equal('back');
          break;
        } catch {
          expect(Date.now() - restartedAt).to.be.below(5000);
          await sleep(50);
        }
      }
      await waitForWorkers(client, 2, 5000);
    });

    it('gives the client a timeout for a job hanging past its deadline, and routes new jobs around the hung worker', async () => {
      const { client } = await start();
      const hung = client.submit('burn', Buffer.from('3000'), 800);
      // Its job thread stalls; the worker tells the broker to skip it.
      await eventually(() => client.brokerStatus().last?.pausedWorkers === 1, 2000);
      const others = Array.from({ length: 20 }, () => client.submit('echo', Buffer.from('x'), 1000));
      const result = await outcomes([hung, ...others]);
      expect(result.errors).to.deep.equal({ ERR_JOB_TIMEOUT: 1 });
      expect(result.ok).to.have.length(20);
    });

    it('answers BUSY at once when the queue is full', async () => {
      const { client } = await start({ TOKENSERVER_BROKER__MAX_QUEUE: '3', TOKENSERVER_WORKER__CONCURRENCY: '1' }, 1);
      const started = Date.now();
      const jobs = Array.from({ length: 8 }, () => client.submit('burn', Buffer.from('200'), 10_000));
      const firstBusy = jobs.map((job) => job.then(() => Number.POSITIVE_INFINITY).catch(() => Date.now() - started));
      const result = await outcomes(jobs);
      expect(result.errors).to.deep.equal({ ERR_BROKER_BUSY: 4 });
      expect(result.ok).to.have.length(4);
      expect(Math.min(...(await Promise.all(firstBusy)))).to.be.below(150);
    });

    it('answers EXPIRED for a queued job whose deadline passes before a worker frees up', async () => {
      const { client } = await start({ TOKENSERVER_WORKER__CONCURRENCY: '1' }, 1);
      const long = client.submit('burn', Buffer.from('600'), 5000);
      const queued = client.submit('echo', Buffer.from('late'), 250);
      const result = await outcomes([long, queued]);
      // The client's own timer and the broker's EXPIRED race; either way the job is not run late.
      expect(result.ok).to.have.length(1);
      expect(Object.keys(result.errors)).to.satisfy((codes: string[]) =>
        codes.every((code) => code === 'ERR_JOB_EXPIRED' || code === 'ERR_JOB_TIMEOUT'),
      );
    });

    it('drops malformed frames on both sockets, logs them, and keeps serving', async () => {
      const { broker, client } = await start({}, 1);
      const intruder = new Dealer({ linger: 0 });
      intruder.connect(cluster.frontend);
      const fakeWorker = new Dealer({ linger: 0 });
      fakeWorker.connect(cluster.backend);
      const truncated = new JobBatch();
      truncated.push(1, Date.now() + 1000, 'echo', Buffer.from('abc'));
      const garbage = [
        randomBytes(64),
        Buffer.from([PROTOCOL_VERSION + 1, Command.Submit, 0, 0]),
        truncated.take(Command.Submit).subarray(0, 12),
        Buffer.from([PROTOCOL_VERSION, 0x7f]),
        Buffer.alloc(0),
      ];
      for (const frame of garbage) {
        await intruder.send(frame);
        await fakeWorker.send(frame);
      }
      await fakeWorker.send(encodeControl(Command.Ready)); // READY without its payload
      await sleep(200);
      intruder.close();
      fakeWorker.close();
      expect(String(await client.submit('echo', Buffer.from('still here')))).to.equal('still here');
      const warnings = broker.logLines().filter((line) => /dropped malformed/.test(String(line.msg)));
      expect(warnings.length).to.be.at.least(garbage.length);
    });

    it('refuses a second broker on the same endpoints and leaves the first one serving', async () => {
      const { client } = await start({}, 1);
      const second = await runToExit(process.execPath, ['broker/dist/cli.js'], cluster.env);
      expect(second.code).to.equal(1);
      expect(second.stderr).to.match(transport === 'ipc' ? /another broker \(pid \d+\) is running/ : /already in use/);
      expect(String(await client.submit('echo', Buffer.from('first')))).to.equal('first');
    });

    it('drains on SIGTERM: in-flight jobs finish, then it exits 0', async () => {
      const { broker, client } = await start({}, 1);
      const inFlight = client.submit('burn', Buffer.from('300'));
      await sleep(100);
      const exit = broker.stop('SIGTERM');
      expect(String(await inFlight)).to.equal('300');
      expect((await exit).code).to.equal(0);
    });
  });
}
