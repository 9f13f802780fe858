import type { PowerhoseClient } from '@tokenserver/shared/client';
import { expect } from 'chai';
import { ClusterEnv, outcomes, waitForWorkers } from '../support/powerhose.js';
import { eventually, type RunningProcess, sleep } from '../support/processes.js';

type LogLine = Record<string, unknown>;

/** The log lines of `proc` about job `jobId`. */
function linesOfJob(proc: RunningProcess, jobId: unknown): LogLine[] {
  return proc.logLines().filter((line) => line.jobId === jobId);
}

describe('job-level logs in the broker and workers', function () {
  this.timeout(30_000);
  let cluster: ClusterEnv;
  let procs: RunningProcess[];
  let client: PowerhoseClient;

  async function start(level: string, workers: number): Promise<{ broker: RunningProcess; workers: RunningProcess[] }> {
    cluster = await ClusterEnv.create('ipc', { TOKENSERVER_LOG__LEVEL: level });
    const broker = await cluster.startBroker();
    const started = Array.from({ length: workers }, () => cluster.startWorker());
    procs = [broker, ...started];
    client = cluster.client();
    await waitForWorkers(client, workers);
    return { broker, workers: started };
  }

  afterEach(async () => {
    client.close();
    await Promise.all(procs.map((proc) => proc.stop('SIGKILL')));
    cluster.cleanup();
  });

  it('at debug, traces a job through the broker and the worker under the same job id', async () => {
    const { broker, workers } = await start('debug', 1);
    const worker = workers[0] as RunningProcess;
    // An inline kind (socket thread) and a job-thread kind.
    expect(String(await client.submit('echo', Buffer.from('traced')))).to.equal('traced');
    expect(String(await client.submit('burn', Buffer.from('10')))).to.equal('10');
    for (const kind of ['echo', 'burn']) {
      const dispatched = await eventually(() =>
        broker.logLines().find((line) => line.msg === 'job dispatched' && line.kind === kind),
      );
      expect(dispatched).to.include({ level: 20, attempts: 1 });
      expect(dispatched.worker).to.be.a('string');
      const jobId = dispatched.jobId;
      expect(jobId).to.be.a('number');
      // Log lines travel through pipes: they may arrive after the reply.
      await eventually(() => linesOfJob(worker, jobId).some((line) => line.msg === 'job finished'));
      await eventually(() => linesOfJob(broker, jobId).some((line) => line.msg === 'job answered'));
      expect(linesOfJob(broker, jobId).map((line) => line.msg)).to.deep.equal(['job dispatched', 'job answered']);
      expect(linesOfJob(broker, jobId).at(-1)).to.include({ status: 'Ok' });
      expect(linesOfJob(worker, jobId).map((line) => [line.msg, line.kind])).to.deep.equal([
        ['job started', kind],
        ['job finished', kind],
      ]);
    }
  });

  it('at info, logs no line per job, but a warning keyed by job id when one fails or is re-dispatched', async () => {
    const { broker, workers } = await start('info', 2);
    expect(String(await client.submit('echo', Buffer.from('quiet')))).to.equal('quiet');
    const failed = await outcomes([client.submit('burn', Buffer.from('not a number'))]);
    expect(failed.errors).to.deep.equal({ ERR_BAD_JOB: 1 });
    const jobs = Array.from({ length: 4 }, () => client.submit('burn', Buffer.from('400'), 10_000));
    await sleep(150); // both workers hold jobs now
    (workers[0] as RunningProcess).child.kill('SIGKILL');
    const result = await outcomes(jobs);
    expect(result.errors).to.deep.equal({});

    const all = [broker, ...workers].flatMap((proc) => proc.logLines());
    expect(all.filter((line) => /^job (dispatched|answered|started|finished)$/.test(String(line.msg)))).to.be.empty;
    const failure = all.find((line) => line.msg === 'job failed');
    expect(failure).to.include({ level: 40, kind: 'burn', status: 'BadJob' });
    expect(failure?.jobId).to.be.a('number');
    const redispatched = broker.logLines().filter((line) => /^job re-dispatched/.test(String(line.msg)));
    expect(redispatched).to.have.length.within(1, 2);
    for (const line of redispatched) {
      expect(line).to.include({ level: 40, kind: 'burn', attempts: 1 });
      expect(line.jobId).to.be.a('number');
      expect(line.lostWorker).to.be.a('string');
    }
  });
});
