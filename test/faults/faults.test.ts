import { expect } from 'chai';
import { FAULTS } from './all-faults.js';
import { faultTable } from './fault-report.js';

// The short form of `npm run test:faults`: every fault for a few seconds under the realistic load, each property
// asserted. The table of a run is printed when a fault breaks one.

const DURATION_S = Number(process.env.FAULT_DURATION_S ?? 7);

describe('faults under load (short form of npm run test:faults)', function () {
  this.timeout(90_000);

  for (const fault of FAULTS) {
    it(`${fault.name}: every property holds`, async function () {
      if (fault.unavailable) this.skip();
      const report = await fault.run(DURATION_S, 'short');
      expect(report.violations, `${faultTable([report])}\n${report.notes.join('\n')}`).to.deep.equal([]);
      expect(report.sent).to.be.greaterThan(DURATION_S * 50);
    });
  }
});
