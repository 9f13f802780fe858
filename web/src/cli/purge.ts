import { loadTokenSecrets } from '@tokenserver/shared';
import type { Command } from 'commander';
import type { PurgeCandidate } from '../db/store.js';
import { nodeDataDeleter } from '../node-data.js';
import { purgeOldRecords } from '../purge.js';
import { positiveNumber, wholeNumber } from './arguments.js';
import { type ConfigOption, EXIT_RUNTIME, print, runWithStore, withConfigOption } from './store-command.js';

interface PurgeCommandOptions extends ConfigOption {
  service?: string;
  gracePeriod: number;
  batchSize: number;
  maxRecords: number;
  requestTimeout: number;
  dryRun?: boolean;
  force?: boolean;
}

/** `tokenserver purge-old-records`: one pass over replaced rows past the grace period. */
export function registerPurgeCommand(program: Command): void {
  withConfigOption(program.command('purge-old-records'))
    .description(
      "delete the data of users replaced longer than the grace period ago on their node (Hawk-signed DELETE), then their rows, freeing the nodes' slots",
    )
    .option('--service <name>', 'only this service')
    .option('--grace-period <s>', 'seconds a replaced row is kept', wholeNumber, 86400)
    .option('--batch-size <n>', 'rows read per query', positiveNumber, 100)
    .option('--max-records <n>', 'stop after this many rows (0 = no limit)', wholeNumber, 0)
    .option('--request-timeout <s>', 'seconds a node has to answer a DELETE', positiveNumber, 60)
    .option('--dry-run', 'only report what would be purged')
    .option('--force', 'also purge rows of downed nodes (their data is left on the node)')
    .action((options: PurgeCommandOptions) =>
      runWithStore(options, async ({ store, config }) => {
        const report = await purgeOldRecords(store, {
          gracePeriodMs: options.gracePeriod * 1000,
          batchSize: options.batchSize,
          maxRecords: options.maxRecords,
          dryRun: options.dryRun === true,
          force: options.force === true,
          ...(options.service === undefined ? {} : { service: options.service }),
          deleteNodeData: nodeDataDeleter({
            store,
            // The generated secrets were written by the stack; this tool never creates them.
            loadSecrets: () => loadTokenSecrets(config.tokens, config.broker.run_dir, { create: false }),
            requestTimeoutMs: options.requestTimeout * 1000,
          }),
          onDeleteFailure: reportDeleteFailure,
        });
        const verb = options.dryRun ? 'would purge' : 'purged';
        print(
          `${verb} ${report.purged} record(s); skipped ${report.skippedDowned} on downed nodes; ${report.failed} failed`,
        );
        // Failed rows are kept for the next run; a cron job should still notice.
        if (report.failed > 0) process.exitCode = EXIT_RUNTIME;
      }),
    );
}

function reportDeleteFailure(candidate: PurgeCandidate, error: unknown): void {
  const reason = error instanceof Error ? error.message : String(error);
  process.stderr.write(`tokenserver: uid ${candidate.uid} kept: ${reason}\n`);
}
