import { type ChildProcess, spawn } from 'node:child_process';
import { expect } from 'chai';
import { coresUsed, processTreeCpu } from '../../loadtest/process-cpu.js';

// The bench's per-process CPU figures, read from /proc for a real tree: a parent that sleeps and a grandchild that
// spins. The spinner's time must land on its role, the sleepers' must not.

const SPIN_MS = 400;
const roleOf = (cmdline: string) => (cmdline.includes('spin-role') ? 'spinner' : 'other');

/**
 * parent (idle) → child (idle) → grandchild spinning SPIN_MS then idle; resolves once the grandchild has spun. Only
 * the grandchild's command line holds "spin-role" (the child builds it, so that its own does not).
 */
async function startTree(): Promise<{ root: ChildProcess; spun: Promise<void> }> {
  const grandchild = `const end = Date.now() + ${SPIN_MS}; while (Date.now() < end); console.log('spun'); setInterval(() => {}, 1000);`;
  const child = `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}, 'spin' + '-role'], { stdio: ['ignore', 'inherit', 'inherit'] }); setInterval(() => {}, 1000);`;
  // Its own process group, so that the whole tree can be stopped at once.
  const root = spawn(process.execPath, ['-e', child], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const spun = new Promise<void>((resolve) => root.stdout?.on('data', (d: Buffer) => d.includes('spun') && resolve()));
  return { root, spun };
}

describe('loadtest process CPU (/proc)', () => {
  if (process.platform !== 'linux') return;

  it('sums the CPU of a whole process tree by role', async () => {
    const before = processTreeCpu(process.pid, roleOf) ?? {};
    const startedAt = performance.now();
    const { root, spun } = await startTree();
    try {
      await spun;
      const after = processTreeCpu(root.pid as number, roleOf);
      expect(after?.spinner, 'the grandchild, two levels down').to.be.greaterThan((SPIN_MS * 0.7) / 1000);
      expect(after?.other, 'two idle node processes').to.be.lessThan(0.5);
      // From the test process down, the tree includes the spinner too.
      const cores = coresUsed(
        before,
        processTreeCpu(process.pid, roleOf) ?? {},
        (performance.now() - startedAt) / 1000,
      );
      expect(cores.spinner).to.be.greaterThan(0);
    } finally {
      process.kill(-(root.pid as number), 'SIGKILL');
    }
  });

  it('gives an empty account for a pid that does not exist', () => {
    expect(processTreeCpu(2 ** 22 + 12345, roleOf)).to.deep.equal({});
  });

  it('turns CPU seconds into cores over the interval, counting new roles from zero', () => {
    expect(coresUsed({ web: 1 }, { web: 3, worker: 1 }, 2)).to.deep.equal({ web: 1, worker: 0.5 });
  });
});
