import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadOrCreateLoadtestKey, type NodeSecrets } from '@tokenserver/shared';
import { answerChecker, checkShed } from './checks.js';
import { type AuthScheme, BrowserIdSigner, CredentialPool, type CredentialSigner, OAuthSigner } from './credentials.js';
import { type HttpOutcome, HttpTarget } from './http-client.js';
import { HawkNodeCheck } from './node-check.js';
import { ProgressReporter } from './progress.js';
import { type Answer, RunRecorder } from './recorder.js';
import { type LoadResult, RESULT_FORMAT } from './result.js';
import { drive } from './runner.js';
import {
  existingUserId,
  type Mix,
  newUserId,
  type PlannedRequest,
  SCENARIO_MIX,
  Scenario,
  type ScenarioName,
} from './scenarios.js';
import { loopbackTarget } from './target.js';
import { createExistingUsers } from './warm-up.js';

// runLoad: the whole run, for the CLI and for programs (benchmarks, tests). Bounded by duration and/or request count,
// loopback targets only; it stops by itself and returns the JSON result.

export interface LoadOptions {
  /** The web front, e.g. http://127.0.0.1:8000 (loopback only). */
  url: string;
  /** Token path; default /1.0/sync/1.5. */
  path?: string;
  scenario: ScenarioName;
  auth: AuthScheme;
  /** Seconds; default 10 unless `requests` is given. */
  durationS?: number;
  requests?: number;
  /** Default 10. */
  connections?: number;
  /** Connections for creating the existing users before the run; default `connections`. */
  warmupConnections?: number;
  /** Target requests per second over all connections; default: as fast as answers come. */
  rate?: number;
  /** Existing users created through the API before the run; default 1000. */
  users?: number;
  /** Default 1: the same seed sends the same sequence to the same users. */
  seed?: number;
  /** Overrides the scenario's shares. */
  mix?: Mix;
  /** The server's [broker] run_dir: where the load-test keys are (or get generated). */
  runDir: string;
  /** A BrowserID audience the server accepts (its [browserid] audiences). */
  audience?: string;
  /** The [oauth] scope; default Sync's. */
  oauthScope?: string;
  /** The server's token secrets: a 200's token is then checked as a service node would. */
  tokenSecrets?: NodeSecrets;
  /** Follow each good token with a Hawk-signed GET {api_endpoint}/info/collections to its node, checked too. */
  hawk?: boolean;
  /** Per-request timeout, default 10 s. */
  timeoutMs?: number;
  /** New-user credentials signed before the run (default: an estimate of the run's needs, at most 10,000). */
  newUserPool?: number;
  /** Warm-up deadline, default 120 s. */
  warmupTimeoutS?: number;
  /** Where the progress bar goes (default none). */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Stops the run early (e.g. on Ctrl-C); the result covers what was sent. */
  signal?: AbortSignal;
  /** Called once the warm-up is over and awaited before the first measured request (e.g. to reset a gauge). */
  onRunStart?: () => void | Promise<void>;
  /**
   * A 503 with a valid Retry-After is an expected answer to any request (the server turning away what it cannot
   * take, as at twice its peak rate); a 503 without one is unexpected. Default: only the scenario's answers count.
   */
  acceptShedding?: boolean;
  /** Called with every answer of the measured run, for harnesses that judge answers by when they happened. */
  onAnswer?: (answer: TimedAnswer) => void;
}

/** One answer with its absolute times (`performance.now()` of this process) and its Retry-After header. */
export interface TimedAnswer extends Answer {
  /** When it was due (with a rate, the scheduled time, so a late generator shows as latency). */
  sentAt: number;
  answeredAt: number;
  /** From the request's actual send to its answer: the server's own time. */
  serviceMs: number;
  retryAfter?: string;
}

const DEFAULT_PATH = '/1.0/sync/1.5';
const DEFAULT_SCOPE = 'https://identity.mozilla.com/apps/oldsync';
const MAX_NEW_USER_POOL = 10_000;
/**
 * Above this share of one core the generator may be what limits the rate. (Event-loop delay is reported but not
 * judged: on a machine shared with the server it mostly measures the OS scheduling the other processes.)
 */
const SATURATED_CPU_PERCENT = 85;

