import { expect } from 'chai';
import { compareResults, formatComparison } from '../../loadtest/compare.js';
import { LatencyHistogram } from '../../loadtest/histogram.js';
import { renderHtmlReport } from '../../loadtest/report-html.js';
import type { LoadResult } from '../../loadtest/result.js';
import { runLoad } from '../../loadtest/run-load.js';
import { isLoopbackHost, loopbackTarget, TargetNotAllowedError } from '../../loadtest/target.js';
import { chartSeries, REPORT_CHART_TITLES, reportCharts, sampleResult } from '../support/loadtest-results.js';

describe('load-test tool: loopback guard', () => {
  it('accepts 127.0.0.0/8, ::1 and localhost over http', () => {
    for (const url of ['http://127.0.0.1:8000', 'http://127.1.2.3/', 'http://localhost:9', 'http://[::1]:8000']) {
      expect(loopbackTarget(url).href).to.be.a('string');
    }
  });

  it('refuses anything else with a clear message', () => {
    for (const url of [
      'http://10.0.0.1:8000',
      'http://example.com',
      'http://0.0.0.0:8000',
      'http://[::2]:80',
      'http://128.0.0.1',
    ]) {
      expect(() => loopbackTarget(url)).to.throw(
        TargetNotAllowedError,
        /only loopback targets \(127\.0\.0\.0\/8, ::1, localhost\)/,
      );
    }
    expect(() => loopbackTarget('https://127.0.0.1')).to.throw(TargetNotAllowedError, /only http:\/\//);
    expect(() => loopbackTarget('not a url')).to.throw(TargetNotAllowedError, /is not a URL/);
    expect(isLoopbackHost('localhost.example.com')).to.equal(false);
  });

  it('is applied by runLoad before anything is sent', async () => {
    const failure = await runLoad({
      url: 'http://192.0.2.1:8000',
      scenario: 'realistic',
      auth: 'oauth',
      runDir: '/nonexistent',
    }).catch((err: unknown) => err);
    expect(failure).to.be.instanceOf(TargetNotAllowedError);
  });
});

describe('load-test tool: --compare', () => {
  const result = (requestsPerSecond: number, p99: number, unexpected: number): LoadResult => {
    const { totals, latencyMs } = sampleResult();
    return sampleResult({
      requestsPerSecond,
      totals: { ...totals, requests: requestsPerSecond * 10, unexpected, errors: 0 },
      latencyMs: { ...latencyMs, p50: p99 / 4, p90: p99 / 2, p99, p999: p99 * 2, max: p99 * 3 },
    });
  };

  it('gives B/A for throughput, latency percentiles and failures', () => {
    const rows = compareResults(result(1000, 20, 0), result(1500, 10, 3));
    const byMetric = Object.fromEntries(rows.map((r) => [r.metric, r]));
    expect(byMetric['requests/s']).to.include({ a: 1000, b: 1500, ratio: 1.5, higherIsBetter: true });
    expect(byMetric['latency p99 ms']).to.include({ a: 20, b: 10, ratio: 0.5, higherIsBetter: false });
    expect(byMetric['unexpected answers']).to.include({ a: 0, b: 3, ratio: null });
    const text = formatComparison(result(1000, 20, 0), result(1500, 10, 3));
    expect(text).to.match(/requests\/s\s+1,000\.00\s+1,500\.00\s+1\.500×/);
    expect(text).to.match(/unexpected answers\s+0\.00\s+3\.00\s+new/);
  });
});

describe('load-test tool: latency histogram', () => {
  it('gives percentiles within the bucket precision', () => {
    const histogram = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) histogram.record(i / 10);
    const summary = histogram.summary();
    expect(summary.count).to.equal(1000);
    expect(summary.p50).to.be.closeTo(50, 1);
    expect(summary.p99).to.be.closeTo(99, 1.5);
    expect(summary.max).to.equal(100);
    expect(histogram.bins(20).reduce((sum, bin) => sum + bin.count, 0)).to.equal(1000);
  });
});

describe('load-test tool: HTML report', () => {
  const html = renderHtmlReport(sampleResult());

  it('draws requests/s, latency percentiles, the latency histogram, status codes and errors', () => {
    expect(reportCharts(html)).to.deep.equal(REPORT_CHART_TITLES.map((title) => ({ title, drawn: true })));
  });

  it('plots unexpected answers, timeouts and other connection errors per second apart from the status codes', () => {
    // The sample's second second: 5 unexpected answers, 3 timeouts and 2 other connection errors.
    const errors = chartSeries(html, 'Errors per second');
    expect([...errors.keys()]).to.deep.equal(['unexpected answers', 'timeouts', 'other connection errors']);
    const [unexpected, timeouts, others] = [...errors.values()] as [number[], number[], number[]];
    expect(unexpected[0]).to.equal(0);
    expect(unexpected[2]).to.equal(0);
    expect(unexpected[1]).to.be.greaterThan(timeouts[1] as number);
    expect(timeouts[1]).to.be.greaterThan(others[1] as number);
    expect(others[1]).to.be.greaterThan(0);
    expect(unexpected[1] as number).to.be.closeTo(((others[1] as number) * 5) / 2, 0.2);
    expect([...chartSeries(html, 'Status codes per second').keys()]).to.deep.equal(['200', '401', '503']);
  });
});
