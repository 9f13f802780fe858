// npm run bench — the brokered stack against the in-process baseline, in one invocation on one machine.
// Cases: existing users over OAuth and BrowserID (SQLite), new users on SQLite and on MariaDB (OAuth),
// then the brokered stack at twice its saturating rate. Bounded: every run has a fixed duration,
// targets loopback only, and every process it starts is stopped at the end.
//
//   npm run bench [-- --duration 10 --connections 128] [--rounds 3] [--only BrowserID] [--no-overload] [--cpu-prof DIR]
//   TOKENSERVER_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/x  enables the MariaDB case
//
// --cpu-prof DIR (a new or empty directory): every process of the designs under test (the brokered stack's
// `tokenserver start`, broker, worker supervisor, workers and web front; the baseline's primary and its processes)
// runs with node --cpu-prof and writes a V8 CPU profile, one file a process and thread, into
// DIR/<case>-<design>/ when it exits (the overload runs into DIR/overload-brokered/). Open them in Chrome DevTools
// (Performance, "Load profile") or with `npx speedscope FILE`. Profiling slows the processes: such a run's figures
// are for finding where the time goes, not for BENCHMARKS.md.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { benchArgs, numericOption } from './bench-options.js';
import { freePort } from './free-port.js';
import { LatencyHistogram } from './histogram.js';
import { median } from './median.js';
import { type CpuByRole, coresUsed, processTreeCpu } from './process-cpu.js';
import type { LoadResult } from './result.js';
import { runLoad, type TimedAnswer } from './run-load.js';
import type { ScenarioName } from './scenarios.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AUDIENCE = 'https://bench.loadtest.local';
const options = benchArgs(
  ['duration', 'connections', 'overload-connections', 'rounds', 'only', 'cpu-prof'],
  ['no-overload'],
);
const argText = (name: string): string | undefined => options[name] as string | undefined;
const arg = (name: string, fallback: number, whole = true) => numericOption(name, argText(name), fallback, whole);
const DURATION_S = arg('duration', 10, false);
/**
 * Closed-loop connections of every run but the overload's. 128 is the web front's own limit (`[web] max_in_flight`),
 * and what saturates the brokered stack: at 64 it served about 0.75 of what it serves at 128 or 256, so a "peak" taken
 * at 64 was not one, and "twice the peak" only about 1.5 times the real one.
 */
const CONNECTIONS = arg('connections', 128);
const OVERLOAD_CONNECTIONS = arg('overload-connections', 512);
/** `--only TEXT`: run only the cases whose name contains TEXT (for quick experiments; BENCHMARKS.md uses all). */
const ONLY = argText('only') ?? '';
const OVERLOAD = options['no-overload'] !== true;
/**
 * `--rounds N`: each case (and the overload) N times, the designs' order alternating; the tables give medians, and the
 * ratio is the median of each round's own ratio (both designs measured minutes apart, not a whole run apart).
 */
const ROUNDS = arg('rounds', 1);
const roundLabel = (round: number) => (ROUNDS === 1 ? '' : ` / round ${round + 1}`);
/** `--cpu-prof DIR`, relative to where npm was run: see the header. */
const CPU_PROF = argText('cpu-prof');
const CPU_PROF_DIR = CPU_PROF === undefined ? undefined : resolve(process.env.INIT_CWD ?? process.cwd(), CPU_PROF);
if (CPU_PROF_DIR !== undefined && existsSync(CPU_PROF_DIR) && readdirSync(CPU_PROF_DIR).length > 0) {
  process.stderr.write(`bench: --cpu-prof ${CPU_PROF_DIR} is not empty: give a new or empty directory\n`);
  process.exit(2);
}
/** The directories the profiles were written to, one per start(). */
const profileDirs: string[] = [];

type Design = 'brokered' | 'baseline';
type Auth = 'oauth' | 'browserid';

interface Case {
  name: string;
  scenario: ScenarioName;
  auth: Auth;
  database: 'sqlite' | 'mariadb';
  /** New-user credentials signed before each run, per second of it: above what either design reaches. */
  newUsersPerSecond?: number;
}

