import { expect } from 'chai';
import {
  callNode,
  emailOf,
  FlowStack,
  type FlowUser,
  type NodeToken,
  newFlowUser,
  nodeOf,
} from '../../support/flow-stack.js';
import { sleep } from '../../support/processes.js';

// purge-old-records deletes a replaced user's data on its node with a Hawk-signed DELETE (404 tolerated), then
// the row, freeing the node's slot; downed nodes are skipped unless --force; --dry-run changes nothing.

describe('flows: purging replaced users', function () {
  this.timeout(30_000);
  let flows: FlowStack;

  before(async () => {
    flows = await FlowStack.start({ nodes: 2 });
  });
  after(() => flows?.stop());

  /** A user whose row on its first node is replaced by a move to the other node; `data` stored there first. */
  async function movedUser(data: boolean): Promise<{ user: FlowUser; old: NodeToken; node: string }> {
    const user = newFlowUser();
    const old = await flows.tokenFor(user);
    if (data) expect((await callNode(old, 'PUT', 'storage/k', { body: '"v"' })).status).to.equal(200);
    const node = nodeOf(old);
    const other = flows.nodes.map((n) => n.url).find((url) => url !== node) as string;
    expect((await flows.cli('user', 'allocate', 'sync-1.5', emailOf(user), other)).code).to.equal(0);
    await sleep(5); // replaced strictly before the purge's cut-off
    return { user, old, node };
  }

  const purge = (...args: string[]) => flows.cli('purge-old-records', '--grace-period', '0', ...args);

  async function loadOf(node: string): Promise<number> {
    const line = (await flows.cli('node', 'list')).stdout.split('\n').find((l) => l.includes(`\t${node}\t`));
    return Number(line?.split('\t')[3]);
  }

  it('dry run reports and changes nothing; the real run deletes the node data and the row', async () => {
    const { old, node } = await movedUser(true);
    const loadBefore = await loadOf(node);
    expect(await purge('--dry-run')).to.include({
      code: 0,
      stdout: 'would purge 1 record(s); skipped 0 on downed nodes; 0 failed\n',
    });
    expect((await callNode(old, 'GET', 'storage/k')).status).to.equal(200);
    const real = await purge();
    expect(real, real.stderr).to.include({
      code: 0,
      stdout: 'purged 1 record(s); skipped 0 on downed nodes; 0 failed\n',
    });
    const gone = await callNode(old, 'GET', 'storage/k');
    expect(gone.status, gone.text).to.equal(404);
    expect(await loadOf(node)).to.equal(loadBefore - 1);
    expect((await purge()).stdout).to.match(/^purged 0 /);
  });

  it('tolerates a 404 from the node (no data there)', async () => {
    await movedUser(false);
    expect(await purge()).to.include({ code: 0, stdout: 'purged 1 record(s); skipped 0 on downed nodes; 0 failed\n' });
  });

  it('skips downed nodes unless --force (which leaves their data alone)', async () => {
    const { old, node } = await movedUser(true);
    expect((await flows.cli('node', 'update', 'sync-1.5', node, '--downed')).code).to.equal(0);
    try {
      expect((await purge()).stdout).to.equal('purged 0 record(s); skipped 1 on downed nodes; 0 failed\n');
      expect((await purge('--force')).stdout).to.equal('purged 1 record(s); skipped 0 on downed nodes; 0 failed\n');
      expect((await callNode(old, 'GET', 'storage/k')).status).to.equal(200);
    } finally {
      await flows.cli('node', 'update', 'sync-1.5', node, '--no-downed');
    }
  });

  it('keeps the row and exits 1 when the node cannot be reached', async () => {
    const { node } = await movedUser(true);
    const stopped = flows.nodes.find((n) => n.url === node);
    await stopped?.process.stop();
    const result = await purge('--request-timeout', '2');
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal('purged 0 record(s); skipped 0 on downed nodes; 1 failed\n');
    expect(result.stderr).to.match(/^tokenserver: uid \d+ kept: DELETE http:\/\/127\.0\.0\.1:\d+\/1\.5\/\d+ failed/);
  });
});
