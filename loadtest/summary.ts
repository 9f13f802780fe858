import type { LoadResult } from './result.js';
import { formatNumber, textTable } from './text-table.js';

// The terminal summary of a run.

export function formatSummary(result: LoadResult): string {
  const { options: o, totals, latencyMs: l, users, generator } = result;
  const lines: string[] = [];
  const bound = [o.durationS === null ? '' : `${o.durationS} s`, o.requests === null ? '' : `${o.requests} requests`]
    .filter(Boolean)
    .join(' or ');
  lines.push(
    `${o.scenario} / ${o.auth} against ${o.url}${o.path}: ${o.connections} connections, ${bound}` +
      `${o.rate === null ? '' : `, target ${o.rate} req/s`}, seed ${o.seed}`,
  );
  lines.push(
    `existing users ready: ${users.ready}/${users.requested} (warm-up ${formatNumber(users.warmupMs / 1000, 1)} s); new users sent: ${users.newDuringRun}`,
  );
  lines.push('');
  lines.push(
    textTable(
      ['requests', 'req/s', 'expected', 'unexpected', 'errors', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'],
      [
        [
          formatNumber(totals.requests),
          formatNumber(result.requestsPerSecond, 1),
          formatNumber(totals.expected),
          formatNumber(totals.unexpected),
          formatNumber(totals.errors),
          ...[l.p50, l.p90, l.p99, l.p999, l.max].map((v) => formatNumber(v, 2)),
        ],
      ],
    ),
  );
  lines.push('');
  const kinds = Object.entries(totals.byKind).map(([kind, k]) => [
    kind,
    formatNumber(k.requests),
    formatNumber(k.expected),
    formatNumber(k.unexpected),
    formatNumber(k.errors),
  ]);
  lines.push(textTable(['kind', 'requests', 'expected', 'unexpected', 'errors'], kinds));
  lines.push('');
  const statuses = Object.entries(totals.byStatus)
    .map(([status, count]) => `${status}: ${formatNumber(count)}`)
    .join('  ');
  lines.push(`status codes: ${statuses || 'none'}`);
  lines.push(
    `generator: ${formatNumber(generator.cpuPercent, 0)}% of a core, event-loop delay p99 ${formatNumber(generator.eventLoopDelayP99Ms, 1)} ms, ` +
      `${generator.presigned} credentials pre-signed, ${generator.signedDuringRun} signed during the run; tokens checked by ${result.tokenCheck}`,
  );
  if (result.hawk) {
    lines.push(
      `hawk: ${formatNumber(result.hawk.requests)} signed GETs to nodes, ${formatNumber(result.hawk.accepted)} accepted`,
    );
  }
  for (const group of [...result.unexpected, ...result.errors].slice(0, 20)) {
    lines.push(
      `  ! ${group.kind}: ${group.problem} × ${group.count}${group.sample ? `  ${group.sample.slice(0, 120)}` : ''}`,
    );
  }
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}
