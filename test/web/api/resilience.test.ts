import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DerivedSecrets, loadConfig, parseToken, signingSecret } from '@tokenserver/shared';
import { expect } from 'chai';
import { withoutTokenSecrets } from '../../../web/src/web-config.js';
import { keyPair, makeBackedAssertion } from '../../support/browserid.js';
import { IdpServer } from '../../support/idp-server.js';
import { JwksServer } from '../../support/oauth.js';
import { descendantsOf, eventually, RunningProcess } from '../../support/processes.js';
import { errorOf, TestStack, TOKENSERVER_CLI } from '../../support/stack.js';

function browserId(): Record<string, string> {
  const email = `${randomBytes(16).toString('hex')}@idp.test`;
  return { Authorization: `BrowserID ${makeBackedAssertion({ email, issuerKey: keyPair('RS256', 'issuer') })}` };
}

describe('token API resilience', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await TestStack.start();
    stack.trustIssuer('idp.test');
  });
  after(() => stack?.stop());

  it('answers 503 with Retry-After while the broker is down, and recovers when it is back', async () => {
    expect((await stack.token(browserId())).status).to.equal(200);
    await stack.stopBroker();
    const down = await stack.token(browserId());
    expect(errorOf(down)).to.deep.include({ http: 503, status: 'error' });
    expect(down.headers.get('retry-after')).to.equal('7');
    const heartbeat = await eventually(async () => {
      const answer = await stack.get('/__heartbeat__');
      return answer.status === 503 && answer;
    });
    expect(heartbeat.body?.broker).to.equal('Err');
    await stack.startBroker();
    await stack.waitUntilHealthy();
    expect((await stack.token(browserId())).status).to.equal(200);
  });

  it('cannot answer a token request without workers: every request gets 503', async () => {
    await stack.workers.stop();
    const heartbeat = await eventually(async () => {
      const answer = await stack.get('/__heartbeat__');
      return answer.status === 503 && answer;
    });
    expect(((heartbeat.body?.errors ?? []) as Array<{ name: string }>).map((e) => e.name)).to.deep.equal(['workers']);
    const answers = await Promise.all(Array.from({ length: 10 }, () => stack.token(browserId())));
    for (const answer of answers) {
      expect(errorOf(answer)).to.deep.include({ http: 503, status: 'error' });
      expect(answer.headers.get('retry-after')).to.equal('7');
    }
  });
});

describe('token secrets written in the config file of `tokenserver start`', function () {
  this.timeout(60_000);
  const FILE_MASTER_SECRET = 'f1e2d3c4b5a697887766554433221100';
  const FILE_METRICS_SECRET = 'metrics-secret-in-the-config-file';
  let idp: IdpServer;
  let jwks: JwksServer;
  let dir: string;

  before(async () => {
    idp = await IdpServer.start();
    idp.setKey('idp.test', keyPair('RS256', 'issuer').publicKey);
    jwks = await JwksServer.start();
    dir = mkdtempSync(join(tmpdir(), 'secrets-in-file-'));
  });
  after(async () => {
    await Promise.all([idp.close(), jwks.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reach the workers but not the web front, which holds none and cannot sign without workers', async () => {
    const configPath = join(dir, 'tokenserver.toml');
    writeFileSync(
      configPath,
      `[broker]\ntransport = "ipc"\n\n[tokens]\nmaster_secret = "${FILE_MASTER_SECRET}"\n` +
        `metrics_secret = "${FILE_METRICS_SECRET}"\n`,
    );
    const { cluster, database, port } = await TestStack.environment(idp, jwks, {
      TOKENSERVER_TOKENS__MASTER_SECRET: null,
      TOKENSERVER_TOKENS__METRICS_SECRET: null,
    });
    const stack = new RunningProcess(
      process.execPath,
      [TOKENSERVER_CLI, 'start', '--no-example-node', '--config', configPath],
      cluster.env,
    );
    try {
      await stack.waitForOutput(/"msg":"stack ready"/, 30_000);
      const pids = stack.logLines().find((line) => line.msg === 'stack ready')?.pids as Record<string, number>;
      const secrets = [FILE_MASTER_SECRET, FILE_METRICS_SECRET];

      const environ = readFileSync(`/proc/${pids.web}/environ`, 'utf8');
      for (const secret of secrets) expect(environ).to.not.include(secret);
      expect(readFileSync(`/proc/${pids.web}/cmdline`, 'utf8')).to.include(configPath);
      // What the web front keeps of that same file (web-main.ts loads it so).
      const webConfig = JSON.stringify(withoutTokenSecrets(loadConfig(configPath, cluster.env).config));
      for (const secret of secrets) expect(webConfig).to.not.include(secret);

      const url = `http://127.0.0.1:${port}/1.0/sync/1.5`;
      const answer = await fetch(url, { headers: browserId() });
      expect(answer.status).to.equal(200);
      const token = (await answer.json()) as { id: string; api_endpoint: string };
      const node = new URL(token.api_endpoint).origin;
      expect(parseToken(token.id, signingSecret(new DerivedSecrets(FILE_MASTER_SECRET), node)).node).to.equal(node);

      const workers = descendantsOf(pids.workers as number);
      expect(workers).to.have.length(2);
      for (const pid of workers) process.kill(pid, 'SIGSTOP');
      try {
        const refused = await fetch(url, { headers: browserId() });
        expect(refused.status).to.equal(503);
      } finally {
        for (const pid of workers) process.kill(pid, 'SIGCONT');
      }
    } finally {
      await stack.stop('SIGTERM');
      await database.drop();
      cluster.cleanup();
    }
  });
});

describe('token API with new users disabled', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await TestStack.start({ TOKENSERVER_ASSIGNMENT__ALLOW_NEW_USERS: 'false' });
    stack.trustIssuer('idp.test');
  });
  after(() => stack?.stop());

  it('answers 401 new-users-disabled for an unknown user', async () => {
    const answer = await stack.token(browserId());
    expect(errorOf(answer)).to.deep.equal({
      http: 401,
      status: 'new-users-disabled',
      description: 'New users are not allowed',
    });
  });
});
