import type { TimedAnswer } from '../../loadtest/run-load.js';

// Every answer of a fault run with its times, and the questions the fault checks ask of them: what happened
// inside a time window, when the service was back, how each failure looked.

/** An answer the checker did not accept, or a request that got no HTTP answer. */
export function failed(answer: TimedAnswer): boolean {
  return answer.status === undefined || answer.problem !== undefined;
}

/** The HTTP status, or the connection error code when there was no answer. */
export function outcomeOf(answer: TimedAnswer): string {
  return answer.status === undefined ? (answer.error ?? 'error') : String(answer.status);
}

export class AnswerLog {
  readonly answers: TimedAnswer[] = [];

  readonly add = (answer: TimedAnswer): void => {
    this.answers.push(answer);
  };

  failures(): TimedAnswer[] {
    return this.answers.filter(failed);
  }

  /** Failures whose request was sent at or after `from` (performance.now()) and before `to`. */
  failuresSent(from: number, to = Number.POSITIVE_INFINITY): TimedAnswer[] {
    return this.failures().filter((answer) => answer.sentAt >= from && answer.sentAt < to);
  }

  /**
   * Milliseconds from `since` until the service was back: the send time of the first request after which
   * (by send time) every request succeeded. Undefined when requests sent after `since` still fail at the end.
   */
  recoveryMs(since: number): number | undefined {
    const after = this.answers.filter((answer) => answer.sentAt >= since).sort((a, b) => a.sentAt - b.sentAt);
    let lastFailure = -1;
    after.forEach((answer, index) => {
      if (failed(answer)) lastFailure = index;
    });
    const first = after[lastFailure + 1];
    return first === undefined ? undefined : Math.max(0, first.sentAt - since);
  }

  maxLatencyMs(): number {
    return this.answers.reduce((max, answer) => Math.max(max, answer.latencyMs), 0);
  }

  /** Failures counted by status or error code. */
  failedByOutcome(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const answer of this.failures()) counts[outcomeOf(answer)] = (counts[outcomeOf(answer)] ?? 0) + 1;
    return counts;
  }

  /** The fxa uid → uid pairs of every 200 (read from the token's payload). */
  usersServed(): Map<string, Set<number>> {
    const users = new Map<string, Set<number>>();
    for (const answer of this.answers) {
      if (answer.status !== 200 || answer.problem !== undefined || answer.body === undefined) continue;
      const { id, uid } = JSON.parse(answer.body) as { id: string; uid: number };
      const payload = Buffer.from(id, 'base64url');
      const { fxa_uid: fxaUid } = JSON.parse(payload.subarray(0, payload.length - 32).toString('utf8')) as {
        fxa_uid: string;
      };
      const uids = users.get(fxaUid) ?? new Set<number>();
      uids.add(uid);
      users.set(fxaUid, uids);
    }
    return users;
  }
}
