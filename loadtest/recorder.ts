import { LatencyHistogram, round3 } from './histogram.js';
import { TIMEOUT_ERROR } from './http-client.js';
import type { KindTotals, ProblemGroup, TimelinePoint } from './result.js';
import type { RequestKind } from './scenarios.js';

// Aggregates answers as they arrive: totals per status and per request kind, one latency histogram for the run and
// one per second, and unexpected answers and errors grouped by reason.

const SAMPLE_CHARS = 300;

interface Second {
  requests: number;
  byStatus: Record<string, number>;
  errors: number;
  timeouts: number;
  unexpected: number;
  latency: LatencyHistogram;
}

export interface Answer {
  kind: RequestKind;
  /** Undefined when the request failed without an HTTP answer. */
  status?: number;
  body?: string;
  /** The connection error's code, when there was no answer. */
  error?: string;
  /** Why the answer is not the expected one. */
  problem?: string;
  latencyMs: number;
  /** Milliseconds since the start of the run. */
  atMs: number;
}

export class RunRecorder {
  readonly latency = new LatencyHistogram();
  readonly byStatus: Record<string, number> = {};
  readonly byKind: Partial<Record<RequestKind, KindTotals>> = {};
  requests = 0;
  expected = 0;
  unexpected = 0;
  errors = 0;
  private readonly seconds: Second[] = [];
  private readonly unexpectedGroups = new Map<string, ProblemGroup>();
  private readonly errorGroups = new Map<string, ProblemGroup>();

  record(answer: Answer): void {
    this.requests++;
    const second = this.second(Math.floor(answer.atMs / 1000));
    second.requests++;
    const kind = this.byKind[answer.kind] ?? { requests: 0, expected: 0, unexpected: 0, errors: 0 };
    this.byKind[answer.kind] = kind;
    kind.requests++;
    if (answer.status === undefined) {
      this.errors++;
      kind.errors++;
      second.errors++;
      if (answer.error === TIMEOUT_ERROR) second.timeouts++;
      group(this.errorGroups, answer.kind, answer.error ?? 'error');
      return;
    }
    this.latency.record(answer.latencyMs);
    second.latency.record(answer.latencyMs);
    const status = String(answer.status);
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    second.byStatus[status] = (second.byStatus[status] ?? 0) + 1;
    if (answer.problem === undefined) {
      this.expected++;
      kind.expected++;
    } else {
      this.unexpected++;
      kind.unexpected++;
      second.unexpected++;
      group(this.unexpectedGroups, answer.kind, answer.problem, answer.body);
    }
  }

  timeline(): TimelinePoint[] {
    return this.seconds.map((second, index) => ({
      t: index + 1,
      requests: second?.requests ?? 0,
      byStatus: second?.byStatus ?? {},
      errors: second?.errors ?? 0,
      timeouts: second?.timeouts ?? 0,
      unexpected: second?.unexpected ?? 0,
      p50: round3(second?.latency.percentile(0.5) ?? 0),
      p90: round3(second?.latency.percentile(0.9) ?? 0),
      p99: round3(second?.latency.percentile(0.99) ?? 0),
    }));
  }

  unexpectedAnswers(): ProblemGroup[] {
    return [...this.unexpectedGroups.values()].sort((a, b) => b.count - a.count);
  }

  connectionErrors(): ProblemGroup[] {
    return [...this.errorGroups.values()].sort((a, b) => b.count - a.count);
  }

  private second(index: number): Second {
    for (let i = this.seconds.length; i <= index; i++) {
      this.seconds.push({
        requests: 0,
        byStatus: {},
        errors: 0,
        timeouts: 0,
        unexpected: 0,
        latency: new LatencyHistogram(),
      });
    }
    return this.seconds[index] as Second;
  }
}

export function group(
  groups: Map<string, ProblemGroup>,
  kind: ProblemGroup['kind'],
  problem: string,
  body?: string,
): void {
  const key = `${kind}\u0000${problem}`;
  const existing = groups.get(key);
  if (existing) existing.count++;
  else
    groups.set(key, {
      kind,
      problem,
      count: 1,
      ...(body === undefined ? {} : { sample: body.slice(0, SAMPLE_CHARS) }),
    });
}
