// npm run loadtest -- --url http://127.0.0.1:8000 --scenario realistic --auth browserid --duration 20 --connections 50
// npm run loadtest -- --compare a.json b.json
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Config,
  ConfigError,
  EXIT_CONFIG,
  loadConfig,
  loadTokenSecrets,
  type NodeSecrets,
  resolveConfigPath,
} from '@tokenserver/shared';
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatComparison, readResult } from './compare.js';
import { renderHtmlReport } from './report-html.js';
import type { LoadResult } from './result.js';
import { runLoad } from './run-load.js';
import { type Mix, SCENARIOS, type ScenarioName } from './scenarios.js';
import { formatSummary } from './summary.js';
import { TargetNotAllowedError } from './target.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

interface CliOptions {
  url?: string;
  path: string;
  scenario: ScenarioName;
  auth: 'browserid' | 'oauth';
  duration?: number;
  requests?: number;
  connections: number;
  rate?: number;
  users: number;
  seed: number;
  mix?: Mix;
  config?: string;
  runDir?: string;
  audience?: string;
  timeout: number;
  hawk: boolean;
  out?: string;
  html?: string;
  progress: boolean;
  compare?: string[];
}

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};
const whole = (value: string): number => {
  const n = positive(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
};
const mix = (value: string): Mix => {
  const parts = value.split(',').map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p) || p < 0) || parts.every((p) => p === 0)) {
    throw new InvalidArgumentError('expected three shares "existing,new,invalid", e.g. 95,4,1');
  }
  const [existing, fresh, invalid] = parts as [number, number, number];
  const sum = existing + fresh + invalid;
  return { existing: existing / sum, new: fresh / sum, invalid: invalid / sum };
};

const program = new Command('loadtest')
  .description('Load-tests a local token server in loadtest_mode and reports in the terminal, JSON and HTML')
  .option('--url <url>', 'the web front, loopback only (default: http://127.0.0.1:[web] port)')
  .option('--path <path>', 'token path', '/1.0/sync/1.5')
  .addOption(new Option('--scenario <name>', 'who asks for tokens').choices(SCENARIOS).default('realistic'))
  .addOption(new Option('--auth <scheme>', 'credential scheme').choices(['browserid', 'oauth']).default('browserid'))
  .option('--duration <s>', 'seconds to send requests (default 10 unless --requests)', positive)
  .option('--requests <n>', 'requests to send', whole)
  .option('--connections <n>', 'concurrent keep-alive connections', whole, 10)
  .option('--rate <n>', 'target requests per second (default: as fast as answered)', positive)
  .option('--users <n>', 'existing users created through the API before the run', whole, 1000)
  .option('--seed <n>', 'seed of the request sequence and of the existing users', whole, 1)
  .option('--mix <e,n,i>', "shares of existing, new and invalid requests instead of the scenario's", mix)
  .option('-c, --config <path>', "the server's config, for run_dir, audience, scope and token secrets")
  .option('--run-dir <dir>', 'where the load-test keys are (default: [broker] run_dir)')
  .option('--audience <origin>', 'BrowserID audience (default: the first of [browserid] audiences)')
  .option('--timeout <ms>', 'per-request timeout', whole, 10_000)
  .option(
    '--hawk',
    'follow each token with a Hawk-signed GET {api_endpoint}/info/collections to its node, checked',
    false,
  )
  .option('--out <file>', 'JSON result (default: loadtest/results/<time>-<scenario>-<auth>.json)')
  .option('--html <file>', 'HTML report (default: next to the JSON result)')
  .option('--no-progress', 'no progress bar')
  .option('--compare <files...>', 'print the ratios between two JSON results and exit')
  // A bad argument is one line, as the tool's other refusals: `loadtest: <what commander says>`.
  .configureOutput({ outputError: (text, write) => write(`loadtest: ${text.replace(/^error: /, '')}`) })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CONFIG))
  .action((options: CliOptions) => main(options));

async function main(options: CliOptions): Promise<void> {
  if (options.compare) {
    if (options.compare.length !== 2) fail('--compare takes two JSON results');
    let results: [LoadResult, LoadResult];
    try {
      results = [readResult(options.compare[0] as string), readResult(options.compare[1] as string)];
    } catch (err) {
      fail((err as Error).message);
    }
    process.stdout.write(`${formatComparison(...results)}\n`);
    return;
  }
  const config = readConfig(options.config);
  const runDir = options.runDir ?? config?.broker.run_dir;
  if (!runDir) fail('no run directory: pass --run-dir or a readable --config');
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  let result: Awaited<ReturnType<typeof runLoad>>;
  try {
    result = await runLoad({
      url: options.url ?? `http://127.0.0.1:${config?.web.port ?? 8000}`,
      path: options.path,
      scenario: options.scenario,
      auth: options.auth,
      durationS: options.duration,
      requests: options.requests,
      connections: options.connections,
      rate: options.rate,
      users: options.users,
      seed: options.seed,
      mix: options.mix,
      runDir,
      audience: options.audience ?? config?.browserid.audiences[0],
      oauthScope: config?.oauth.scope,
      tokenSecrets: config && tokenSecrets(config, runDir),
      timeoutMs: options.timeout,
      hawk: options.hawk,
      progress: options.progress ? process.stderr : undefined,
      signal: abort.signal,
    });
  } catch (err) {
    if (err instanceof TargetNotAllowedError || (err as { code?: string }).code === 'ERR_LOADTEST_SETUP')
      fail((err as Error).message);
    throw err;
  }
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const jsonPath = options.out ?? join(RESULTS_DIR, `${stamp}-${options.scenario}-${options.auth}.json`);
  const htmlPath = options.html ?? jsonPath.replace(/\.json$/, '') + '.html';
  write(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  write(htmlPath, renderHtmlReport(result));
  process.stdout.write(`${formatSummary(result)}\n\nresult: ${jsonPath}\nreport: ${htmlPath}\n`);
  process.exitCode = result.totals.unexpected > 0 || result.totals.errors > 0 ? 1 : 0;
}

function readConfig(path: string | undefined): Config | undefined {
  try {
    return loadConfig(resolveConfigPath(path)).config;
  } catch (err) {
    if (path !== undefined || !(err instanceof ConfigError)) fail((err as Error).message);
    return undefined;
  }
}

/** The server's token secrets when this host has them: 200s are then checked as a service node checks tokens. */
function tokenSecrets(config: Config, runDir: string): NodeSecrets | undefined {
  try {
    // Only the node secrets matter here; a metrics secret kept from this process must not disable the check.
    const tokens = {
      ...config.tokens,
      metrics_secret: config.tokens.metrics_secret ?? 'not used by the load-test tool',
    };
    return loadTokenSecrets(tokens, runDir, { create: false }).nodeSecrets;
  } catch {
    return undefined;
  }
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function fail(message: string): never {
  process.stderr.write(`${message.startsWith('loadtest') ? '' : 'loadtest: '}${message}\n`);
  process.exit(EXIT_CONFIG);
}

await program.parseAsync();
