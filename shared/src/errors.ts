// Typed errors. Each has a stable `code`; callers switch on it, not on text.

/** Base of every typed error of the project: a stable `code`, and the subclass's own name in stacks and logs. */
export abstract class CodedError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Errors of the Powerhose runtime (client, broker, workers). */
export class PowerhoseError extends CodedError {
  readonly code: string = 'ERR_POWERHOSE';
}

/** The job was not answered before its deadline. */
export class JobTimeoutError extends PowerhoseError {
  override readonly code = 'ERR_JOB_TIMEOUT';
}

/** The broker's queue is full; retry later. */
export class BrokerBusyError extends PowerhoseError {
  override readonly code = 'ERR_BROKER_BUSY';
}

/** No live worker serves the job's kind. */
export class NoWorkerError extends PowerhoseError {
  override readonly code = 'ERR_NO_WORKER';
}

/** The deadline passed before a worker could start the job. */
export class JobExpiredError extends PowerhoseError {
  override readonly code = 'ERR_JOB_EXPIRED';
}

/** Every attempt ended with its worker dying or being dropped. */
export class WorkerLostError extends PowerhoseError {
  override readonly code = 'ERR_WORKER_LOST';
}

/** The broker is not connected, or the connection was lost with the job in flight. */
export class BrokerUnavailableError extends PowerhoseError {
  override readonly code = 'ERR_BROKER_UNAVAILABLE';
}

/** The worker ran the job and it failed; `message` is the worker's own message. */
export class JobFailedError extends PowerhoseError {
  override readonly code = 'ERR_JOB_FAILED';
}

/** The peer rejected the job as malformed or of an unknown kind. */
export class BadJobError extends PowerhoseError {
  override readonly code = 'ERR_BAD_JOB';
}

/** A frame that does not follow the wire format. */
export class ProtocolError extends PowerhoseError {
  override readonly code = 'ERR_PROTOCOL';
}

/** The client was closed with the job in flight. */
export class ClientClosedError extends PowerhoseError {
  override readonly code = 'ERR_CLIENT_CLOSED';
}
