import { join } from 'node:path';
import { type LoadResult, RESULT_FORMAT, type TimelinePoint } from '../../loadtest/result.js';
import { REPO_ROOT, runToExit } from './processes.js';

// The load-test tool's results, reports and CLI for its own tests: a small complete result to change field by field
// (for --compare, the HTML report), readers of the report's charts, and the CLI run as a child process.

/** `npm run loadtest -- …args` without the build: the CLI's exit code and output. */
export function runLoadtestCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runToExit(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'loadtest/cli.ts'), ...args], env);
}

const point = (t: number, p: Omit<TimelinePoint, 't' | 'p50' | 'p90' | 'p99'>): TimelinePoint => ({
  t,
  ...p,
  p50: 2 * t,
  p90: 4 * t,
  p99: 8 * t,
});

/** A 3-second realistic BrowserID run whose second second saw 503s, timeouts and a connection reset. */
export function sampleResult(changes: Partial<LoadResult> = {}): LoadResult {
  return {
    format: RESULT_FORMAT,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:03.000Z',
    options: {
      url: 'http://127.0.0.1:8000',
      path: '/1.0/sync/1.5',
      scenario: 'realistic',
      auth: 'browserid',
      connections: 10,
      durationS: 3,
      requests: null,
      rate: null,
      seed: 1,
      mix: { existing: 0.95, new: 0.04, invalid: 0.01 },
    },
    users: { requested: 100, ready: 100, warmupMs: 1200, newDuringRun: 12 },
    totals: {
      requests: 290,
      expected: 280,
      unexpected: 5,
      errors: 5,
      byStatus: { '200': 279, '401': 1, '503': 5 },
      byKind: {
        existing: { requests: 277, expected: 267, unexpected: 5, errors: 5 },
        new: { requests: 12, expected: 12, unexpected: 0, errors: 0 },
        'invalid:expired': { requests: 1, expected: 1, unexpected: 0, errors: 0 },
      },
    },
    elapsedS: 3,
    requestsPerSecond: 96.7,
    latencyMs: { count: 285, min: 1, mean: 5, p50: 4, p75: 6, p90: 8, p95: 10, p99: 20, p999: 40, max: 60 },
    histogram: [
      { fromMs: 1, toMs: 4, count: 140 },
      { fromMs: 4, toMs: 16, count: 140 },
      { fromMs: 16, toMs: 64, count: 5 },
    ],
    timeline: [
      point(1, { requests: 100, byStatus: { '200': 99, '401': 1 }, errors: 0, timeouts: 0, unexpected: 0 }),
      point(2, { requests: 90, byStatus: { '200': 80, '503': 5 }, errors: 5, timeouts: 3, unexpected: 5 }),
      point(3, { requests: 100, byStatus: { '200': 100 }, errors: 0, timeouts: 0, unexpected: 0 }),
    ],
    unexpected: [{ kind: 'existing', problem: 'expected 200, got 503 error', count: 5, sample: '{"status":"error"}' }],
    errors: [
      { kind: 'existing', problem: 'ETIMEDOUT', count: 3 },
      { kind: 'existing', problem: 'ECONNRESET', count: 2 },
    ],
    tokenCheck: 'signature',
    generator: {
      presigned: 200,
      signedDuringRun: 0,
      signingMsDuringRun: 0,
      cpuPercent: 20,
      eventLoopDelayP99Ms: 12,
      saturated: false,
    },
    warnings: ['5 unexpected answers'],
    ...changes,
  };
}

/** The charts of an HTML report, in order: the caption of each figure with an SVG in it. */
export const REPORT_CHART_TITLES = [
  'Requests per second',
  'Latency percentiles per second',
  'Latency histogram (log-spaced bins)',
  'Status codes per second',
  'Errors per second',
];

/** Each figure's caption in a report, and whether it holds an SVG chart (else "No data."). */
export function reportCharts(html: string): Array<{ title: string; drawn: boolean }> {
  return [...html.matchAll(/<figure><figcaption>(.*?)<\/figcaption>(.*?)<\/figure>/gs)].map((m) => ({
    title: m[1] as string,
    drawn: (m[2] as string).startsWith('<svg '),
  }));
}

/**
 * The line series of the report's chart `title`, by name: each point's height above the x axis in SVG units
 * (so 0 where the value is 0, and larger for larger values).
 */
export function chartSeries(html: string, title: string): Map<string, number[]> {
  const figure = html.match(new RegExp(`<figure><figcaption>${escapeRegExp(title)}</figcaption>(.*?)</figure>`, 's'));
  if (!figure) throw new Error(`no chart "${title}" in the report`);
  const series = new Map<string, number[]>();
  const baseline = xAxisOf(figure[1] as string);
  for (const [, d, name] of (figure[1] as string).matchAll(/<path d="([^"]*)"[^>]*><title>([^<]*)<\/title>/g)) {
    const ys = [...(d as string).matchAll(/[ML][\d.]+,([\d.]+)/g)].map((m) => Number(m[1]));
    series.set(
      name as string,
      ys.map((y) => Math.round((baseline - y) * 10) / 10),
    );
  }
  return series;
}

/** The y of the lowest grid line: the x axis. */
function xAxisOf(svg: string): number {
  return Math.max(...[...svg.matchAll(/<line [^>]*y1="([\d.]+)"/g)].map((m) => Number(m[1])));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