interface Measured {
  tokensPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  lagP99Ms: number;
  /** p99 of the web loop thread's wait for a CPU per delay sample interval (see webLag). */
  cpuWaitP99Ms: number;
  statuses: Record<string, number>;
  unexpected: number;
  /** The load generator's CPU over the run, in cores (near 1: it may have limited the rate). */
  generatorCpu: number;
  /** The design's processes' CPU over the run, in cores, by role (empty where there is no /proc). */
  serverCpu: CpuByRole;
  /** How long the measured run took. */
  elapsedS: number;
}

/** A running design under test: its URL, its run directory, and how to stop it. */
interface Running {
  url: string;
  runDir: string;
  /** The design's top process: its tree is what serverCpu sums. */
  pid: number;
  stop(): Promise<void>;
}

async function databaseUrl(kind: Case['database'], dir: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') return { url: `sqlite:${join(dir, 'bench.db')}`, drop: async () => {} };
  const server = process.env.TOKENSERVER_TEST_MYSQL_URL as string;
  const name = `tokenserver_bench_${process.pid}_${Date.now()}`;
  const admin = await mysql.createConnection(server.replace(/\/[^/]*$/, '/'));
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.end();
  return {
    url: server.replace(/\/[^/]*$/, `/${name}`),
    drop: async () => {
      const conn = await mysql.createConnection(server.replace(/\/[^/]*$/, '/'));
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

function waitForLines(child: ChildProcess, pattern: RegExp, count: number, timeoutMs = 60_000): Promise<void> {
  let seen = 0;
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      seen = output.split('\n').filter((line) => pattern.test(line)).length;
      if (seen >= count) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ${pattern}:\n${output}`)));
  });
}

/** With --cpu-prof: node options that make a process, and the processes it forks, profile into DIR/<slug>-<design>/. */
function cpuProfileArgs(slug: string, design: Design): string[] {
  if (CPU_PROF_DIR === undefined) return [];
  const dir = join(CPU_PROF_DIR, `${slug}-${design}`);
  mkdirSync(dir, { recursive: true });
  profileDirs.push(dir);
  process.stderr.write(`${slug} / ${design}: CPU profiles into ${dir}\n`);
  // Not NODE_OPTIONS: Node 20 refuses --cpu-prof there. The stack's and the cluster's children inherit execArgv.
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** `existing users, OAuth, SQLite` → `existing-users-oauth-sqlite` */
const slugOf = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

async function start(design: Design, testCase: Case, slug = slugOf(testCase.name)): Promise<Running> {
  const profile = cpuProfileArgs(slug, design);
  const runDir = mkdtempSync(join(tmpdir(), 'bench-'));
  const port = await freePort();
  const db = await databaseUrl(testCase.database, runDir);
  const env = {
    ...process.env,
    TOKENSERVER_BROKER__RUN_DIR: join(runDir, 'run'),
    TOKENSERVER_WEB__PORT: String(port),
    TOKENSERVER_DATABASE__URL: db.url,
    TOKENSERVER_BROWSERID__LOADTEST_MODE: 'true',
    TOKENSERVER_OAUTH__LOADTEST_MODE: 'true',
    TOKENSERVER_BROWSERID__AUDIENCES: JSON.stringify([AUDIENCE]),
    TOKENSERVER_LOG__LEVEL: 'warn',
  };
  const child =
    design === 'brokered'
      ? spawn(process.execPath, [...profile, 'web/dist/cli/main.js', 'start', '--no-example-node'], { cwd: ROOT, env })
      : spawn(process.execPath, [...profile, '--import', 'tsx', 'loadtest/baseline-server.ts', '--processes', '2'], {
          cwd: ROOT,
          env,
        });
  await (design === 'brokered'
    ? waitForLines(child, /Token server listening on/, 1)
    : waitForLines(child, /baseline listening/, 2));
  return {
    url: `http://127.0.0.1:${port}`,
    runDir: join(runDir, 'run'),
    pid: child.pid as number,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      await db.drop();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/**
 * Event-loop delay p99 of the web process(es) since the previous call (the gauges reset on each scrape), and the p99
 * of the loop thread's CPU wait over the same sample intervals (Linux; 0 elsewhere): how much of the delay was the
 * thread waiting for a core that other processes held. The delay is how late a due timer fires, not prom-client's
 * nodejs_eventloop_lag_p99_seconds, which adds its 10 ms sampling period to every figure (see
 * shared/src/event-loop-delay.ts). Behind node:cluster each figure is the worst process's.
 */
async function webLag(url: string): Promise<{ lagP99Ms: number; cpuWaitP99Ms: number }> {
  const worst = { lagP99Ms: 0, cpuWaitP99Ms: 0 };
  const p99Ms = (text: string, metric: string) => {
    const match = new RegExp(`^${metric}\\{quantile="0\\.99"\\} ([0-9.e+-]+)$`, 'm').exec(text);
    return match ? Number(match[1]) * 1000 : 0;
  };
  // Several scrapes so that, behind node:cluster, every process is read at least once.
  for (let i = 0; i < 16; i++) {
    const text = await (await fetch(`${url}/metrics`)).text();
    worst.lagP99Ms = Math.max(worst.lagP99Ms, p99Ms(text, 'tokenserver_event_loop_delay_seconds'));
    worst.cpuWaitP99Ms = Math.max(worst.cpuWaitP99Ms, p99Ms(text, 'tokenserver_event_loop_cpu_wait_seconds'));
  }
  return worst;
}

/** The median of one figure over runs. */
function middle(
  runs: readonly Measured[],
  figure: 'tokensPerSecond' | 'p50Ms' | 'p99Ms' | 'lagP99Ms' | 'cpuWaitP99Ms',
): number {
  return median(runs.map((m) => m[figure]));
}

/** The process roles of both designs, as their command lines name them; anything else is a supervisor. */
const ROLES = ['web', 'broker', 'worker', 'baseline'] as const;
function roleOf(cmdline: string): string {
  if (cmdline.includes('web-main.js')) return 'web';
  if (cmdline.includes('broker/dist/cli.js')) return 'broker';
  if (cmdline.includes('worker-main.js')) return 'worker';
  if (cmdline.includes('baseline-server')) return 'baseline';
  return 'supervisors';
}

/** Every process of the design together, in cores. */
const serverCoresOf = (m: Measured) => Object.values(m.serverCpu).reduce((sum, cores) => sum + cores, 0);

/** One row of the per-process CPU table: cores by role over the run, and the server's CPU per token. */
function cpuRow(label: string, measured: Measured): string {
  const cores = (role: string) => (measured.serverCpu[role] === undefined ? '–' : measured.serverCpu[role].toFixed(2));
  const serverCores = serverCoresOf(measured);
  const perToken = measured.tokensPerSecond > 0 ? `${Math.round((serverCores / measured.tokensPerSecond) * 1e6)}` : '–';
  return (
    `| ${label} | ${[...ROLES, 'supervisors'].map(cores).join(' | ')} | ${measured.generatorCpu.toFixed(2)} | ` +
    `${(serverCores + measured.generatorCpu).toFixed(2)} | ${perToken} |`
  );
}
const cpuRows: string[] = [];

/** runLoad's warnings (e.g. the generator near saturation), each with its run, printed after the tables. */
const runWarnings: string[] = [];

/** One run of runLoad against `running`; `label` names it on stderr and in the warnings. */
async function measure(
  running: Running,
  testCase: Case,
  label: string,
  options: {
    rate?: number;
    connections?: number;
    warmupConnections?: number;
    onAnswer?: (answer: TimedAnswer) => void;
    /** The overload run: a 503 with a valid Retry-After is an expected answer (see runLoad). */
    acceptShedding?: boolean;
  } = {},
): Promise<Measured> {
  let cpuBefore: { at: number; byRole: CpuByRole } | undefined;
  const result: LoadResult = await runLoad({
    url: running.url,
    scenario: testCase.scenario,
    auth: testCase.auth,
    runDir: running.runDir,
    audience: AUDIENCE,
    durationS: DURATION_S,
    connections: options.connections ?? CONNECTIONS,
    ...(options.rate ? { rate: options.rate } : {}),
    ...(options.onAnswer ? { onAnswer: options.onAnswer } : {}),
    ...(options.warmupConnections ? { warmupConnections: options.warmupConnections } : {}),
    acceptShedding: options.acceptShedding ?? false,
    users: 2000,
    // Every new user needs a credential of its own; signed during the run they would cost the generator (sharing
    // the cores with the server) about 0.3 ms of CPU each, well over half a core at the new-user rates here.
    ...(testCase.newUsersPerSecond ? { newUserPool: DURATION_S * testCase.newUsersPerSecond } : {}),
    // The lag figure covers the measured run only, not the creation of the existing users before it.
    onRunStart: async () => {
      await webLag(running.url);
      cpuBefore = { at: performance.now(), byRole: processTreeCpu(running.pid, roleOf) ?? {} };
    },
  });
  const cpuAfter = processTreeCpu(running.pid, roleOf) ?? {};
  const serverCpu = cpuBefore
    ? coresUsed(cpuBefore.byRole, cpuAfter, (performance.now() - cpuBefore.at) / 1000)
    : ({} as CpuByRole);
  const { lagP99Ms, cpuWaitP99Ms } = await webLag(running.url);
  const ok = result.totals.byStatus['200'] ?? 0;
  const measured: Measured = {
    tokensPerSecond: ok / result.elapsedS,
    p50Ms: result.latencyMs.p50,
    p99Ms: result.latencyMs.p99,
    lagP99Ms,
    cpuWaitP99Ms,
    statuses: result.totals.byStatus,
    unexpected: result.totals.unexpected,
    generatorCpu: Number((result.generator.cpuPercent / 100).toFixed(3)),
    serverCpu,
    elapsedS: result.elapsedS,
  };
  cpuRows.push(cpuRow(label, measured));
  process.stderr.write(`${label}: ${JSON.stringify(measured)}\n`);
  for (const warning of result.warnings) runWarnings.push(`${label}: ${warning}`);
  // runLoad judges only its CPU; with a rate, a generator whose connections are all waiting also falls behind.
  const sentPerSecond = result.totals.requests / result.elapsedS;
  if (options.rate && sentPerSecond < options.rate * 0.9) {
    runWarnings.push(
      `${label}: ${Math.round(options.rate)}/s offered but only ${Math.round(sentPerSecond)}/s sent: the generator fell behind (every connection waiting for an answer, or its CPU): raise --overload-connections`,
    );
  }
  return measured;
}

const CASES: Case[] = [
  { name: 'existing users, OAuth, SQLite', scenario: 'existing-users', auth: 'oauth', database: 'sqlite' },
  { name: 'existing users, BrowserID, SQLite', scenario: 'existing-users', auth: 'browserid', database: 'sqlite' },
  {
    name: 'new users, OAuth, SQLite',
    scenario: 'new-users',
    auth: 'oauth',
    database: 'sqlite',
    newUsersPerSecond: 6000,
  },
  {
    name: 'new users, OAuth, MariaDB',
    scenario: 'new-users',
    auth: 'oauth',
    database: 'mariadb',
    newUsersPerSecond: 1500,
  },
];

const rows: string[] = [];
const json: Record<string, unknown> = {};
for (const testCase of CASES.filter((c) => c.name.includes(ONLY))) {
  if (testCase.database === 'mariadb' && !process.env.TOKENSERVER_TEST_MYSQL_URL) {
    rows.push(`| ${testCase.name} | skipped: set TOKENSERVER_TEST_MYSQL_URL | | | | |`);
    continue;
  }
  const runs: Record<Design, Measured[]> = { baseline: [], brokered: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which design goes first, so that a machine slowing down (or speeding up) favours neither.
    const order: Design[] = round % 2 === 0 ? ['baseline', 'brokered'] : ['brokered', 'baseline'];
    for (const design of order) {
      const running = await start(design, testCase);
      try {
        runs[design].push(await measure(running, testCase, `${testCase.name} / ${design}${roundLabel(round)}`));
      } finally {
        await running.stop();
      }
    }
  }
  json[testCase.name] = ROUNDS === 1 ? { baseline: runs.baseline[0], brokered: runs.brokered[0] } : runs;
  const ratios = runs.brokered.map((b, i) => b.tokensPerSecond / (runs.baseline[i] as Measured).tokensPerSecond);
  const eachRound = ROUNDS === 1 ? '' : ` (${ratios.map((r) => r.toFixed(2)).join(', ')})`;
  const cell = (m: Measured[]) =>
    `${Math.round(middle(m, 'tokensPerSecond'))} (${middle(m, 'p50Ms').toFixed(1)} / ${middle(m, 'p99Ms').toFixed(1)} ms, lag ${middle(m, 'lagP99Ms').toFixed(1)} ms, CPU wait ${middle(m, 'cpuWaitP99Ms').toFixed(1)} ms)`;
  const unexpected = [...runs.baseline, ...runs.brokered].reduce((sum, m) => sum + m.unexpected, 0);
  rows.push(
    `| ${testCase.name} | ${cell(runs.baseline)} | ${cell(runs.brokered)} | **${median(ratios).toFixed(2)}**${eachRound} | ${unexpected} |`,
  );
}

/** Things a reader must not miss, printed after the tables. */
const alerts: string[] = [];

// Overload: the brokered stack at twice its saturating rate (the peak is taken at CONNECTIONS), with many more
// connections than it can serve.
async function overloadRow(round: number): Promise<string> {
  const overloadCase = CASES[0] as Case;
  const running = await start('brokered', overloadCase, 'overload');
  try {
    const peak = await measure(running, overloadCase, `overload / peak${roundLabel(round)}`);
    // The 503s must come quickly (runLoad checks their Retry-After): timed apart from the 200s, from the request's
    // actual send (the server's own time; the all-answers latency counts from the scheduled send, so it also holds
    // the generator's wait for a free connection).
    const rejectedLatency = new LatencyHistogram();
    const measured = await measure(running, overloadCase, `overload / twice the peak${roundLabel(round)}`, {
      rate: Math.round(peak.tokensPerSecond * 2),
      connections: OVERLOAD_CONNECTIONS,
      // The existing users are created at the ordinary concurrency, so that the overload starts with the run.
      warmupConnections: CONNECTIONS,
      onAnswer: (answer) => {
        if (answer.status === 503) rejectedLatency.record(answer.serviceMs);
      },
      acceptShedding: true,
    });
    const rejected = rejectedLatency.summary();
    overloadJson.push({ peak, overloaded: measured, rejected });
    overloadRatios.push(measured.tokensPerSecond / peak.tokensPerSecond);
    if (rejected.count === 0) {
      alerts.push('OVERLOAD: not a single 503: the excess was not turned away (queued, or never offered)');
    }
    if (measured.unexpected > 0) {
      alerts.push(
        `OVERLOAD: ${measured.unexpected} unexpected answers (a 503 without a valid Retry-After, or anything but a good 200 or 503): see bench.json`,
      );
    }
    overloadAccount(peak, measured, (measured.statuses['503'] ?? 0) / measured.elapsedS);
    const rejectedTimes = rejected.count === 0 ? '–' : `${rejected.p50.toFixed(1)} / ${rejected.p99.toFixed(1)} ms`;
    return (
      `| ${Math.round(peak.tokensPerSecond)} | ${Math.round(peak.tokensPerSecond * 2)} | ${Math.round(measured.tokensPerSecond)} | ` +
      `**${(measured.tokensPerSecond / peak.tokensPerSecond).toFixed(2)}** | ${rejected.count} | ${measured.p50Ms.toFixed(1)} / ${measured.p99Ms.toFixed(1)} ms | ${measured.lagP99Ms.toFixed(1)} ms (CPU wait ${measured.cpuWaitP99Ms.toFixed(1)}) | ` +
      `${rejectedTimes} | ${measured.unexpected} |`
    );
  } finally {
    await running.stop();
  }
}
/**
 * The overload run's CPU account, from the per-process figures: what each 503 cost the web front (its CPU beyond what
 * its share of the tokens cost at the peak: an estimate, as the cost per token moves with the load), against what a
 * token costs the server. With t the server's CPU per token and s per 503, a server whose peak is bound by the CPU
 * (every core busy) serves at most (t - 2s) / (t - s) of that peak at twice it, even with the generator elsewhere.
 * Where the peak left cores idle (its processes waiting on one another's hand-offs), the spare CPU can pay for the
 * 503s instead, and the figure may come out above that bound: the note gives the cores the peak used, to tell.
 */
function overloadAccount(peak: Measured, overloaded: Measured, rejectedPerSecond: number): void {
  const peakWeb = peak.serverCpu.web;
  const overloadedWeb = overloaded.serverCpu.web;
  if (peakWeb === undefined || overloadedWeb === undefined || rejectedPerSecond === 0) return;
  const servedShare = overloaded.tokensPerSecond / peak.tokensPerSecond;
  const perRejectedS = (overloadedWeb - peakWeb * servedShare) / rejectedPerSecond;
  const perTokenS = serverCoresOf(peak) / peak.tokensPerSecond;
  const bound = (perTokenS - 2 * perRejectedS) / (perTokenS - perRejectedS);
  overloadNotes.push(
    `At twice the peak each 503 cost the web front ${Math.round(perRejectedS * 1e6)} µs of CPU (s), a token costs the server ${Math.round(perTokenS * 1e6)} µs (t), ` +
      `and the generator took ${(overloaded.generatorCpu - peak.generatorCpu).toFixed(2)} more cores than at the peak. ` +
      `Bound on served / peak for a CPU-bound peak: (t - 2s) / (t - s) = ${bound.toFixed(2)}; ` +
      `the peak run used ${(serverCoresOf(peak) + peak.generatorCpu).toFixed(2)} cores (server and generator) of ${availableParallelism()}.`,
  );
}
const overloadNotes: string[] = [];

const overloadJson: unknown[] = [];
const overloadRatios: number[] = [];
const overloadRows: string[] = [];
for (let round = 0; OVERLOAD && round < ROUNDS; round++) overloadRows.push(await overloadRow(round));
if (overloadJson.length > 0) json.overload = ROUNDS === 1 ? overloadJson[0] : overloadJson;

const profiled = CPU_PROF_DIR === undefined ? '' : ` --cpu-prof ${CPU_PROF_DIR}`;
const rounds = ROUNDS === 1 ? '' : ` --rounds ${ROUNDS}`;
// The web front's [web] nice reaches both designs through the environment; the command line shows it when set.
const nice = process.env.TOKENSERVER_WEB__NICE ? `TOKENSERVER_WEB__NICE=${process.env.TOKENSERVER_WEB__NICE} ` : '';
console.log(`\n${nice}npm run bench -- --duration ${DURATION_S} --connections ${CONNECTIONS}${rounds}${profiled}\n`);
console.log(
  '| case | baseline tokens/s (p50 / p99, web lag p99, its CPU wait p99) | brokered tokens/s (p50 / p99, web lag p99, its CPU wait p99) | brokered / baseline | unexpected |',
);
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log(
  '\n| peak tokens/s | offered rate | served tokens/s | served / peak | 503s | p50 / p99 (all, from schedule) | web lag p99 (its CPU wait p99) | 503 answered in p50 / p99 (from send) | unexpected (e.g. 503 without Retry-After) |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
console.log(overloadRows.length > 0 ? overloadRows.join('\n') : '| skipped (--no-overload) | | | | | | | | |');
if (overloadRatios.length > 1)
  console.log(`\nMedian served / peak over ${overloadRatios.length} rounds: **${median(overloadRatios).toFixed(2)}**`);
for (const note of overloadNotes) console.log(`\n${note}`);
console.log(
  "\nWhere the CPU goes: cores each process role used over the measured run (from /proc, every thread), the generator, their total, and the server's CPU per token (µs; at twice the peak it also pays for the 503s).",
);
console.log(`\n| run | ${[...ROLES, 'supervisors'].join(' | ')} | generator | total | server µs / token |`);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const row of cpuRows) console.log(row);
for (const alert of alerts) console.log(`\n!!! ${alert} !!!`);
if (runWarnings.length > 0) {
  console.log('\nWarnings from runLoad (where the generator was busy, it may have limited the rate measured):');
  for (const warning of runWarnings) console.log(`- ${warning}`);
}
if (profileDirs.length > 0) {
  // Counted at the end: the baseline's primary exits without waiting for its processes to write theirs.
  console.log(
    '\nCPU profiles, one a process and thread (Chrome DevTools > Performance > Load profile, or npx speedscope FILE):',
  );
  for (const dir of profileDirs) {
    const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).length;
    console.log(
      `- ${dir}: ${files} .cpuprofile files${files === 0 ? ' !!! none: the processes did not exit normally' : ''}`,
    );
  }
}
mkdirSync(join(ROOT, 'loadtest/results'), { recursive: true });
json.warnings = runWarnings;
writeFileSync(join(ROOT, 'loadtest/results/bench.json'), `${JSON.stringify(json, null, 2)}\n`);
process.exit(0);
