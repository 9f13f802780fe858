import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { callNode, FlowStack, type FlowUser, type NodeToken, newFlowUser, nodeOf } from '../../support/flow-stack.js';
import { eventually } from '../../support/processes.js';

// A compromised node: its secret is replaced in the secrets file and every token already issued for it fails at
// the node at once, while new tokens work; a downed node gets no new users.

describe('flows: revoking a node’s tokens', function () {
  this.timeout(30_000);
  let flows: FlowStack;

  before(async () => {
    flows = await FlowStack.start({ nodes: 2, secretsFile: true });
  });
  after(() => flows?.stop());

  async function userWithData(): Promise<{ user: FlowUser; old: NodeToken }> {
    const user = newFlowUser();
    const old = await flows.tokenFor(user);
    expect((await callNode(old, 'PUT', 'storage/k', { body: '"v"' })).status).to.equal(200);
    return { user, old };
  }

  it('rotate-secret: old tokens are refused at the node at once, new tokens work', async () => {
    const { user, old } = await userWithData();
    const node = nodeOf(old);
    const rotated = await flows.cli('node', 'rotate-secret', node);
    expect(rotated, rotated.stderr).to.include({ code: 0 });
    expect(rotated.stdout).to.match(/^rotated the secret of .* \(older secrets revoked\)\n$/);
    expect(secretsOf(flows, node)).to.have.length(1);

    const refusedAfterMs = Date.now();
    const refused = await eventually(async () => {
      const answer = await callNode(old, 'GET', 'storage/k');
      return answer.status === 401 && answer;
    }, 1000);
    expect(Date.now() - refusedAfterMs).to.be.below(1000);
    expect(refused.code).to.equal('ERR_TOKEN_BAD_SIGNATURE');

    const fresh = await eventually(async () => {
      const token = await flows.tokenFor(user);
      return (await callNode(token, 'GET', 'storage/k')).status === 200 && token;
    }, 1000);
    expect(fresh.uid).to.equal(old.uid);
  });

  it('rotate-secret --keep-old: old and new tokens both work (graceful rotation)', async () => {
    const { user, old } = await userWithData();
    const node = nodeOf(old);
    const rotated = await flows.cli('node', 'rotate-secret', node, '--keep-old');
    expect(rotated.stdout).to.match(/\(1 older secret\(s\) still valid\)\n$/);
    expect(secretsOf(flows, node)).to.have.length(2);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await callNode(old, 'GET', 'storage/k')).status).to.equal(200);
    const fresh = await flows.tokenFor(user);
    expect(fresh.id).to.not.equal(old.id);
    expect((await callNode(fresh, 'GET', 'storage/k')).status).to.equal(200);
  });

  it('node update --downed: the node gets no new users until it is back', async () => {
    const downed = flows.nodes[0]?.url as string;
    expect((await flows.cli('node', 'update', 'sync-1.5', downed, '--downed')).code).to.equal(0);
    try {
      for (let i = 0; i < 6; i++) expect(nodeOf(await flows.tokenFor(newFlowUser()))).to.not.equal(downed);
    } finally {
      await flows.cli('node', 'update', 'sync-1.5', downed, '--no-downed');
    }
  });
});

/** The node's secrets as listed in the secrets file. */
function secretsOf(flows: FlowStack, node: string): string[] {
  const line = readFileSync(flows.secretsPath as string, 'utf8')
    .split('\n')
    .find((candidate) => candidate.startsWith(`${node},`));
  return line === undefined ? [] : line.split(',').slice(1);
}
