import { join } from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT, RunningProcess, sleep } from '../support/processes.js';

describe('fuzz watchdog', function () {
  this.timeout(30_000);

  it('kills a run whose parser hangs on an input, naming the input and the seed that replays it', async () => {
    const run = new RunningProcess(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'test/support/hanging-fuzz-property.ts')],
      { FUZZ_HANG_LIMIT_MS: '500', FUZZ_SEED: '42', FUZZ_RUNS: '100' },
    );
    try {
      const exit = await Promise.race([run.exit, sleep(15_000).then(() => 'still running')]);
      expect(exit).to.deep.equal({ code: null, signal: 'SIGKILL' });
      expect(run.stderr).to.include('fuzz: input 3 of a property made no progress for 500 ms');
      expect(run.stderr).to.include('replay with FUZZ_SEED=42');
    } finally {
      await run.stop('SIGKILL');
    }
  });
});
