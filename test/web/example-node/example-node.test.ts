import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { HawkClient, hawkRequest } from '../../../shared/src/hawk/client.js';
import { DerivedSecrets } from '../../../shared/src/node-secrets.js';
import { loadTokenSecrets } from '../../../shared/src/token-secrets-source.js';
import { type ExampleNodeOnLoopback, issueToken, startExampleNode } from '../../support/hawk.js';
import { REPO_ROOT, RunningProcess } from '../../support/processes.js';

const MASTER_SECRET = '0123456789abcdef0123456789abcdef';

describe('example node', () => {
  describe('in process', () => {
    const secrets = new DerivedSecrets(MASTER_SECRET);
    let node: ExampleNodeOnLoopback;
    before(async () => {
      node = await startExampleNode({ secrets, maxBodyBytes: 4096 });
    });
    after(() => node.server.close());

    it('stores, reads and deletes a user’s records with minted tokens', async () => {
      const client = new HawkClient(issueToken(secrets, node.url, { uid: 42 }));
      expect(await (await client.request('GET', 'info/collections')).json()).to.deep.equal({});
      const put = await client.request('PUT', 'storage/meta', '{"syncID":"abc"}');
      expect(put.status).to.equal(200);
      const { modified } = (await put.json()) as { modified: number };
      const got = await client.request('GET', 'storage/meta');
      expect(got.status).to.equal(200);
      expect(got.headers.get('content-type')).to.match(/^application\/json/);
      expect(got.headers.get('x-last-modified')).to.equal(modified.toFixed(2));
      expect(await got.text()).to.equal('{"syncID":"abc"}');
      expect(await (await client.request('GET', 'info/collections')).json()).to.deep.equal({ storage: modified });

      const deleted = await client.request('DELETE', node.url + '/1.5/42');
      expect(deleted.status).to.equal(204);
      const gone = await client.request('GET', 'storage/meta');
      expect(gone.status).to.equal(404);
      expect(await gone.json()).to.deep.include({ status: 'not-found' });
    });

    it('keeps users apart: a token works only on its own uid', async () => {
      const alice = new HawkClient(issueToken(secrets, node.url, { uid: 1 }));
      await alice.request('PUT', 'storage/k', 'secret', { contentType: 'text/plain' });
      const bob = issueToken(secrets, node.url, { uid: 2 });
      const signed = hawkRequest(bob, 'GET', `${node.url}/1.5/1/storage/k`);
      const response = await fetch(signed.url, { headers: signed.headers });
      expect(response.status).to.equal(401);
      expect(response.headers.get('www-authenticate')).to.match(/^Hawk/);
      expect(((await response.json()) as { code: string }).code).to.equal('ERR_HAWK_UID_MISMATCH');
    });

    it('refuses tokens of another node’s secret, unsigned requests, bad keys and large bodies', async () => {
      const stranger = issueToken(new DerivedSecrets('ffffffffffffffffffffffffffffffff'), node.url);
      expect((await new HawkClient(stranger).request('GET', 'storage/meta')).status).to.equal(401);
      const unsigned = await fetch(`${node.url}/1.5/42/storage/meta`);
      expect(unsigned.status).to.equal(401);
      expect(unsigned.headers.get('x-weave-timestamp')).to.match(/^\d+\.\d\d$/);
      const client = new HawkClient(issueToken(secrets, node.url));
      expect((await client.request('GET', 'storage/a%20b')).status).to.equal(400);
      expect((await client.request('PUT', 'storage/big', 'x'.repeat(5000))).status).to.equal(413);
      const unhashed = await client.request('PUT', 'storage/big', 'x'.repeat(5000), { hashPayload: false });
      expect(unhashed.status).to.equal(413);
      expect((await client.request('GET', `${node.url}/nowhere`)).status).to.equal(404);
    });
  });

  describe('as a process', () => {
    let dir: string;
    let proc: RunningProcess | undefined;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'example-node-'));
    });
    after(async () => {
      await proc?.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    afterEach(async () => {
      await proc?.stop('SIGKILL');
    });

    /** Runs the node on a free port with these [example_node] settings; resolves with its URL. */
    async function startNode(settings: Record<string, number>): Promise<string> {
      const configPath = join(dir, 'config.toml');
      const extra = Object.entries(settings)
        .map(([name, value]) => `${name} = ${value}\n`)
        .join('');
      writeFileSync(
        configPath,
        `[broker]\ntransport = "ipc"\nrun_dir = "${join(dir, 'run')}"\n\n[example_node]\nport = 0\n${extra}`,
      );
      proc = new RunningProcess(
        process.execPath,
        [join(REPO_ROOT, 'web/dist/example-node/main.js'), '--config', configPath],
        {},
      );
      await proc.waitForOutput(/example node listening/);
      return proc.logLines().find((line) => line.msg === 'example node listening')?.url as string;
    }

    it('accepts tokens signed with the secret generated into the run dir, and stops on SIGTERM', async () => {
      const url = await startNode({});
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);

      // What a worker signing tokens would load from the same config.
      const { nodeSecrets, source } = loadTokenSecrets(
        { duration: 3600, derive_node_secrets: true },
        join(dir, 'run'),
        { create: false },
      );
      expect(source).to.equal('generated');
      const client = new HawkClient(issueToken(nodeSecrets, url, { uid: 9 }));
      expect((await client.request('PUT', 'storage/x', '"y"')).status).to.equal(200);
      expect(await (await client.request('GET', 'storage/x')).text()).to.equal('"y"');

      expect((await proc?.stop('SIGTERM'))?.code).to.equal(0);
    });

    it('answers an oversized Authorization header 431 with the Hawk challenge and a JSON body', async () => {
      const url = await startNode({});
      const answer = await fetch(`${url}/1.5/9/storage/x`, {
        headers: { Authorization: `Hawk id="${'a'.repeat(20_000)}", ts="1", nonce="n", mac="m"` },
      });
      expect(answer.status).to.equal(431);
      expect(answer.headers.get('www-authenticate')).to.match(/^Hawk\b/);
      expect(answer.headers.get('x-weave-timestamp')).to.match(/^\d+\.\d\d$/);
      expect(await answer.json()).to.deep.include({
        status: 'invalid-credentials',
        code: 'ERR_HAWK_HEADERS_TOO_LARGE',
      });
    });

    it('remembers at most [example_node] nonce_cache_size nonces', async () => {
      const url = await startNode({ nonce_cache_size: 1 });
      const { nodeSecrets } = loadTokenSecrets({ duration: 3600, derive_node_secrets: true }, join(dir, 'run'), {
        create: false,
      });
      const token = issueToken(nodeSecrets, url, { uid: 9 });
      const send = (signed: ReturnType<typeof hawkRequest>) => fetch(signed.url, { headers: signed.headers });
      const first = hawkRequest(token, 'GET', 'info/collections');
      expect((await send(first)).status).to.equal(200);
      expect((await send(first)).status).to.equal(401);
      // A second nonce pushes the first out of a one-entry cache: the replay is no longer recognised.
      expect((await send(hawkRequest(token, 'GET', 'info/collections'))).status).to.equal(200);
      expect((await send(first)).status).to.equal(200);
    });
  });
});
