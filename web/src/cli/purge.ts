import type { Command } from 'commander';
import { purgeOldRecords } from '../purge.js';
import {
  type ConfigOption,
  positiveNumber,
  print,
  runWithStore,
  wholeNumber,
  withConfigOption,
} from './store-command.js';

interface PurgeCommandOptions extends ConfigOption {
  service?: string;
  gracePeriod: number;
  batchSize: number;
  maxRecords: number;
  dryRun?: boolean;
  force?: boolean;
}

/** `tokenserver purge-old-records`: one pass over replaced rows past the grace period. */
export function registerPurgeCommand(program: Command): void {
  withConfigOption(program.command('purge-old-records'))
    .description('delete user rows replaced longer than the grace period ago, freeing their node slots')
    .option('--service <name>', 'only this service')
    .option('--grace-period <s>', 'seconds a replaced row is kept', wholeNumber, 86400)
    .option('--batch-size <n>', 'rows read per query', positiveNumber, 100)
    .option('--max-records <n>', 'stop after this many rows (0 = no limit)', wholeNumber, 0)
    .option('--dry-run', 'only report what would be purged')
    .option('--force', 'also purge rows of downed nodes')
    .action((options: PurgeCommandOptions) =>
      runWithStore(options, async ({ store }) => {
        const report = await purgeOldRecords(store, {
          gracePeriodMs: options.gracePeriod * 1000,
          batchSize: options.batchSize,
          maxRecords: options.maxRecords,
          dryRun: options.dryRun === true,
          force: options.force === true,
          ...(options.service === undefined ? {} : { service: options.service }),
        });
        const verb = options.dryRun ? 'would purge' : 'purged';
        print(
          `${verb} ${report.purged} record(s); skipped ${report.skippedDowned} on downed nodes; ${report.failed} failed`,
        );
      }),
    );
}
