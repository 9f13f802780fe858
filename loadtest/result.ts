import type { SigningStats } from './credentials.js';
import type { LatencySummary } from './histogram.js';
import type { NodeCheckTotals } from './node-check.js';
import type { Mix, RequestKind } from './scenarios.js';

// The JSON result of one run: what `runLoad` returns, `--out` writes, the HTML report draws and `--compare` reads.

export const RESULT_FORMAT = 'tokenserver-loadtest/1';

export interface LoadResultOptions {
  url: string;
  path: string;
  scenario: string;
  auth: 'browserid' | 'oauth';
  connections: number;
  durationS: number | null;
  requests: number | null;
  rate: number | null;
  seed: number;
  mix: Mix;
}

export interface KindTotals {
  requests: number;
  expected: number;
  unexpected: number;
  errors: number;
}

export interface TimelinePoint {
  /** Seconds since the run started (the end of this one-second window). */
  t: number;
  requests: number;
  byStatus: Record<string, number>;
  /** Requests without an HTTP answer: connection errors, timeouts included. */
  errors: number;
  /** Those of `errors` that timed out. */
  timeouts: number;
  unexpected: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface ProblemGroup {
  kind: RequestKind | 'warm-up';
  /** Why the answer was unexpected, or the connection error code. */
  problem: string;
  count: number;
  /** The first such answer's body (truncated). */
  sample?: string;
}

export interface LoadResult {
  format: typeof RESULT_FORMAT;
  startedAt: string;
  finishedAt: string;
  options: LoadResultOptions;
  users: {
    /** Existing users the warm-up asked for, and how many got a token (and so exist in the database). */
    requested: number;
    ready: number;
    warmupMs: number;
    /** Distinct new users sent during the run. */
    newDuringRun: number;
  };
  totals: {
    /** Requests answered or failed during the measured run. */
    requests: number;
    expected: number;
    unexpected: number;
    errors: number;
    byStatus: Record<string, number>;
    byKind: Partial<Record<RequestKind, KindTotals>>;
  };
  /** Seconds from the first request to the last answer. */
  elapsedS: number;
  requestsPerSecond: number;
  latencyMs: LatencySummary;
  histogram: Array<{ fromMs: number; toMs: number; count: number }>;
  timeline: TimelinePoint[];
  unexpected: ProblemGroup[];
  errors: ProblemGroup[];
  /** How a 200's token was checked: with the token secrets, or only its structure. */
  tokenCheck: 'signature' | 'structure';
  /** With `--hawk`: the Hawk-signed requests sent to nodes with the tokens received, and how many were accepted. */
  hawk?: NodeCheckTotals;
  generator: SigningStats & {
    /** The load generator's CPU over the run, in % of one core. */
    cpuPercent: number;
    eventLoopDelayP99Ms: number;
    /** True when the generator may have limited the rate (busy CPU or a lagging event loop). */
    saturated: boolean;
  };
  warnings: string[];
}
