import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '@tokenserver/shared';
import { attachRequestRecord, RequestRecord, requestRecordOf } from './request-record.js';
import type { WebMetrics } from './web-metrics.js';

// Wraps the app at the node:http level rather than as Express middleware: no Express layer on the hot path, and
// every answer is seen, Express's own 404s included. One log line and one metrics update per request, when the
// response closes.

export interface RequestObserverDeps {
  log: Logger;
  metrics?: WebMetrics;
}

/** A sane incoming X-Request-Id is kept (for tracing through a proxy); anything else is replaced. */
const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
/** The route label of requests that matched no route. */
export const UNMATCHED_ROUTE = 'unmatched';
/** The status label of a request whose client went away before the answer was sent (nginx's convention). */
export const CLIENT_CLOSED_STATUS = 499;
const MAX_USER_AGENT = 200;

export function observeRequests(app: RequestListener, deps: RequestObserverDeps): RequestListener {
  // One listener for every response: `this` is the response, so nothing is allocated per request for it.
  function onClose(this: ServerResponse): void {
    const record = requestRecordOf(this);
    if (record) finishRequest(deps, this.req, this, record);
  }
  return (req, res) => {
    const record = new RequestRecord(requestIdOf(req), performance.now());
    attachRequestRecord(res, record);
    res.setHeader('X-Request-Id', record.id);
    res.on('close', onClose);
    app(req, res);
  };
}

function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && INCOMING_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function finishRequest(
  deps: RequestObserverDeps,
  req: IncomingMessage,
  res: ServerResponse,
  record: RequestRecord,
): void {
  const ms = performance.now() - record.startedAt;
  const method = KNOWN_METHODS.has(req.method as string) ? (req.method as string) : 'other';
  const route = routeOf(req);
  const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_STATUS;
  deps.metrics?.observe(method, route, status, record, ms / 1000);
  if (!deps.log.isLevelEnabled('info')) return;
  const agent = req.headers['user-agent'];
  deps.log.info(
    {
      requestId: record.id,
      method,
      route,
      status,
      ms: round(ms),
      errorStatus: record.errorStatus,
      jobError: record.jobError,
      verifyMs: roundOrUndefined(record.verifyMs),
      dbMs: roundOrUndefined(record.dbMs),
      signMs: roundOrUndefined(record.signMs),
      hashedFxaUid: record.hashedFxaUid,
      agent: agent === undefined || agent.length <= MAX_USER_AGENT ? agent : agent.slice(0, MAX_USER_AGENT),
    },
    'request',
  );
}

/** The Express route pattern that answered ("/1.0/:application/:version"), never the raw path. */
function routeOf(req: IncomingMessage): string {
  const path = (req as IncomingMessage & { route?: { path?: unknown } }).route?.path;
  return typeof path === 'string' ? path : UNMATCHED_ROUTE;
}

/** Milliseconds to the microsecond. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function roundOrUndefined(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : round(ms);
}
