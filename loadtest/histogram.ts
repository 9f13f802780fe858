// Latencies in log-spaced buckets (about 1.5% wide, 10 µs to 2 min): constant memory per histogram, so the tool keeps
// one per second of the run for the percentiles-over-time plot.

const MIN_MS = 0.01;
const GROWTH = 1.015;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(120_000 / MIN_MS) / LOG_GROWTH) + 1;

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  record(ms: number): void {
    const index = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.counts[index] = (this.counts[index] as number) + 1;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** The latency below which `fraction` (0..1) of the samples fall: a bucket's upper bound, clamped to the maximum. */
  percentile(fraction: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, bucketUpperMs(i)));
    }
    return this.max;
  }

  summary(): LatencySummary {
    const p = (fraction: number) => round3(this.percentile(fraction));
    return {
      count: this.count,
      min: this.count === 0 ? 0 : round3(this.min),
      mean: this.count === 0 ? 0 : round3(this.sum / this.count),
      p50: p(0.5),
      p75: p(0.75),
      p90: p(0.9),
      p95: p(0.95),
      p99: p(0.99),
      p999: p(0.999),
      max: round3(this.max),
    };
  }

  /** Counts regrouped into `bins` log-spaced bins between the smallest and largest sample, for plotting. */
  bins(bins = 40): Array<{ fromMs: number; toMs: number; count: number }> {
    if (this.count === 0) return [];
    const low = Math.max(MIN_MS, this.min);
    const high = Math.max(low * 1.01, this.max);
    const step = Math.log(high / low) / bins;
    const result = Array.from({ length: bins }, (_, i) => ({
      fromMs: round3(low * Math.exp(step * i)),
      toMs: round3(low * Math.exp(step * (i + 1))),
      count: 0,
    }));
    for (let i = 0; i < BUCKETS; i++) {
      const count = this.counts[i] as number;
      if (count === 0) continue;
      const at = Math.min(Math.max(bucketUpperMs(i), low), high);
      const bin = Math.min(bins - 1, Math.max(0, Math.floor(Math.log(at / low) / step)));
      (result[bin] as { count: number }).count += count;
    }
    return result;
  }
}

function bucketUpperMs(index: number): number {
  return MIN_MS * GROWTH ** index;
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
