import type { ServerResponse } from 'node:http';
import type { TokenServerError } from './api-errors.js';
import { requestRecordOf } from './observability/request-record.js';

// Every answer of the web front leaves through here, so each one carries X-Timestamp (clients resync their
// clock from it after invalid-timestamp). Writing to the raw response skips Express's res.json machinery.

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Current time in whole Unix seconds, as the X-Timestamp header carries it. */
export function unixSeconds(): string {
  return String(Math.floor(Date.now() / 1000));
}

export function sendJson(
  res: ServerResponse,
  status: number,
  json: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
    'X-Timestamp': unixSeconds(),
    ...headers,
  });
  res.end(json);
}

export function sendError(
  res: ServerResponse,
  error: TokenServerError,
  headers: Readonly<Record<string, string>> = NO_HEADERS,
): void {
  const record = requestRecordOf(res);
  if (record) record.errorStatus = error.status;
  sendJson(
    res,
    error.httpStatus,
    error.json,
    headers === NO_HEADERS ? error.headers : { ...error.headers, ...headers },
  );
}
