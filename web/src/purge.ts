import type { PurgeCandidate, Store } from './db/store.js';

// Purge of replaced user rows past their grace period. The storage-node data deletion (node-data.ts) plugs in as
// `deleteNodeData`, which runs before the row is deleted so that a failure leaves the row for the next run.

export interface PurgeOptions {
  /** Rows replaced at least this long ago (ms) are purged. */
  gracePeriodMs: number;
  /** Rows read per batch. */
  batchSize: number;
  /** Only this service's rows (default: every service). */
  service?: string;
  /** Stop after this many rows (0 = no limit). */
  maxRecords: number;
  /** Report what would be purged without changing anything. */
  dryRun: boolean;
  /** Also purge rows whose node is marked downed (their data cannot be deleted there). */
  force: boolean;
  /** Deletes the user's data on its storage node; called only for rows whose node still exists. */
  deleteNodeData?: (candidate: PurgeCandidate) => Promise<void>;
  /** Told about each failed node-data deletion (the row is kept). */
  onDeleteFailure?: (candidate: PurgeCandidate, error: unknown) => void;
  now?: () => number;
}

export interface PurgeReport {
  /** Rows deleted (or tombstones detached), or that would be in a dry run. */
  purged: number;
  /** Rows left in place because their node is downed. */
  skippedDowned: number;
  /** Rows whose node-data deletion failed; kept for a later run. */
  failed: number;
}

export async function purgeOldRecords(store: Store, options: PurgeOptions): Promise<PurgeReport> {
  const report: PurgeReport = { purged: 0, skippedDowned: 0, failed: 0 };
  const replacedBefore = (options.now ?? Date.now)() - options.gracePeriodMs;
  let afterUid = 0;
  while (options.maxRecords === 0 || report.purged < options.maxRecords) {
    const batch = await store.listPurgeCandidates({
      replacedBefore,
      afterUid,
      limit: options.batchSize,
      ...(options.service === undefined ? {} : { service: options.service }),
    });
    if (batch.length === 0) break;
    for (const candidate of batch) {
      afterUid = candidate.uid;
      if (options.maxRecords > 0 && report.purged >= options.maxRecords) break;
      await purgeOne(store, candidate, options, report);
    }
  }
  return report;
}

async function purgeOne(
  store: Store,
  candidate: PurgeCandidate,
  options: PurgeOptions,
  report: PurgeReport,
): Promise<void> {
  if (candidate.nodeDowned && !options.force) {
    report.skippedDowned++;
    return;
  }
  if (options.dryRun) {
    report.purged++;
    return;
  }
  if (candidate.nodeUrl !== null && !candidate.nodeDowned && options.deleteNodeData) {
    try {
      await options.deleteNodeData(candidate);
    } catch (err) {
      options.onDeleteFailure?.(candidate, err);
      report.failed++;
      return;
    }
  }
  if (await store.purgeUserRecord(candidate)) report.purged++;
}
