import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { PowerhoseClient } from '@tokenserver/shared/client';
import { readKeyPair } from '@tokenserver/shared/curve';
import { expect } from 'chai';
import { BROKER_CLI, ClusterEnv, outcomes, waitForWorkers } from '../support/powerhose.js';
import { eventually, type RunningProcess, runToExit, sleep } from '../support/processes.js';

/** `powerhose-broker keygen --out FILE`, returning the public key it prints. */
async function keygen(path: string): Promise<string> {
  const result = await runToExit(process.execPath, [BROKER_CLI, 'keygen', '--out', path]);
  expect(result.code, result.stderr).to.equal(0);
  return result.stdout.trim();
}

describe('broker over TCP with CURVE', function () {
  this.timeout(30_000);
  let cluster: ClusterEnv;
  let procs: RunningProcess[];
  let clients: PowerhoseClient[];
  let keys: Record<'broker' | 'worker' | 'web' | 'intruder', { file: string; publicKey: string }>;

  beforeEach(async () => {
    procs = [];
    clients = [];
    const base = await ClusterEnv.create('tcp');
    const file = (name: string) => join(base.runDir, `${name}.key`);
    keys = {
      broker: { file: file('broker'), publicKey: await keygen(file('broker')) },
      worker: { file: file('worker'), publicKey: await keygen(file('worker')) },
      web: { file: file('web'), publicKey: await keygen(file('web')) },
      intruder: { file: file('intruder'), publicKey: await keygen(file('intruder')) },
    };
    cluster = await ClusterEnv.create('tcp', {
      ...base.env,
      TOKENSERVER_SECURITY__CURVE: 'true',
      TOKENSERVER_SECURITY__BROKER_PUBLIC_KEY: keys.broker.publicKey,
      TOKENSERVER_SECURITY__KEY_FILE: keys.broker.file,
      TOKENSERVER_SECURITY__ALLOWED_WORKER_KEYS: JSON.stringify([keys.worker.publicKey]),
      TOKENSERVER_SECURITY__ALLOWED_CLIENT_KEYS: JSON.stringify([keys.web.publicKey]),
    });
    procs.push(await cluster.startBroker());
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    await Promise.all(procs.map((proc) => proc.stop('SIGKILL')));
    cluster.cleanup();
  });

  function clientWith(key: { file: string } | undefined): PowerhoseClient {
    const curve = key && {
      curveServerKey: keys.broker.publicKey,
      curvePublicKey: readKeyPair(key.file).publicKey,
      curveSecretKey: readKeyPair(key.file).secretKey,
    };
    const client = cluster.client(1000, curve);
    clients.push(client);
    return client;
  }

  it('serves listed web fronts and workers over an encrypted, authenticated connection', async () => {
    procs.push(cluster.startWorker({ TOKENSERVER_SECURITY__KEY_FILE: keys.worker.file }));
    const client = clientWith(keys.web);
    await waitForWorkers(client, 1);
    expect(String(await client.submit('echo', Buffer.from('secret stuff')))).to.equal('secret stuff');
  });

  it('refuses a web front whose key is not listed, and one without CURVE', async () => {
    procs.push(cluster.startWorker({ TOKENSERVER_SECURITY__KEY_FILE: keys.worker.file }));
    await waitForWorkers(clientWith(keys.web), 1);
    const intruder = clientWith(keys.intruder);
    const plain = clientWith(undefined);
    await sleep(500);
    expect(intruder.brokerStatus().connected).to.equal(false);
    expect(plain.brokerStatus().connected).to.equal(false);
    const result = await outcomes([intruder.submit('echo', Buffer.from('x')), plain.submit('echo', Buffer.from('x'))]);
    expect(result.ok).to.have.length(0);
    expect(procs[0]?.stdout).to.match(/refused a peer whose CURVE key is not allowed/);
  });

  it('refuses a worker whose key is not listed (it never gets a job)', async () => {
    procs.push(cluster.startWorker({ TOKENSERVER_SECURITY__KEY_FILE: keys.intruder.file }));
    const client = clientWith(keys.web);
    await eventually(() => client.brokerStatus().connected, 3000);
    await eventually(() => /refused a peer/.test(procs[0]?.stdout ?? ''), 3000);
    expect(client.brokerStatus().last?.liveWorkers).to.equal(0);
    const result = await outcomes([client.submit('echo', Buffer.from('x'))]);
    expect(result.errors).to.deep.equal({ ERR_NO_WORKER: 1 });
  });

  it('keygen writes the key file with mode 0600', () => {
    for (const key of Object.values(keys)) expect(statSync(key.file).mode & 0o777).to.equal(0o600);
    expect(readKeyPair(keys.broker.file).publicKey).to.equal(keys.broker.publicKey);
  });

  it('does not warn about plain-text TCP when CURVE is on', () => {
    expect(procs[0]?.stdout).to.match(/broker listening/);
    expect(procs[0]?.stdout).not.to.match(/WITHOUT CURVE/);
  });

  it('keygen never overwrites a key file', async () => {
    const again = await runToExit(process.execPath, [BROKER_CLI, 'keygen', '--out', keys.broker.file]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/EEXIST/);
  });

  it('rejects CURVE without keys at start-up with exit code 2', async () => {
    const result = await runToExit(process.execPath, [BROKER_CLI], {
      ...cluster.env,
      TOKENSERVER_SECURITY__KEY_FILE: '',
    });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(/security\.key_file: required when curve = true/);
  });
});
