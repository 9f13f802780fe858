import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { LoadResult } from '../../loadtest/result.js';
import { apiErrors } from '../../web/src/api-errors.js';
import { runLoadtestCli, sampleResult } from '../support/loadtest-results.js';
import { answerJson, startLoadtestStandIn } from '../support/loadtest-stand-in.js';

// `npm run loadtest -- …` as a user runs it (a child process): --compare on two result files, bad arguments, and
// the exit code of a run with unexpected answers. Runs against the whole stack are in run-load.test.ts.

describe('load-test tool: the CLI', function () {
  this.timeout(30_000);
  let dir: string;
  let a: string;
  let b: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'loadtest-cli-'));
    a = join(dir, 'a.json');
    b = join(dir, 'b.json');
    const base = sampleResult();
    writeFileSync(a, JSON.stringify(base));
    writeFileSync(
      b,
      JSON.stringify(
        sampleResult({
          startedAt: '2026-01-02T00:00:00.000Z',
          options: { ...base.options, auth: 'oauth', connections: 20 },
          requestsPerSecond: base.requestsPerSecond * 1.5,
          latencyMs: { ...base.latencyMs, p99: base.latencyMs.p99 / 2 },
          totals: { ...base.totals, unexpected: 0 },
        }),
      ),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--compare A.json B.json prints both runs and the ratios B/A', async () => {
    const run = await runLoadtestCli(['--compare', a, b]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.equal('');
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 2)).to.deep.equal([
      'A: realistic/browserid, 10 connections, 2026-01-01T00:00:00.000Z',
      'B: realistic/oauth, 20 connections, 2026-01-02T00:00:00.000Z',
    ]);
    expect(run.stdout).to.match(/^metric\s+A\s+B\s+B\/A$/m);
    expect(run.stdout).to.match(/^requests\/s\s+96\.70\s+145\.05\s+1\.500×$/m);
    expect(run.stdout).to.match(/^latency p99 ms\s+20\.00\s+10\.00\s+0\.500×$/m);
    expect(run.stdout).to.match(/^latency p50 ms\s+4\.00\s+4\.00\s+1\.000×$/m);
    expect(run.stdout).to.match(/^unexpected answers\s+5\.00\s+0\.00\s+0\.000×$/m);
  });

  it('refuses bad arguments with exit code 2 and one line', async () => {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{"format":');
    const notResult = join(dir, 'other.json');
    writeFileSync(notResult, '{"format":"something else"}');
    const missing = join(dir, 'missing.json');
    const cases: Array<[string[], string]> = [
      [
        ['--scenario', 'everyone'],
        "loadtest: option '--scenario <name>' argument 'everyone' is invalid. Allowed choices are new-users, existing-users, realistic.",
      ],
      [['--rate', '0'], "loadtest: option '--rate <n>' argument '0' is invalid. expected a positive number"],
      [['--bogus'], "loadtest: unknown option '--bogus'"],
      [
        ['--url', 'http://example.com', '--run-dir', dir],
        'loadtest: refusing http://example.com: only loopback targets (127.0.0.0/8, ::1, localhost) are load-tested',
      ],
      [['--compare', a, missing], `loadtest: cannot read ${missing}: ENOENT`],
      [['--compare', notJson, b], `loadtest: ${notJson} is not JSON`],
      [['--compare', a, notResult], `loadtest: ${notResult} is not a load-test result (tokenserver-loadtest/1)`],
      [['--compare', a], 'loadtest: --compare takes two JSON results'],
    ];
    for (const [args, line] of cases) {
      const run = await runLoadtestCli(args);
      expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }, args.join(' ')).to.deep.equal({
        code: 2,
        stdout: '',
        stderr: `${line}\n`,
      });
    }
  });

  it('exits 1 after a run with unexpected answers, having written and listed them', async () => {
    const server = await startLoadtestStandIn((_req, res) => answerJson(res, 503, apiErrors.unavailable(3).toBody()));
    try {
      const out = join(dir, 'run.json');
      const run = await runLoadtestCli([
        '--url',
        server.url,
        '--scenario',
        'new-users',
        '--auth',
        'oauth',
        '--requests',
        '12',
        '--connections',
        '2',
        '--run-dir',
        dir,
        '--out',
        out,
        '--no-progress',
      ]);
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stdout).to.include('  ! new: expected 200, got 503 error × 12');
      expect(run.stdout).to.include('warning: 12 unexpected answers');
      const result = JSON.parse(readFileSync(out, 'utf8')) as LoadResult;
      expect(result.totals).to.include({ requests: 12, expected: 0, unexpected: 12, errors: 0 });
    } finally {
      await server.close();
    }
  });
});
