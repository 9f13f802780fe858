import { formatNumber, textTable } from '../../loadtest/text-table.js';
import type { AnswerLog } from './answer-log.js';

// One row of the fault table, and the properties the fault broke (empty when it held them all).

export interface FaultReport {
  fault: string;
  sent: number;
  /** Answers the checker accepted (a valid token, or the expected 401). */
  succeeded: number;
  /** Everything else, by HTTP status or connection error code. */
  failedByOutcome: Record<string, number>;
  maxLatencyMs: number;
  /** From the end of the fault until service was back; undefined when the fault has no end (or never ends). */
  recoverMs: number | undefined;
  /** What the fault broke; empty when every property held. */
  violations: string[];
  /** Measured facts worth printing (e.g. database row checks). */
  notes: string[];
}

export function reportFrom(
  fault: string,
  log: AnswerLog,
  recoverMs: number | undefined,
  violations: string[],
  notes: string[] = [],
): FaultReport {
  const failures = log.failures().length;
  return {
    fault,
    sent: log.answers.length,
    succeeded: log.answers.length - failures,
    failedByOutcome: log.failedByOutcome(),
    maxLatencyMs: log.maxLatencyMs(),
    recoverMs,
    violations,
    notes,
  };
}

/** The row of a fault whose harness failed before it could measure anything. */
export function crashed(fault: string, err: unknown): FaultReport {
  const violation = `the fault run failed: ${(err as Error)?.stack ?? String(err)}`;
  return {
    fault,
    sent: 0,
    succeeded: 0,
    failedByOutcome: {},
    maxLatencyMs: 0,
    recoverMs: undefined,
    violations: [violation],
    notes: [],
  };
}

export function faultTable(reports: readonly FaultReport[]): string {
  return textTable(
    ['fault', 'requests sent', 'succeeded', 'failed by status', 'max latency', 'time to recover'],
    reports.map((report) => [
      report.fault,
      formatNumber(report.sent),
      formatNumber(report.succeeded),
      formatFailures(report.failedByOutcome),
      `${formatNumber(report.maxLatencyMs)} ms`,
      report.recoverMs === undefined ? '-' : `${formatNumber(report.recoverMs)} ms`,
    ]),
  );
}

function formatFailures(byOutcome: Record<string, number>): string {
  const entries = Object.entries(byOutcome).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '0' : entries.map(([outcome, count]) => `${outcome}: ${count}`).join(', ');
}
