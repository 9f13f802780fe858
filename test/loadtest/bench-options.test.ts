import { expect } from 'chai';
import { REPO_ROOT, runToExit } from '../support/processes.js';

// The benchmark scripts refuse a mistyped option before they start anything: one line on stderr, exit code 2.

const bench = (script: string, ...args: string[]) =>
  runToExit(process.execPath, ['--import', 'tsx', `${REPO_ROOT}/loadtest/${script}`, ...args]);

describe('benchmark options', function () {
  this.timeout(30_000);

  it('npm run bench refuses a round count that is not a positive whole number', async () => {
    for (const rounds of ['0', '1.5', 'three']) {
      const { code, stderr } = await bench('bench.ts', '--rounds', rounds);
      expect(code, rounds).to.equal(2);
      expect(stderr.trim(), rounds).to.equal(`--rounds must be a positive whole number, not ${rounds}`);
    }
  });

  it('npm run bench refuses a duration that is not positive, and an option it does not know', async () => {
    const { code, stderr } = await bench('bench.ts', '--duration', '0');
    expect(code).to.equal(2);
    expect(stderr.trim()).to.equal('--duration must be a positive number, not 0');
    const typo = await bench('bench.ts', '--round', '3');
    expect(typo.code).to.equal(2);
    expect(typo.stderr).to.match(/^Unknown option '--round'/);
  });

  it('bench:shedding refuses unknown options and bad numbers', async () => {
    const unknown = await bench('bench-shedding.ts', '--bogus', '1');
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.match(/^Unknown option '--bogus'/);
    const seconds = await bench('bench-shedding.ts', '--seconds', '0');
    expect(seconds.code).to.equal(2);
    expect(seconds.stderr.trim()).to.equal('--seconds must be a positive number, not 0');
  });
});
