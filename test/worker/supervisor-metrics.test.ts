import { encodeJobBody, TokenJob } from '@tokenserver/shared';
import type { PowerhoseClient } from '@tokenserver/shared/client';
import { expect } from 'chai';
import { DEFAULT_AUDIENCE, keyPair, makeBackedAssertion } from '../support/browserid.js';
import { IdpServer } from '../support/idp-server.js';
import { sample } from '../support/metrics.js';
import { ClusterEnv, freePort, waitForWorkers } from '../support/powerhose.js';
import { eventually, type RunningProcess } from '../support/processes.js';

const UID = '0123456789abcdef0123456789abcdef';

describe('worker supervisor metrics', function () {
  this.timeout(30_000);
  let cluster: ClusterEnv;
  let procs: RunningProcess[];
  let client: PowerhoseClient;
  let idp: IdpServer;
  let metrics: string;
  /** A metric's value; a metric missing from /metrics fails the test (it must not read as 0). */
  const metric = async (name: string): Promise<number> => {
    const value = await sample(metrics, name);
    if (value === undefined) throw new Error(`${name} is not in ${metrics}`);
    return value;
  };

  before(async () => {
    idp = await IdpServer.start();
    idp.setKey('idp.test', keyPair('RS256', 'issuer').publicKey);
    const port = await freePort();
    cluster = await ClusterEnv.create('ipc', {
      TOKENSERVER_WORKER__METRICS_PORT: String(port),
      // Not loopback's usual address: proves the setting is applied (all of 127/8 is local on Linux).
      TOKENSERVER_WORKER__METRICS_HOST: '127.0.0.2',
      TOKENSERVER_BROWSERID__AUDIENCES: JSON.stringify([DEFAULT_AUDIENCE]),
      TOKENSERVER_BROWSERID__ISSUER_URLS: JSON.stringify(idp.issuerUrls('idp.test', 'gone.test')),
    });
    metrics = `http://127.0.0.2:${port}/metrics`;
    procs = [await cluster.startBroker(), cluster.startSupervisor(['-n', '1', '--max-jobs', '40'])];
    client = cluster.client();
    await waitForWorkers(client, 1);
  });

  after(async () => {
    client.close();
    await Promise.all(procs.map((proc) => proc.stop('SIGKILL')));
    cluster.cleanup();
    await idp.close();
  });

  async function verifyBrowserId(domain: string): Promise<{ ok: boolean }> {
    const assertion = makeBackedAssertion({ email: `${UID}@${domain}`, issuerKey: keyPair('RS256', 'issuer') });
    return JSON.parse(String(await client.submit(TokenJob.verifyBrowserId, encodeJobBody({ assertion }))));
  }

  it('binds to [worker] metrics_host', async () => {
    const port = new URL(metrics).port;
    expect(await metric('powerhose_worker_processes')).to.equal(1);
    const refused = await fetch(`http://127.0.0.1:${port}/metrics`).then(
      () => 'answered',
      (err: Error) => String((err.cause as NodeJS.ErrnoException | undefined)?.code),
    );
    expect(refused).to.equal('ECONNREFUSED');
  });

  it('counts IdP support-document fetches, cache hits and failed fetches', async () => {
    expect((await verifyBrowserId('idp.test')).ok).to.equal(true);
    expect((await verifyBrowserId('idp.test')).ok).to.equal(true);
    expect((await verifyBrowserId('gone.test')).ok).to.equal(false); // the IdP answers 404
    await eventually(async () => (await metric('tokenserver_idp_fetch_failures_total')) === 1, 3000);
    expect(await metric('tokenserver_idp_fetches_total')).to.equal(2);
    expect(await metric('tokenserver_idp_cache_hits_total')).to.be.at.least(1);
    expect(idp.fetchCount('idp.test')).to.equal(1);
  });

  it('counts a recycle after --max-jobs', async () => {
    expect(await metric('powerhose_worker_recycles_total')).to.equal(0);
    await Promise.all(Array.from({ length: 60 }, (_, i) => client.submit('echo', Buffer.from(String(i)), 8000)));
    await eventually(async () => (await metric('powerhose_worker_recycles_total')) >= 1, 5000);
    expect(await metric('powerhose_worker_restarts_total')).to.equal(0);
  });
});
