import {
  decodeJobBody,
  encodeJobBody,
  type SignTokenAnswer,
  type SignTokenRequest,
  TokenJob,
  type VerifyBrowserIdRequest,
  type VerifyEventRequest,
  type VerifyEventVerdict,
  type VerifyOAuthRequest,
  type VerifyVerdict,
} from '@tokenserver/shared';
import type { BrokerStatus } from '@tokenserver/shared/client';
import { apiErrors, type TokenServerError } from './api-errors.js';

// The web front's side of the token jobs: it sends them through the broker and reads the answers. It never
// verifies or signs anything itself.

/** What the web front needs of a PowerhoseClient (tests may pass a stand-in). */
export interface JobClient {
  submit(kind: string, body: Buffer, timeoutMs?: number): Promise<Buffer>;
  brokerStatus(): BrokerStatus;
}

/** Job errors meaning "the crypto tier cannot answer now": the request may succeed later (503). */
const RETRYABLE_JOB_ERRORS: ReadonlySet<string> = new Set([
  'ERR_JOB_TIMEOUT',
  'ERR_BROKER_BUSY',
  'ERR_NO_WORKER',
  'ERR_JOB_EXPIRED',
  'ERR_WORKER_LOST',
  'ERR_BROKER_UNAVAILABLE',
  'ERR_CLIENT_CLOSED',
]);

/** The 503 answer for a retryable job error, or undefined (ERR_JOB_FAILED, ERR_BAD_JOB and the rest are bugs). */
export function apiErrorForJobError(err: unknown, retryAfterS: number): TokenServerError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_JOB_ERRORS.has(code) ? apiErrors.unavailable(retryAfterS) : undefined;
}

/** A job answer that does not have the agreed shape: a bug on one side, answered 500. */
export class MalformedAnswerError extends Error {
  readonly code = 'ERR_MALFORMED_ANSWER';
}

export class TokenJobs {
  constructor(
    private readonly client: JobClient,
    private readonly timeoutMs: number,
  ) {}

  async verifyBrowserId(request: VerifyBrowserIdRequest): Promise<VerifyVerdict> {
    return readVerdict(await this.client.submit(TokenJob.verifyBrowserId, encodeJobBody(request), this.timeoutMs));
  }

  async verifyOAuth(request: VerifyOAuthRequest): Promise<VerifyVerdict> {
    return readVerdict(await this.client.submit(TokenJob.verifyOAuth, encodeJobBody(request), this.timeoutMs));
  }

  async verifyEvent(request: VerifyEventRequest): Promise<VerifyEventVerdict> {
    return readEventVerdict(await this.client.submit(TokenJob.verifyEvent, encodeJobBody(request), this.timeoutMs));
  }

  async signToken(request: SignTokenRequest): Promise<SignTokenAnswer> {
    const answer = decodeJobBody<SignTokenAnswer>(
      await this.client.submit(TokenJob.signToken, encodeJobBody(request), this.timeoutMs),
    );
    if (
      typeof answer.id !== 'string' ||
      typeof answer.key !== 'string' ||
      typeof answer.duration !== 'number' ||
      typeof answer.hashedFxaUid !== 'string'
    ) {
      throw new MalformedAnswerError('sign-token answer lacks id, key, duration or hashedFxaUid');
    }
    return answer;
  }
}

function readVerdict(body: Buffer): VerifyVerdict {
  const verdict = decodeJobBody<VerifyVerdict>(body);
  if (verdict.ok === true) {
    const identity = verdict.identity as Partial<VerifyVerdict & { ok: true }>['identity'];
    if (typeof identity?.email === 'string' && typeof identity.fxaUid === 'string') return verdict;
  } else if (verdict.ok === false && typeof verdict.status === 'string') {
    return verdict;
  }
  throw new MalformedAnswerError('verify answer is not a verdict');
}

function readEventVerdict(body: Buffer): VerifyEventVerdict {
  const verdict = decodeJobBody<VerifyEventVerdict>(body);
  if (verdict.ok === true) {
    const event = verdict.event as Partial<Extract<VerifyEventVerdict, { ok: true }>['event']> | undefined;
    if (typeof event?.email === 'string' && Array.isArray(event.changes)) return verdict;
  } else if (verdict.ok === false && typeof verdict.status === 'string') {
    return verdict;
  }
  throw new MalformedAnswerError('verify-event answer is not a verdict');
}

/** The 401/503 answer for a rejected credential. */
export function apiErrorForVerdict(
  verdict: Extract<VerifyVerdict, { ok: false }>,
  retryAfterS: number,
): TokenServerError {
  switch (verdict.status) {
    case 'invalid-timestamp':
      return apiErrors.invalidTimestamp();
    case 'invalid-generation':
      return apiErrors.invalidGeneration();
    case 'unavailable':
      return apiErrors.unavailable(retryAfterS);
    default:
      // The worker's InvalidClaimError for a non-integer fxa-keysChangedAt has its own description.
      if (verdict.code === 'ERR_AUTH_CLAIM' && verdict.message === 'invalid keysChangedAt') {
        return apiErrors.invalidKeysChangedAtClaim();
      }
      return apiErrors.invalidCredentials();
  }
}
