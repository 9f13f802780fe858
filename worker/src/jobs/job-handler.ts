import type { Config } from '@tokenserver/shared';
import type { KeyFetchStats } from '../auth/key-fetch-stats.js';

/** Runs one job: the same body gives the same answer, so a retry on another worker is safe. */
export type JobRunner = (body: Buffer, deadline: number) => Buffer | Promise<Buffer>;

/** What a job thread gives its handlers besides the config. */
export interface HandlerContext {
  /** Remote key fetches and cache hits, reported to the supervisor's metrics. */
  readonly keyFetchStats: KeyFetchStats;
}

/** One kind of job. `create` runs once per job thread, so a runner may keep its own caches. */
export interface JobHandler {
  readonly kind: string;
  /**
   * Short, bounded CPU work (a signature check, an HMAC): run on the worker's socket thread, saving two
   * thread hops per batch. Kinds that may run long stay on the job thread, where they cannot delay heartbeats.
   */
  readonly inline?: boolean;
  create(config: Config, context: HandlerContext): JobRunner;
}

/** Thrown by a runner for a body it cannot parse: the client gets a BadJobError, not a JobFailedError. */
export class MalformedJobError extends Error {
  readonly code = 'ERR_MALFORMED_JOB';
}

/** Parses a JSON job body, turning any failure into MalformedJobError. */
export function parseJsonBody<T>(body: Buffer, isValid: (value: Record<string, unknown>) => boolean): T {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new MalformedJobError('job body is not JSON');
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !isValid(value as Record<string, unknown>)
  ) {
    throw new MalformedJobError('job body does not have the expected fields');
  }
  return value as T;
}