/** The run cannot start: the server is down or not in loadtest_mode, or an option is missing. */
export class LoadtestSetupError extends Error {
  readonly code = 'ERR_LOADTEST_SETUP';
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = loopbackTarget(options.url);
  await requireLoadtestMode(target);
  const path = options.path ?? DEFAULT_PATH;
  const connections = options.connections ?? 10;
  const seed = options.seed ?? 1;
  const mix = options.mix ?? SCENARIO_MIX[options.scenario];
  const durationS = options.durationS ?? (options.requests === undefined ? 10 : undefined);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const warnings: string[] = [];
  const pool = new CredentialPool(signerFor(options), newUserId);
  const http = new HttpTarget(target, connections);
  const startedAt = new Date();
  let nodeCheck: HawkNodeCheck | undefined;
  try {
    const wanted = mix.existing > 0 ? (options.users ?? 1000) : 0;
    const uids = Array.from({ length: wanted }, (_, i) => existingUserId(seed, i));
    pool.presign(uids, newUserPoolSize(options, mix, durationS), mix.invalid > 0);
    const warmUp = await createExistingUsers(http, pool, uids, {
      path,
      concurrency: Math.min(connections, options.warmupConnections ?? connections),
      timeoutMs,
      deadlineMs: (options.warmupTimeoutS ?? 120) * 1000,
    });
    if (warmUp.ready.length < wanted) {
      warnings.push(`only ${warmUp.ready.length} of ${wanted} existing users could be created: ${warmUp.problems}`);
    }
    const scenario = new Scenario(mix, pool, warmUp.ready, seed);
    const { check, tokenCheck } = answerChecker(options.tokenSecrets);
    nodeCheck = options.hawk ? new HawkNodeCheck(connections, timeoutMs) : undefined;
    const recorder = new RunRecorder();
    let newUsers = 0;

    // One function for every answer, not a closure made per answer: at 10,000 answers a second it shows.
    const settle = (
      planned: PlannedRequest,
      outcome: HttpOutcome,
      latencyMs: number,
      atMs: number,
      serviceMs: number,
      problem: string | undefined,
    ): void => {
      const answer: Answer =
        'error' in outcome
          ? { kind: planned.kind, error: outcome.error, latencyMs, atMs }
          : { kind: planned.kind, status: outcome.status, body: outcome.body, problem, latencyMs, atMs };
      recorder.record(answer);
      if (options.onAnswer) {
        const answeredAt = performance.now();
        const retryAfter = 'retryAfter' in outcome ? outcome.retryAfter : undefined;
        options.onAnswer({ ...answer, sentAt: answeredAt - latencyMs, answeredAt, serviceMs, retryAfter });
      }
    };

    await options.onRunStart?.();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    pool.startRun();
    const control = drive<PlannedRequest>(
      http,
      {
        connections,
        durationMs: durationS === undefined ? undefined : durationS * 1000,
        requests: options.requests,
        rate: options.rate,
        timeoutMs,
      },
      {
        next: () => {
          const planned = scenario.next();
          if (planned.kind === 'new') newUsers++;
          return { path, headers: planned.headers, context: planned };
        },
        done: (planned, outcome, latencyMs, atMs, serviceMs) => {
          if ('error' in outcome) return settle(planned, outcome, latencyMs, atMs, serviceMs, undefined);
          const problem =
            options.acceptShedding && outcome.status === 503
              ? checkShed(outcome.retryAfter)
              : check(planned.expect, outcome.status, outcome.body);
          // Only --hawk follows a good token with a request to its node; every other answer settles at once.
          if (nodeCheck && problem === undefined && outcome.status === 200) {
            return nodeCheck
              .check(outcome.body)
              .then((nodeProblem) => settle(planned, outcome, latencyMs, atMs, serviceMs, nodeProblem));
          }
          settle(planned, outcome, latencyMs, atMs, serviceMs, problem);
        },
      },
    );
    const onAbort = () => control.stop();
    options.signal?.addEventListener('abort', onAbort);
    const progress = options.progress
      ? new ProgressReporter(
          options.progress,
          { durationMs: durationS && durationS * 1000, requests: options.requests },
          () => ({
            elapsedMs: control.elapsedMs(),
            requests: recorder.requests,
            unexpected: recorder.unexpected,
            errors: recorder.errors,
            p99Ms: recorder.latency.percentile(0.99),
          }),
        )
      : undefined;
    progress?.start();
    await control.finished;
    progress?.stop();
    options.signal?.removeEventListener('abort', onAbort);
    const elapsedMs = control.elapsedMs();
    const cpu = process.cpuUsage(cpuBefore);
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore)) * 100;
    loopDelay.disable();
    const eventLoopDelayP99Ms = loopDelay.percentile(99) / 1e6;
    const saturated = cpuPercent > SATURATED_CPU_PERCENT;
    if (saturated) {
      warnings.push(
        `the load generator was busy (${Math.round(cpuPercent)}% of a core, event-loop delay p99 ${eventLoopDelayP99Ms.toFixed(1)} ms): it may have limited the rate`,
      );
    }
    if (pool.stats.signedDuringRun > 0) {
      // Signing is the generator's costliest work (an RS256 signature is about 0.3 ms): CPU taken from the server.
      warnings.push(
        `the load generator signed ${pool.stats.signedDuringRun} credentials during the run (${Math.round(pool.stats.signingMsDuringRun)} ms of its CPU): pre-sign more new users (newUserPool)`,
      );
    }
    if (recorder.unexpected > 0) warnings.push(`${recorder.unexpected} unexpected answers`);

    return {
      format: RESULT_FORMAT,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options: {
        url: target.origin,
        path,
        scenario: options.scenario,
        auth: options.auth,
        connections,
        durationS: durationS ?? null,
        requests: options.requests ?? null,
        rate: options.rate ?? null,
        seed,
        mix,
      },
      users: {
        requested: wanted,
        ready: warmUp.ready.length,
        warmupMs: Math.round(warmUp.elapsedMs),
        newDuringRun: newUsers,
      },
      totals: {
        requests: recorder.requests,
        expected: recorder.expected,
        unexpected: recorder.unexpected,
        errors: recorder.errors,
        byStatus: recorder.byStatus,
        byKind: recorder.byKind,
      },
      elapsedS: Math.round(elapsedMs) / 1000,
      requestsPerSecond: Math.round((recorder.requests / (elapsedMs / 1000)) * 10) / 10,
      latencyMs: recorder.latency.summary(),
      histogram: recorder.latency.bins(),
      timeline: recorder.timeline(),
      unexpected: recorder.unexpectedAnswers(),
      errors: [...warmUp.errorGroups, ...recorder.connectionErrors()],
      tokenCheck,
      ...(nodeCheck ? { hawk: nodeCheck.totals } : {}),
      generator: {
        ...pool.stats,
        cpuPercent: Math.round(cpuPercent * 10) / 10,
        eventLoopDelayP99Ms: Math.round(eventLoopDelayP99Ms * 100) / 100,
        saturated,
      },
      warnings,
    };
  } finally {
    http.close();
    nodeCheck?.close();
  }
}

