import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DerivedSecrets } from '@tokenserver/shared';
import { expect } from 'chai';
import { INVALID_KINDS } from '../../loadtest/credentials.js';
import { renderHtmlReport } from '../../loadtest/report-html.js';
import type { LoadResult } from '../../loadtest/result.js';
import { LoadtestSetupError, runLoad } from '../../loadtest/run-load.js';
import { REPORT_CHART_TITLES, reportCharts, runLoadtestCli } from '../support/loadtest-results.js';
import { AUDIENCE, MASTER_SECRET, TestStack } from '../support/stack.js';

// Short real runs against the whole stack (broker, workers, web front) started with both loadtest modes on.

describe('load-test tool against a stack in loadtest_mode', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let outDir: string;

  before(async () => {
    stack = await TestStack.start({
      TOKENSERVER_BROWSERID__LOADTEST_MODE: 'true',
      TOKENSERVER_OAUTH__LOADTEST_MODE: 'true',
    });
    outDir = mkdtempSync(join(tmpdir(), 'loadtest-results-'));
  });

  after(async () => {
    await stack?.stop();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('says so loudly: a warning at start-up and in every __heartbeat__', async () => {
    expect(stack.web.stderr + stack.web.stdout).to.match(
      /LOADTEST MODE IS ON \(browserid\.loadtest_mode, oauth\.loadtest_mode\)/,
    );
    const heartbeat = await stack.get('/__heartbeat__');
    expect(heartbeat.status).to.equal(200);
    expect(heartbeat.body).to.include({ loadtest_mode: true });
    expect(String(heartbeat.body?.warning)).to.match(/LOADTEST MODE IS ON/);
  });

  for (const auth of ['browserid', 'oauth'] as const) {
    it(`runs a realistic ${auth} mix: every answer as expected, each invalid kind refused with its 401`, async () => {
      const result = await runLoad({
        url: stack.url,
        scenario: 'realistic',
        // More invalid and new requests than Mozilla's mix, so that a short run sees every kind.
        mix: { existing: 0.6, new: 0.15, invalid: 0.25 },
        auth,
        durationS: 2.5,
        connections: 4,
        users: 40,
        runDir: stack.cluster.runDir,
        audience: AUDIENCE,
        tokenSecrets: new DerivedSecrets(MASTER_SECRET),
      });
      expect(result.users).to.include({ requested: 40, ready: 40 });
      expect(result.totals.unexpected, JSON.stringify(result.unexpected)).to.equal(0);
      expect(result.totals.errors, JSON.stringify(result.errors)).to.equal(0);
      expect(result.totals.requests).to.be.greaterThan(50);
      expect(result.totals.expected).to.equal(result.totals.requests);
      expect(result.tokenCheck).to.equal('signature');
      const byKind = result.totals.byKind;
      expect(byKind.existing?.expected).to.be.greaterThan(0);
      expect(byKind.new?.expected).to.be.greaterThan(0);
      let refused = 0;
      for (const kind of INVALID_KINDS) {
        expect(byKind[`invalid:${kind}`]?.expected, kind).to.be.greaterThan(0);
        refused += byKind[`invalid:${kind}`]?.requests ?? 0;
      }
      expect(result.totals.byStatus['401']).to.equal(refused);
      expect(result.totals.byStatus['200']).to.equal(result.totals.requests - refused);
      expect(result.timeline.reduce((sum, p) => sum + p.requests, 0)).to.equal(result.totals.requests);
      expect(result.latencyMs.p50).to.be.greaterThan(0).and.at.most(result.latencyMs.p99);
      expect(result.generator.cpuPercent).to.be.greaterThan(0);
      if (auth === 'browserid') {
        const htmlPath = join(outDir, 'run.html');
        writeFileSync(htmlPath, renderHtmlReport(result));
        const html = readFileSync(htmlPath, 'utf8');
        expect(html).to.match(/^<!doctype html>/);
        expect(reportCharts(html)).to.deep.equal(REPORT_CHART_TITLES.map((title) => ({ title, drawn: true })));
        expect(html.match(/<svg /g)).to.have.length(REPORT_CHART_TITLES.length);
        expect(html).to.not.match(/<script|https?:\/\/(?!127\.0\.0\.1)/);
      }
    });
  }

  /** The CLI against the stack, with its token secrets at hand: its output, the JSON result and the report's path. */
  async function runCli(name: string, args: string[]): Promise<{ stdout: string; result: LoadResult; html: string }> {
    const out = join(outDir, `${name}.json`);
    const html = join(outDir, `${name}.html`);
    const env = { ...stack.webEnv, TOKENSERVER_TOKENS__MASTER_SECRET: MASTER_SECRET };
    const run = await runLoadtestCli(['--url', stack.url, '--out', out, '--html', html, '--no-progress', ...args], env);
    expect(run.code, run.stderr + run.stdout).to.equal(0);
    return { stdout: run.stdout, result: JSON.parse(readFileSync(out, 'utf8')) as LoadResult, html };
  }

  it('serves the CLI: a bounded existing-users run writing the JSON result and the HTML report', async () => {
    const { stdout, result, html } = await runCli('cli', [
      '--scenario',
      'existing-users',
      '--auth',
      'oauth',
      '--requests',
      '200',
      '--connections',
      '3',
      '--users',
      '20',
    ]);
    expect(stdout).to.match(/existing users ready: 20\/20/);
    expect(result.totals).to.include({ requests: 200, expected: 200, unexpected: 0, errors: 0 });
    expect(result.tokenCheck).to.equal('signature');
    expect(existsSync(html)).to.equal(true);
  });

  it('keeps to --rate: 50 requests/s for 2 s send about 100 requests, spread over the run', async () => {
    const { result } = await runCli('rate', [
      '--scenario',
      'existing-users',
      '--auth',
      'oauth',
      '--rate',
      '50',
      '--duration',
      '2',
      '--connections',
      '4',
      '--users',
      '5',
    ]);
    expect(result.options).to.include({ rate: 50, durationS: 2 });
    expect(result.totals).to.include({ unexpected: 0, errors: 0 });
    expect(result.totals.requests).to.be.within(80, 120);
    // Not a burst at the start: the first second holds about half of them.
    expect(result.timeline[0]?.requests).to.be.within(35, 65);
  });

  it('refuses a server that is not in loadtest_mode', async () => {
    const server = createServer((_req, res) => res.end('{"status":"Ok"}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const failure = await runLoad({
        url,
        scenario: 'new-users',
        auth: 'oauth',
        requests: 1,
        runDir: stack.cluster.runDir,
      }).catch((err: unknown) => err);
      expect(failure).to.be.instanceOf(LoadtestSetupError);
      expect((failure as Error).message).to.match(/is not in loadtest_mode/);
    } finally {
      server.close();
    }
  });
});
