import { parseArgs } from 'node:util';
import { FAULTS } from './all-faults.js';
import { crashed, type FaultReport, faultTable } from './fault-report.js';

// `npm run test:faults`: every fault under the realistic load for --duration seconds each, then the table.
// Exit code 1 when a fault broke one of its properties.

const { values } = parseArgs({ options: { duration: { type: 'string', default: '20' }, only: { type: 'string' } } });
const durationS = Number(values.duration);
if (!(durationS >= 5)) throw new Error('--duration must be at least 5 seconds');

const reports: FaultReport[] = [];
for (const fault of FAULTS) {
  if (values.only && !fault.name.includes(values.only)) continue;
  if (fault.unavailable) {
    process.stderr.write(`skipped ${fault.name}: ${fault.unavailable}\n`);
    continue;
  }
  process.stderr.write(`${fault.name}: ${durationS} s under load…\n`);
  reports.push(await fault.run(durationS, 'full').catch((err: unknown) => crashed(fault.name, err)));
}
process.stdout.write(`${faultTable(reports)}\n\n`);
for (const report of reports) {
  for (const note of report.notes) process.stdout.write(`${report.fault}: ${note}\n`);
  for (const violation of report.violations) process.stdout.write(`VIOLATION ${report.fault}: ${violation}\n`);
}
process.exit(reports.some((report) => report.violations.length > 0) ? 1 : 0);
