import type { ServerResponse } from 'node:http';

// What the log line and the metrics of one request need to know, filled in as the request goes: the observer
// creates it, the token route times its stages, sendError names the API error. One small object per request.

export type TokenStage = 'verify' | 'db' | 'sign';

export class RequestRecord {
  verifyMs: number | undefined = undefined;
  dbMs: number | undefined = undefined;
  signMs: number | undefined = undefined;
  /** The API error `status` string ("invalid-credentials", …) of an error answer. */
  errorStatus: string | undefined = undefined;
  /** The job error code (ERR_BROKER_BUSY, …) behind an error answer. */
  jobError: string | undefined = undefined;
  /** Keyed hash of the FxA uid, as the sign job returns it; the only user identifier ever logged. */
  hashedFxaUid: string | undefined = undefined;
  private stageStartedAt = 0;

  constructor(
    readonly id: string,
    readonly startedAt: number,
  ) {}

  startStage(): void {
    this.stageStartedAt = performance.now();
  }

  /** Adds the time since startStage() to the stage (the db stage runs twice: service lookup, then user). */
  endStage(stage: TokenStage): void {
    const elapsed = performance.now() - this.stageStartedAt;
    if (stage === 'verify') this.verifyMs = (this.verifyMs ?? 0) + elapsed;
    else if (stage === 'db') this.dbMs = (this.dbMs ?? 0) + elapsed;
    else this.signMs = (this.signMs ?? 0) + elapsed;
  }
}

const RECORD = Symbol('requestRecord');
type RecordedResponse = ServerResponse & { [RECORD]?: RequestRecord };

export function attachRequestRecord(res: ServerResponse, record: RequestRecord): void {
  (res as RecordedResponse)[RECORD] = record;
}

/** The request's record, or undefined when the app runs without the request observer (some tests). */
export function requestRecordOf(res: ServerResponse): RequestRecord | undefined {
  return (res as RecordedResponse)[RECORD];
}
