import { expect } from 'chai';
import { callNode, FlowStack, type FlowUser, newFlowUser, nodeOf } from '../../support/flow-stack.js';

// Moving users off a node: after `node unassign` or `node remove` every user of the node gets another node (and a
// new uid) on its next token request, and the old node refuses the new token. The nodes share one secret here
// (derive_node_secrets = false, syncstorage-rs style), so it is the token's `node` field that protects them.

describe('flows: moving users off a node', function () {
  this.timeout(30_000);
  let flows: FlowStack;

  before(async () => {
    flows = await FlowStack.start({ nodes: 3, overrides: { TOKENSERVER_TOKENS__DERIVE_NODE_SECRETS: 'false' } });
  });
  after(() => flows?.stop());

  async function expectMovedOff(user: FlowUser, oldNode: string, oldUid: number): Promise<void> {
    const moved = await flows.tokenFor(user);
    expect(nodeOf(moved)).to.not.equal(oldNode);
    expect(moved.uid).to.not.equal(oldUid);
    expect((await callNode(moved, 'GET', 'info/collections')).status).to.equal(200);
    const atOldNode = await callNode(moved, 'GET', 'info/collections', { nodeUrl: oldNode });
    expect({ status: atOldNode.status, code: atOldNode.code }).to.deep.equal({
      status: 401,
      code: 'ERR_TOKEN_WRONG_NODE',
    });
  }

  it('node unassign (after backoff): the node’s users get a new node and uid', async () => {
    const user = newFlowUser();
    const before = await flows.tokenFor(user);
    const node = nodeOf(before);
    expect((await flows.cli('node', 'update', 'sync-1.5', node, '--backoff')).code).to.equal(0);
    const unassigned = await flows.cli('node', 'unassign', 'sync-1.5', node);
    expect(unassigned.stdout).to.match(/^unassigned [1-9]\d* user\(s\) from /);
    await expectMovedOff(user, node, before.uid);
  });

  it('node remove: the node’s users get a new node and uid; the node is gone', async () => {
    const user = newFlowUser();
    const before = await flows.tokenFor(user);
    const node = nodeOf(before);
    const removed = await flows.cli('node', 'remove', 'sync-1.5', node);
    expect(removed, removed.stderr).to.include({ code: 0 });
    await expectMovedOff(user, node, before.uid);
    expect((await flows.cli('node', 'list')).stdout).to.not.include(node);
  });

  it('rotate-secret explains the procedure and exits 1 when secrets come from master_secret', async () => {
    const result = await flows.cli('node', 'rotate-secret', flows.nodes[0]?.url as string);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal('');
    expect(result.stderr).to.match(/^tokenserver: node secrets come from \[tokens\] master_secret .*secrets_file/);
  });
});
