import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HawkClient, type HawkTokenCredentials } from '@tokenserver/shared/hawk/client';
import { expect } from 'chai';
import { IdpServer } from '../../support/idp-server.js';
import { JwksServer } from '../../support/oauth.js';
import { freePort } from '../../support/powerhose.js';
import { descendantsOf, eventually, isRunning, RunningProcess, runToExit } from '../../support/processes.js';
import { MASTER_SECRET, TestStack, TOKENSERVER_CLI } from '../../support/stack.js';

// `tokenserver start` as a user runs it: one command, four child processes, a token at once, a Hawk-signed
// call to the bootstrapped (example) node with it, clean stops.

describe('tokenserver start', function () {
  this.timeout(60_000);
  let idp: IdpServer;
  let jwks: JwksServer;

  before(async () => {
    idp = await IdpServer.start();
    jwks = await JwksServer.start();
  });
  after(async () => {
    await idp.close();
    await jwks.close();
  });

  async function startStack(): Promise<{
    stack: RunningProcess;
    url: string;
    env: Record<string, string>;
    cleanup: () => Promise<void>;
  }> {
    const { cluster, database, port } = await TestStack.environment(idp, jwks);
    const pinned = await runToExit(process.execPath, [TOKENSERVER_CLI, 'dev', 'oauth-jwks'], cluster.env);
    expect(pinned.code, pinned.stderr).to.equal(0);
    const nodePort = await freePort();
    const env = {
      ...cluster.env,
      TOKENSERVER_OAUTH__JWKS: pinned.stdout.trim(),
      TOKENSERVER_EXAMPLE_NODE__PORT: String(nodePort),
      TOKENSERVER_BOOTSTRAP__NODES: JSON.stringify([
        { service: 'sync-1.5', url: `http://127.0.0.1:${nodePort}`, capacity: 100000 },
      ]),
    };
    const stack = new RunningProcess(process.execPath, [TOKENSERVER_CLI, 'start'], env);
    // The JSON line, not the human one: pino may write it after the human line.
    await stack.waitForOutput(/"msg":"stack ready"/, 30_000);
    const cleanup = async () => {
      await stack.stop('SIGKILL');
      await database.drop();
      cluster.cleanup();
    };
    return { stack, url: `http://127.0.0.1:${port}`, env, cleanup };
  }

  function childPids(stack: RunningProcess): Record<string, number> {
    const ready = stack.logLines().find((line) => line.msg === 'stack ready');
    return ready?.pids as Record<string, number>;
  }

  it('serves a token that the example node accepts, keeps secrets from the web child, stops on SIGTERM', async () => {
    const { stack, url, env, cleanup } = await startStack();
    try {
      const fxaUid = '0123456789abcdef0123456789abcdef';
      const minted = await runToExit(
        process.execPath,
        [TOKENSERVER_CLI, 'dev', 'oauth-token', '--fxa-uid', fxaUid],
        env,
      );
      expect(minted.code, minted.stderr).to.equal(0);
      const res = await fetch(`${url}/1.0/sync/1.5`, {
        headers: { Authorization: `Bearer ${minted.stdout.trim()}`, 'X-KeyID': '1234-qqqqqqqqqqqqqqqqqqqqqg' },
      });
      expect(res.status, await res.clone().text()).to.equal(200);
      const token = (await res.json()) as HawkTokenCredentials & { api_endpoint: string };
      expect(token).to.include({ hashalg: 'sha256', duration: 3600 });
      const node = new HawkClient(token);
      const put = await node.request('PUT', 'storage/greeting', 'hello');
      expect(put.status, await put.clone().text()).to.be.oneOf([200, 201, 204]);
      const get = await node.request('GET', 'storage/greeting');
      expect(get.status).to.equal(200);
      expect(await get.text()).to.include('hello');

      // The README walk-through's last step: the token answer in a file, or on stdin.
      const tokenFile = join(mkdtempSync(join(tmpdir(), 'token-')), 'token.json');
      writeFileSync(tokenFile, JSON.stringify(token));
      const hawkCli = (args: string[], input?: string) =>
        runToExit(process.execPath, [TOKENSERVER_CLI, 'hawk-request', ...args], {}, input);
      const put2 = await hawkCli(['PUT', 'storage/walk', '--token', tokenFile, '--data', '"through"']);
      expect(put2.code, put2.stderr).to.equal(0);
      expect(JSON.parse(put2.stdout)).to.have.keys('modified');
      const get2 = await hawkCli(['GET', 'storage/walk', '-i'], JSON.stringify(token));
      expect(get2.code, get2.stderr).to.equal(0);
      expect(get2.stdout).to.match(/^HTTP 200 OK\n/);
      expect(get2.stdout).to.match(/\n\n"through"\n$/);
      const other = await hawkCli(
        ['GET', `${token.api_endpoint.replace(/\d+$/, '0')}/storage/walk`],
        JSON.stringify(token),
      );
      expect(other.code).to.equal(1);
      expect(other.stdout).to.include('ERR_HAWK_UID_MISMATCH');
      expect(other.stderr).to.equal('tokenserver hawk-request: the node answered HTTP 401 Unauthorized\n');
      rmSync(dirname(tokenFile), { recursive: true });
      const pids = childPids(stack);
      expect(pids).to.have.keys('broker', 'workers', 'web', 'node');
      const environ = readFileSync(`/proc/${pids.web}/environ`, 'utf8');
      expect(environ).to.not.include(MASTER_SECRET);
      expect(readFileSync(`/proc/${pids.workers}/environ`, 'utf8')).to.include(MASTER_SECRET);
      const heartbeat = await fetch(`${url}/__heartbeat__`);
      expect(heartbeat.status).to.equal(200);
      expect((await stack.stop('SIGTERM')).code).to.equal(0);
      for (const pid of Object.values(pids)) expect(isRunning(pid), `pid ${pid}`).to.equal(false);
    } finally {
      await cleanup();
    }
  });

  it('logs each child start with one role and one pid key', async () => {
    const { stack, cleanup } = await startStack();
    try {
      const started = stack.stdout.split('\n').filter((line) => line.includes('"msg":"started"'));
      expect(started).to.have.length(4);
      for (const line of started) {
        expect(line.match(/"role":/g), line).to.have.length(2);
        expect(line.match(/"pid":/g), line).to.have.length(2);
        const { role, pid, child } = JSON.parse(line) as { role: string; pid: number; child: { role: string } };
        expect([role, pid]).to.deep.equal(['stack', stack.pid]);
        expect(child.role).to.be.oneOf(['broker', 'workers', 'web', 'node']);
      }
    } finally {
      await cleanup();
    }
  });

  it('leaves no child or grandchild running when the start process is killed with SIGKILL', async () => {
    const { stack, cleanup } = await startStack();
    const family = descendantsOf(stack.pid);
    try {
      // broker, worker supervisor, 2 workers, web front, example node
      expect(family).to.have.length(6);
      await stack.stop('SIGKILL');
      await eventually(() => family.every((pid) => !isRunning(pid)), 8000).catch(() => {
        throw new Error(`still running: ${family.filter(isRunning).join(', ')}`);
      });
    } finally {
      for (const pid of family.filter(isRunning)) process.kill(pid, 'SIGKILL');
      await cleanup();
    }
  });

  it('reports a crashed child and stops the whole stack with a non-zero exit', async () => {
    const { stack, cleanup } = await startStack();
    try {
      const pids = childPids(stack);
      process.kill(pids.broker as number, 'SIGKILL');
      const exit = await stack.exit;
      expect(exit.code).to.equal(1);
      expect(stack.stdout).to.match(/broker exited unexpectedly/);
      await eventually(() => !isRunning(pids.web as number) && !isRunning(pids.workers as number));
    } finally {
      await cleanup();
    }
  });
});
