import { connect } from 'node:net';
import { join } from 'node:path';
import { Command, JobBatch } from '@tokenserver/shared';
import type { PowerhoseClient } from '@tokenserver/shared/client';
import { expect } from 'chai';
import { Dealer } from 'zeromq';
import { ClusterEnv, freePort, waitForWorkers } from '../support/powerhose.js';
import { RunningProcess, sleep } from '../support/processes.js';
import { WEB_MAIN } from '../support/stack.js';

const PLAINTEXT_WARNING = /TCP TRANSPORT WITHOUT CURVE/;

describe('broker transport limits and warnings', function () {
  this.timeout(30_000);
  let cluster: ClusterEnv;
  let procs: RunningProcess[];
  let clients: PowerhoseClient[];

  beforeEach(() => {
    procs = [];
    clients = [];
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    await Promise.all(procs.map((proc) => proc.stop('SIGKILL')));
    cluster.cleanup();
  });

  async function start(transport: 'ipc' | 'tcp', overrides: Record<string, string> = {}): Promise<RunningProcess> {
    cluster = await ClusterEnv.create(transport, overrides);
    const broker = await cluster.startBroker();
    procs.push(broker);
    return broker;
  }

  function client(): PowerhoseClient {
    const made = cluster.client();
    clients.push(made);
    return made;
  }

  it('warns loudly in the broker, the workers and the web front when TCP runs without CURVE', async () => {
    const broker = await start('tcp');
    const worker = cluster.startWorker();
    const web = new RunningProcess(process.execPath, [WEB_MAIN], {
      ...cluster.env,
      TOKENSERVER_WEB__PORT: String(await freePort()),
      TOKENSERVER_DATABASE__URL: `sqlite:${join(cluster.runDir, 'web.db')}`,
    });
    procs.push(worker, web);
    await web.waitForOutput(/web listening/, 20_000);
    await waitForWorkers(client(), 1);
    for (const proc of [broker, worker, web]) {
      const warning = proc.logLines().find((line) => PLAINTEXT_WARNING.test(String(line.msg)));
      expect(warning, proc.stdout).to.include({ level: 40 });
      expect(proc.stderr).to.match(PLAINTEXT_WARNING);
    }
  });

  it('a worker supervisor warns once for all its workers, not once per worker', async () => {
    await start('tcp');
    const supervisor = cluster.startSupervisor(['--processes', '2']);
    procs.push(supervisor);
    await waitForWorkers(client(), 2);
    const banners = supervisor.stderr.match(new RegExp(PLAINTEXT_WARNING, 'g')) ?? [];
    expect(banners, supervisor.stderr).to.have.length(1);
  });

  it('does not warn over IPC', async () => {
    const broker = await start('ipc');
    const worker = cluster.startWorker();
    procs.push(worker);
    await waitForWorkers(client(), 1);
    expect(broker.stdout + broker.stderr + worker.stdout + worker.stderr).not.to.match(PLAINTEXT_WARNING);
  });

  it('disconnects a peer sending a message over max_message_bytes and keeps serving the others', async () => {
    await start('tcp', { TOKENSERVER_BROKER__MAX_MESSAGE_BYTES: String(64 * 1024) });
    procs.push(cluster.startWorker());
    const good = client();
    await waitForWorkers(good, 1);
    const hostile = new Dealer({ linger: 0, receiveTimeout: 1000 });
    const disconnected = new Promise<void>((resolve) => hostile.events.on('disconnect', () => resolve()));
    hostile.connect(cluster.frontend);
    const oversized = new JobBatch();
    oversized.push(1, Date.now() + 10_000, 'echo', Buffer.alloc(100 * 1024, 'x'));
    await hostile.send(oversized.take(Command.Submit));
    const kept = sleep(5000).then(() => {
      throw new Error('the broker kept a peer that sent an oversized message');
    });
    await Promise.race([disconnected, kept]);
    const answer = await hostile.receive().then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code,
    );
    hostile.close();
    expect(answer).to.equal('EAGAIN');
    const fits = Buffer.alloc(32 * 1024, 'y');
    expect(Buffer.compare(await good.submit('echo', fits), fits)).to.equal(0);
  });

  it('drops a TCP peer that does not finish the ZeroMQ handshake within handshake_timeout_ms', async () => {
    await start('tcp', { TOKENSERVER_BROKER__HANDSHAKE_TIMEOUT_MS: '300' });
    const [host, port] = (cluster.env.TOKENSERVER_BROKER__FRONTEND as string).split(':');
    const silent = connect(Number(port), host).resume(); // reads the broker's greeting, and so sees the close
    const opened = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      silent.on('close', () => resolve(Date.now() - opened));
      silent.on('error', () => {});
      setTimeout(() => reject(new Error('a silent peer was kept past 3 s')), 3000);
    }).finally(() => silent.destroy());
    expect(closedAfter).to.be.within(200, 2500);
  });
});
