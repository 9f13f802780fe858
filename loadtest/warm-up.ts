import type { CredentialPool } from './credentials.js';
import type { HttpTarget } from './http-client.js';
import { group } from './recorder.js';
import type { ProblemGroup } from './result.js';

// Before an existing-users run, every user asks for a token once through the API, so the users really are rows in
// the database (created by the same path as in production) and the run spreads over all of them.

export interface WarmUpOptions {
  path: string;
  concurrency: number;
  timeoutMs: number;
  /** The warm-up gives up (keeping the users created so far) after this long. */
  deadlineMs: number;
}

export interface WarmUpResult {
  /** Users that got a token. */
  ready: string[];
  elapsedMs: number;
  errorGroups: ProblemGroup[];
  /** One line on what went wrong, when something did. */
  problems: string;
}

export async function createExistingUsers(
  target: HttpTarget,
  pool: CredentialPool,
  uids: readonly string[],
  options: WarmUpOptions,
): Promise<WarmUpResult> {
  const started = performance.now();
  const ready: string[] = [];
  const failures = new Map<string, ProblemGroup>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < uids.length && performance.now() - started < options.deadlineMs) {
      const uid = uids[next++] as string;
      const outcome = await target.send(options.path, pool.existingUser(uid).headers, options.timeoutMs);
      if ('status' in outcome && outcome.status === 200) ready.push(uid);
      else
        group(
          failures,
          'warm-up',
          'error' in outcome ? outcome.error : `status ${outcome.status}`,
          'body' in outcome ? outcome.body : undefined,
        );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  const errorGroups = [...failures.values()];
  const skipped = uids.length - ready.length - errorGroups.reduce((sum, g) => sum + g.count, 0);
  const problems = [
    ...errorGroups.map((g) => `${g.problem} × ${g.count}`),
    ...(skipped > 0 ? [`${skipped} not tried before the warm-up deadline`] : []),
  ].join(', ');
  return { ready, elapsedMs: performance.now() - started, errorGroups, problems };
}
