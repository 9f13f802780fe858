import { readFileSync } from 'node:fs';
import { type LoadResult, RESULT_FORMAT } from './result.js';
import { formatNumber, textTable } from './text-table.js';

// --compare a.json b.json: the same metrics side by side, with the ratio B/A.

export interface ComparisonRow {
  metric: string;
  a: number;
  b: number;
  /** b / a; null when a is 0. */
  ratio: number | null;
  /** Whether a larger value is better (throughput) or worse (latency, errors). */
  higherIsBetter: boolean;
}

export function compareResults(a: LoadResult, b: LoadResult): ComparisonRow[] {
  const row = (metric: string, pick: (r: LoadResult) => number, higherIsBetter = false): ComparisonRow => {
    const va = pick(a);
    const vb = pick(b);
    return { metric, a: va, b: vb, ratio: va === 0 ? null : vb / va, higherIsBetter };
  };
  return [
    row('requests/s', (r) => r.requestsPerSecond, true),
    row('requests', (r) => r.totals.requests, true),
    row('latency p50 ms', (r) => r.latencyMs.p50),
    row('latency p90 ms', (r) => r.latencyMs.p90),
    row('latency p99 ms', (r) => r.latencyMs.p99),
    row('latency p99.9 ms', (r) => r.latencyMs.p999),
    row('latency max ms', (r) => r.latencyMs.max),
    row('unexpected answers', (r) => r.totals.unexpected),
    row('connection errors', (r) => r.totals.errors),
    row('generator CPU %', (r) => r.generator.cpuPercent),
  ];
}

export function formatComparison(a: LoadResult, b: LoadResult, names: [string, string] = ['A', 'B']): string {
  const rows = compareResults(a, b).map((r) => [
    r.metric,
    formatNumber(r.a, 2),
    formatNumber(r.b, 2),
    r.ratio === null ? (r.b === 0 ? '=' : 'new') : `${formatNumber(r.ratio, 3)}×`,
  ]);
  const describe = (name: string, r: LoadResult) =>
    `${name}: ${r.options.scenario}/${r.options.auth}, ${r.options.connections} connections, ${r.startedAt}`;
  return [
    describe(names[0], a),
    describe(names[1], b),
    '',
    textTable(['metric', names[0], names[1], `${names[1]}/${names[0]}`], rows),
  ].join('\n');
}

/** The result in `path`; throws with a one-line message naming the file when it cannot be read or is not one. */
export function readResult(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: Partial<LoadResult> | null;
  try {
    value = JSON.parse(text) as Partial<LoadResult> | null;
  } catch {
    throw new Error(`${path} is not JSON`);
  }
  if (value?.format !== RESULT_FORMAT) throw new Error(`${path} is not a load-test result (${RESULT_FORMAT})`);
  return value as LoadResult;
}
