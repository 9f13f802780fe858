import type { PowerhoseClient } from '@tokenserver/shared/client';
import { expect } from 'chai';
import { endsBackoff } from '../../worker/src/supervisor.js';
import { ClusterEnv, outcomes, waitForWorkers } from '../support/powerhose.js';
import { descendantsOf, eventually, type RunningProcess, runToExit } from '../support/processes.js';

/** The first child process of `parent` not in `seen`, caught as soon as it is forked. */
async function newChildOf(parent: number, seen: readonly number[]): Promise<number> {
  const giveUpAt = Date.now() + 5000;
  while (Date.now() < giveUpAt) {
    const child = descendantsOf(parent).find((pid) => !seen.includes(pid));
    if (child !== undefined) return child;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`no new child of ${parent} within 5 s`);
}

/** Worker pids the supervisor reported as started, from the workers' own "worker started" lines. */
function workerPids(supervisor: RunningProcess): number[] {
  return supervisor
    .logLines()
    .filter((line) => line.msg === 'worker started')
    .map((line) => line.pid as number);
}

describe('powerhose-worker supervisor', function () {
  this.timeout(30_000);
  let cluster: ClusterEnv;
  let procs: RunningProcess[];
  let client: PowerhoseClient;

  beforeEach(async () => {
    cluster = await ClusterEnv.create('ipc');
    procs = [await cluster.startBroker()];
    client = cluster.client();
  });

  afterEach(async () => {
    client.close();
    await Promise.all(procs.map((proc) => proc.stop('SIGKILL')));
    cluster.cleanup();
  });

  it('starts N processes; running it again adds workers without restarting the broker', async () => {
    procs.push(cluster.startSupervisor(['--processes', '2']));
    await waitForWorkers(client, 2);
    procs.push(cluster.startSupervisor(['-n', '1']));
    await waitForWorkers(client, 3);
    expect(String(await client.submit('echo', Buffer.from('ok')))).to.equal('ok');
  });

  it('restarts a crashed worker', async () => {
    const supervisor = cluster.startSupervisor(['-n', '1']);
    procs.push(supervisor);
    await waitForWorkers(client, 1);
    const [first] = workerPids(supervisor);
    process.kill(first as number, 'SIGKILL');
    const second = await eventually(() => workerPids(supervisor).find((pid) => pid !== first));
    expect(second).to.be.a('number');
    await eventually(
      () => client.brokerStatus().last?.liveWorkers === 1 && client.submit('echo', Buffer.from('x')),
      5000,
    );
  });

  it('restarts a worker killed from outside after it started without backoff, however soon it is killed', async () => {
    const supervisor = cluster.startSupervisor(['-n', '1']);
    procs.push(supervisor);
    await waitForWorkers(client, 1);
    const killed: number[] = [];
    for (let i = 0; i < 4; i++) {
      const victim = await eventually(() => workerPids(supervisor).find((pid) => !killed.includes(pid)));
      await eventually(() => client.brokerStatus().last?.liveWorkers === 1 && client.submit('echo', Buffer.from('x')));
      process.kill(victim, 'SIGKILL');
      killed.push(victim);
    }
    const restartLines = () => supervisor.logLines().filter((line) => line.msg === 'worker exited: restarting');
    const restarts = await eventually(() => restartLines().length === 4 && restartLines());
    expect(restarts.map((line) => line.workerPid)).to.deep.equal(killed);
    expect(restarts.map((line) => line.restartInMs)).to.deep.equal([100, 100, 100, 100]);
  });

  it('backs off once a worker is killed while it starts three times in a row (the OOM killer taking each as it loads)', async () => {
    const supervisor = cluster.startSupervisor(['-n', '1']);
    procs.push(supervisor);
    const killed: number[] = [];
    for (let i = 0; i < 5; i++) {
      const victim = await newChildOf(supervisor.pid, killed);
      process.kill(victim, 'SIGKILL');
      killed.push(victim);
    }
    const restartLines = () => supervisor.logLines().filter((line) => line.msg === 'worker exited: restarting');
    const restarts = await eventually(() => restartLines().length === 5 && restartLines());
    expect(killed.filter((pid) => workerPids(supervisor).includes(pid))).to.deep.equal([], 'killed before it started');
    expect(restarts.map((line) => line.restartInMs)).to.deep.equal([100, 100, 200, 400, 800]);
    // Left alone, the next one starts and serves.
    await waitForWorkers(client, 1);
  });

  it('ends the backoff for a long life or a kill from outside, unless kills keep landing on starting workers', () => {
    // A worker that started resets its slot's count of workers killed while starting to 0.
    const exit = (livedMs: number, signal: string | null, killedWhileStarting = 0) =>
      endsBackoff({ livedMs, signal, killedWhileStarting });
    expect(exit(300, null), 'crashed on its own').to.equal(false);
    expect(exit(300, 'SIGSEGV'), 'crashed on a signal of its own').to.equal(false);
    expect(exit(300, 'SIGKILL', 2), 'killed while starting, the second time in a row').to.equal(true);
    expect(exit(300, 'SIGKILL', 3), 'killed while starting, the third time in a row').to.equal(false);
    expect(exit(300, 'SIGKILL'), 'killed once started').to.equal(true);
    expect(exit(300, 'SIGTERM'), 'stopped once started').to.equal(true);
    expect(exit(5000, 'SIGKILL', 3), 'lived long').to.equal(true);
  });

  it('recycles a worker after --max-jobs, starting its replacement first, with no job lost', async () => {
    const supervisor = cluster.startSupervisor(['-n', '1', '--max-jobs', '50']);
    procs.push(supervisor);
    await waitForWorkers(client, 1);
    const result = await outcomes(
      Array.from({ length: 300 }, (_, i) => client.submit('echo', Buffer.from(String(i)), 8000)),
    );
    expect(result.errors).to.deep.equal({});
    await eventually(() => workerPids(supervisor).length >= 2);
    await supervisor.waitForOutput(/worker recycling/);
    // The old process serves until its replacement has started; only then does it drain.
    const [first, second] = workerPids(supervisor);
    const lineOf = (msg: string, pid: number | undefined) =>
      supervisor.logLines().findIndex((line) => line.msg === msg && line.pid === pid);
    await eventually(() => lineOf('draining', first) >= 0);
    expect(lineOf('worker started', second)).to.be.within(0, lineOf('draining', first));
  });

  it('drains on SIGTERM: the running job completes, then every process exits 0', async () => {
    const supervisor = cluster.startSupervisor(['-n', '1']);
    procs.push(supervisor);
    await waitForWorkers(client, 1);
    const job = client.submit('burn', Buffer.from('300'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exit = supervisor.stop('SIGTERM');
    expect(String(await job)).to.equal('300');
    expect((await exit).code).to.equal(0);
    await eventually(() => client.brokerStatus().last?.liveWorkers === 0, 3000);
  });

  it('rejects bad arguments with a message and exit code 2', async () => {
    const result = await runToExit(process.execPath, ['worker/dist/cli.js', '--processes', 'many'], cluster.env);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(/--processes.*'many' is invalid.*expected a whole number/s);
  });
});
