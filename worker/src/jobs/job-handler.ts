import type { Config } from '@tokenserver/shared';

/** What a handler knows about the job it runs. */
export interface JobContext {
  /** Milliseconds since the epoch after which nobody waits for the answer. */
  readonly deadline: number;
  readonly config: Config;
}

/** One kind of job. Handlers are pure: the same body gives the same answer, so retries are safe. */
export interface JobHandler {
  readonly kind: string;
  run(body: Buffer, context: JobContext): Buffer | Promise<Buffer>;
}

/** Thrown by a handler for a body it cannot parse: the client gets a BadJobError, not a JobFailedError. */
export class MalformedJobError extends Error {
  readonly code = 'ERR_MALFORMED_JOB';
}
