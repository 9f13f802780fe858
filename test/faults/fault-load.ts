import { DerivedSecrets } from '@tokenserver/shared';
import { type LoadOptions, runLoad } from '../../loadtest/run-load.js';
import { AUDIENCE, MASTER_SECRET, TestStack } from '../support/stack.js';
import { AnswerLog } from './answer-log.js';

// The load every fault runs under: the load-test tool's realistic BrowserID scenario (95% existing users, 4% new,
// 1% invalid) at a steady rate, every answer checked and logged with its times.

export const LOADTEST_MODE = {
  TOKENSERVER_BROWSERID__LOADTEST_MODE: 'true',
  TOKENSERVER_OAUTH__LOADTEST_MODE: 'true',
} as const;

/** The web front's job timeout in the test stack (TestStack sets TOKENSERVER_WEB__JOB_TIMEOUT_MS to it). */
export const JOB_TIMEOUT_MS = 3000;

/** A stack of real processes in loadtest_mode (IPC, SQLite unless `overrides` name another database). */
export function startLoadtestStack(overrides: Record<string, string> = {}): Promise<TestStack> {
  return TestStack.start({ ...LOADTEST_MODE, ...overrides });
}

export interface LoadTarget {
  url: string;
  runDir: string;
}

/**
 * Runs the realistic scenario for `durationS` seconds; `fault` starts with the first measured request (after the
 * warm-up) and may stop the run early with `stop()`. Resolves once both the load and the fault are over.
 */
export async function loadDuringFault(
  target: LoadTarget,
  durationS: number,
  fault: (stop: () => void) => Promise<void>,
): Promise<AnswerLog> {
  const log = new AnswerLog();
  const abort = new AbortController();
  let injected: Promise<void> = Promise.resolve();
  const options: LoadOptions = {
    url: target.url,
    runDir: target.runDir,
    scenario: 'realistic',
    auth: 'browserid',
    durationS,
    connections: 12,
    rate: 150,
    users: 100,
    audience: AUDIENCE,
    tokenSecrets: new DerivedSecrets(MASTER_SECRET),
    // Longer than any answer a healthy server gives under a fault: a request still open then has hung.
    timeoutMs: 8000,
    signal: abort.signal,
    onRunStart: () => {
      injected = fault(() => abort.abort());
    },
    onAnswer: log.add,
  };
  await runLoad(options);
  await injected;
  return log;
}

/** Resolves at `startedAt + seconds` (performance.now() time). */
export function at(startedAt: number, seconds: number): Promise<void> {
  const wait = startedAt + seconds * 1000 - performance.now();
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
}
