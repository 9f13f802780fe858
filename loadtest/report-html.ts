import type { LoadResult, ProblemGroup } from './result.js';
import { barChart, escapeHtml, lineChart, type Series } from './svg-charts.js';

// One self-contained HTML page per run: the summary, requests/s and latency percentiles over time, the latency
// histogram, status codes over time, errors over time, and the unexpected answers and errors listed.

const STATUS_COLORS: Record<string, string> = { '2': '#2e9e4f', '4': '#d08a2e', '5': '#c0392b' };
const PALETTE = ['#4a7bd0', '#d0a24a', '#c0392b', '#8e44ad', '#16a085'];

export function renderHtmlReport(result: LoadResult): string {
  const t = result.timeline;
  const { options: o, latencyMs: l } = result;
  const requests: Series[] = [
    { name: 'requests/s', color: PALETTE[0] as string, points: t.map((p) => [p.t, p.requests]) },
  ];
  const percentiles: Series[] = (['p50', 'p90', 'p99'] as const).map((key, i) => ({
    name: `${key} ms`,
    color: PALETTE[i] as string,
    points: t.map((p) => [p.t, p[key]] as const),
  }));
  const statuses = [...new Set(t.flatMap((p) => Object.keys(p.byStatus)))].sort();
  const statusSeries: Series[] = [
    ...statuses.map((status, i) => ({
      name: status,
      color:
        statuses.length === 1
          ? (STATUS_COLORS[status[0] as string] ?? '#555')
          : (PALETTE[i % PALETTE.length] as string),
      points: t.map((p) => [p.t, p.byStatus[status] ?? 0] as const),
    })),
  ];
  const errorSeries: Series[] = [
    { name: 'unexpected answers', color: '#e91e63', points: t.map((p) => [p.t, p.unexpected] as const) },
    { name: 'timeouts', color: '#d08a2e', points: t.map((p) => [p.t, p.timeouts] as const) },
    { name: 'other connection errors', color: '#000', points: t.map((p) => [p.t, p.errors - p.timeouts] as const) },
  ];
  const histogram = result.histogram.map((b) => ({ label: `${formatMs(b.fromMs)}`, value: b.count }));
  const summaryRows: Array<[string, string]> = [
    ['target', `${o.url}${o.path}`],
    [
      'scenario / auth',
      `${o.scenario} / ${o.auth} (existing ${o.mix.existing}, new ${o.mix.new}, invalid ${o.mix.invalid})`,
    ],
    ['connections, rate', `${o.connections}, ${o.rate === null ? 'as fast as answered' : `${o.rate} req/s target`}`],
    [
      'bound',
      [o.durationS === null ? '' : `${o.durationS} s`, o.requests === null ? '' : `${o.requests} requests`]
        .filter(Boolean)
        .join(' or '),
    ],
    ['started', result.startedAt],
    [
      'existing users',
      `${result.users.ready} of ${result.users.requested} ready (warm-up ${(result.users.warmupMs / 1000).toFixed(1)} s)`,
    ],
    ['new users sent', String(result.users.newDuringRun)],
    ['requests', `${result.totals.requests} in ${result.elapsedS} s: ${result.requestsPerSecond} req/s`],
    [
      'expected / unexpected / errors',
      `${result.totals.expected} / ${result.totals.unexpected} / ${result.totals.errors}`,
    ],
    ['latency ms', `p50 ${l.p50} · p90 ${l.p90} · p99 ${l.p99} · p99.9 ${l.p999} · max ${l.max}`],
    [
      'status codes',
      Object.entries(result.totals.byStatus)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', '),
    ],
    ['tokens checked by', result.tokenCheck],
    [
      'generator',
      `${result.generator.cpuPercent}% of a core, event-loop delay p99 ${result.generator.eventLoopDelayP99Ms} ms, ${result.generator.presigned} pre-signed, ${result.generator.signedDuringRun} signed during the run`,
    ],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Load test: ${escapeHtml(o.scenario)} / ${escapeHtml(o.auth)} ${escapeHtml(result.startedAt)}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:900px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
figure{margin:16px 0}figcaption{font-weight:bold;margin-bottom:4px}.legend span{margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}.warn{color:#b00}
</style></head><body>
<h1>Token server load test</h1>
${result.warnings.map((w) => `<p class="warn">⚠ ${escapeHtml(w)}</p>`).join('\n')}
<table>${summaryRows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
<h2>Per request kind</h2>
${kindTable(result)}
${lineChart('Requests per second', 'seconds', 'req/s', requests)}
${lineChart('Latency percentiles per second', 'seconds', 'ms', percentiles)}
${barChart('Latency histogram (log-spaced bins)', 'ms', 'requests', histogram)}
${lineChart('Status codes per second', 'seconds', 'answers', statusSeries)}
${lineChart('Errors per second', 'seconds', 'requests', errorSeries)}
<h2>Unexpected answers</h2>
${problemTable(result.unexpected)}
<h2>Connection errors</h2>
${problemTable(result.errors)}
</body></html>
`;
}

function kindTable(result: LoadResult): string {
  const rows = Object.entries(result.totals.byKind)
    .map(
      ([kind, k]) =>
        `<tr><td>${escapeHtml(kind)}</td><td>${k.requests}</td><td>${k.expected}</td><td>${k.unexpected}</td><td>${k.errors}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>kind</th><th>requests</th><th>expected</th><th>unexpected</th><th>errors</th></tr>${rows}</table>`;
}

function problemTable(groups: readonly ProblemGroup[]): string {
  if (groups.length === 0) return '<p>None.</p>';
  const rows = groups
    .map(
      (g) =>
        `<tr><td>${escapeHtml(g.kind)}</td><td>${escapeHtml(g.problem)}</td><td>${g.count}</td><td><code>${escapeHtml(g.sample ?? '')}</code></td></tr>`,
    )
    .join('');
  return `<table><tr><th>kind</th><th>problem</th><th>count</th><th>first answer</th></tr>${rows}</table>`;
}

function formatMs(ms: number): string {
  return ms >= 10 ? String(Math.round(ms)) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(2);
}