/** The heartbeat says whether a loadtest_mode is on: without it every request would only measure 401s. */
async function requireLoadtestMode(target: URL): Promise<void> {
  const url = new URL('/__heartbeat__', target);
  let body: { loadtest_mode?: unknown; status?: unknown };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    body = (await res.json()) as typeof body;
  } catch (err) {
    throw new LoadtestSetupError(`loadtest: ${url} does not answer: ${(err as Error).message}`);
  }
  if (body.loadtest_mode !== true) {
    throw new LoadtestSetupError(
      `loadtest: ${target.origin} is not in loadtest_mode: set [browserid] loadtest_mode = true or [oauth] loadtest_mode = true (e.g. TOKENSERVER_BROWSERID__LOADTEST_MODE=true) and restart it`,
    );
  }
  if (body.status !== 'Ok') throw new LoadtestSetupError(`loadtest: ${url} reports ${JSON.stringify(body)}`);
}

function signerFor(options: LoadOptions): CredentialSigner {
  if (options.auth === 'browserid') {
    if (!options.audience)
      throw new LoadtestSetupError('loadtest: BrowserID needs an audience the server accepts ([browserid] audiences)');
    return new BrowserIdSigner(loadOrCreateLoadtestKey(options.runDir, 'browserid'), options.audience);
  }
  return new OAuthSigner(loadOrCreateLoadtestKey(options.runDir, 'oauth'), options.oauthScope ?? DEFAULT_SCOPE);
}

/** Enough new users for the run when its length is known; beyond the pool, new users are signed as they go. */
function newUserPoolSize(options: LoadOptions, mix: Mix, durationS: number | undefined): number {
  if (mix.new === 0) return 0;
  if (options.newUserPool !== undefined) return options.newUserPool;
  const byCount = options.requests ?? Number.POSITIVE_INFINITY;
  const byRate =
    options.rate !== undefined && durationS !== undefined ? options.rate * durationS : Number.POSITIVE_INFINITY;
  const expected = Math.min(byCount, byRate);
  return Math.min(
    MAX_NEW_USER_POOL,
    Number.isFinite(expected) ? Math.ceil(expected * mix.new * 1.1) + 16 : MAX_NEW_USER_POOL,
  );
}
