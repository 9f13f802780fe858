import type { TimedAnswer } from '../../loadtest/run-load.js';
import { rawQuery } from '../support/inspect-db.js';
import { type AnswerLog, outcomeOf } from './answer-log.js';

// Properties several faults share, each returning the violations it finds (empty when it holds).

/** A dependency outage must be answered 503 with Retry-After, nothing else. */
export function onlyFastUnavailable(failures: readonly TimedAnswer[], maxLatencyMs: number): string[] {
  const violations: string[] = [];
  const other = failures.filter((answer) => answer.status !== 503 || answer.retryAfter === undefined);
  if (other.length > 0) violations.push(`${other.length} failures other than 503 with Retry-After: ${sample(other)}`);
  const slow = failures.filter((answer) => answer.latencyMs > maxLatencyMs);
  if (slow.length > 0) violations.push(`${slow.length} failures took longer than ${maxLatencyMs} ms`);
  return violations;
}

export function noFailures(failures: readonly TimedAnswer[], when: string): string[] {
  return failures.length === 0 ? [] : [`${failures.length} failures ${when}: ${sample(failures)}`];
}

export function recoveredWithin(recoverMs: number | undefined, limitMs: number): string[] {
  if (recoverMs === undefined) return ['requests still failed at the end of the run'];
  return recoverMs <= limitMs ? [] : [`recovered after ${Math.round(recoverMs)} ms (limit ${limitMs} ms)`];
}

/**
 * Every user that got a token has exactly one live row, with the uid it was served; no (service, email) pair has
 * two live rows. Returns the violations and a one-line account of the rows.
 */
export async function checkUserRows(
  databaseUrl: string,
  log: AnswerLog,
): Promise<{ violations: string[]; note: string }> {
  const served = log.usersServed();
  const rows = await rawQuery<{ uid: number; email: string }>(
    databaseUrl,
    'SELECT uid, email FROM users WHERE replaced_at IS NULL',
  );
  const liveByFxaUid = new Map<string, number[]>();
  for (const row of rows) {
    const fxaUid = String(row.email).split('@')[0] as string;
    liveByFxaUid.set(fxaUid, [...(liveByFxaUid.get(fxaUid) ?? []), Number(row.uid)]);
  }
  const violations: string[] = [];
  const duplicated = [...liveByFxaUid].filter(([, uids]) => uids.length > 1);
  if (duplicated.length > 0) violations.push(`${duplicated.length} users have several live rows`);
  let lost = 0;
  let changed = 0;
  for (const [fxaUid, uids] of served) {
    if (uids.size > 1) changed++;
    const live = liveByFxaUid.get(fxaUid);
    if (!live?.some((uid) => uids.has(uid))) lost++;
  }
  if (changed > 0) violations.push(`${changed} users were served more than one uid`);
  if (lost > 0) violations.push(`${lost} users that got a token have no live row with its uid`);
  const note = `${rows.length} live user rows; ${served.size} users got tokens, each has exactly one live row: ${
    violations.length === 0 ? 'yes' : 'no'
  }`;
  return { violations, note };
}

function sample(answers: readonly TimedAnswer[]): string {
  const counts = new Map<string, number>();
  for (const answer of answers) {
    const key = `${outcomeOf(answer)}${answer.problem ? ` (${answer.problem})` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .slice(0, 4)
    .map(([key, count]) => `${count}× ${key}`)
    .join('; ');
}
