import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DerivedSecrets } from '@tokenserver/shared';
import { expect } from 'chai';
import type { LoadResult } from '../../loadtest/result.js';
import { runLoad } from '../../loadtest/run-load.js';
import { type ExampleNodeOnLoopback, startExampleNode } from '../support/hawk.js';
import { runLoadtestCli } from '../support/loadtest-results.js';
import { AUDIENCE, MASTER_SECRET, TestStack } from '../support/stack.js';

// `--hawk`: every token of a short run is spent at the bootstrapped node (the example node, on loopback) with a
// Hawk-signed GET, and the node's answer is checked with the rest.

describe('load-test tool with --hawk', function () {
  this.timeout(90_000);
  let node: ExampleNodeOnLoopback;
  let stack: TestStack;
  let outDir: string;

  before(async () => {
    node = await startExampleNode({ secrets: new DerivedSecrets(MASTER_SECRET) });
    stack = await TestStack.start({
      TOKENSERVER_BROWSERID__LOADTEST_MODE: 'true',
      TOKENSERVER_OAUTH__LOADTEST_MODE: 'true',
      TOKENSERVER_BOOTSTRAP__NODES: JSON.stringify([{ service: 'sync-1.5', url: node.url, capacity: 100000 }]),
    });
    outDir = mkdtempSync(join(tmpdir(), 'loadtest-hawk-'));
  });
  after(async () => {
    await stack?.stop();
    await node?.server.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  const run = (requests: number) =>
    runLoad({
      url: stack.url,
      scenario: 'realistic',
      mix: { existing: 0.7, new: 0.2, invalid: 0.1 },
      auth: 'browserid',
      requests,
      connections: 4,
      users: 20,
      runDir: stack.cluster.runDir,
      audience: AUDIENCE,
      tokenSecrets: new DerivedSecrets(MASTER_SECRET),
      hawk: true,
    });

  it('spends every token at its node and counts each node answer', async () => {
    const result = await run(150);
    expect(result.totals.unexpected, JSON.stringify(result.unexpected)).to.equal(0);
    expect(result.totals.errors, JSON.stringify(result.errors)).to.equal(0);
    const tokens = result.totals.byStatus['200'] ?? 0;
    expect(tokens).to.be.greaterThan(100);
    expect(result.hawk).to.deep.equal({ requests: tokens, accepted: tokens });
  });

  it('serves the CLI flag, with the node count in the summary', async () => {
    const out = join(outDir, 'cli.json');
    const env = { ...stack.webEnv, TOKENSERVER_TOKENS__MASTER_SECRET: MASTER_SECRET };
    const args = ['--url', stack.url, '--scenario', 'existing-users', '--auth', 'oauth', '--requests', '60'];
    const cli = await runLoadtestCli([...args, '--users', '10', '--out', out, '--hawk', '--no-progress'], env);
    expect(cli.code, cli.stderr + cli.stdout).to.equal(0);
    expect(cli.stdout).to.match(/^hawk: 60 signed GETs to nodes, 60 accepted$/m);
    expect((JSON.parse(readFileSync(out, 'utf8')) as LoadResult).hawk).to.deep.equal({ requests: 60, accepted: 60 });
  });

  it('counts a token the node cannot take as an unexpected answer', async () => {
    await node.server.close();
    const result = await run(40);
    const tokens = result.totals.byStatus['200'] ?? 0;
    expect(tokens).to.be.greaterThan(20);
    expect(result.totals.unexpected).to.equal(tokens);
    expect(new Set(result.unexpected.map((group) => group.problem))).to.deep.equal(new Set(['node: ECONNREFUSED']));
    expect(result.hawk).to.deep.equal({ requests: tokens, accepted: 0 });
  });
});
