import { createServer, type RequestListener, type Server } from 'node:http';
import type { Config } from '@tokenserver/shared';
import { answerClientErrors, listenHttp, type RawHttpAnswer } from '@tokenserver/shared/http-listen';
import { apiErrors, type TokenServerError } from './api-errors.js';
import { unixSeconds } from './responses.js';

// The HTTP server around the app, with limits: headers must fit a largest credential plus ordinary headers,
// arrive within `[web] headers_timeout_ms`, and the whole request within requestTimeout. The body limit is
// applied to every route by the web front's handler (body-limit.ts).

export interface HttpLimits {
  maxHeaderSize: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** How often Node looks for connections past their header or request timeout (its default is 30 s). */
const MAX_TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** Room for the other headers next to the largest accepted credential. */
const HEADER_ALLOWANCE = 8 * 1024;

export function httpLimits(config: Pick<Config, 'browserid' | 'oauth' | 'web'>): HttpLimits {
  const credential = Math.max(config.browserid.max_assertion_bytes, config.oauth.max_token_bytes);
  return {
    maxHeaderSize: credential + HEADER_ALLOWANCE,
    headersTimeoutMs: config.web.headers_timeout_ms,
    // Node refuses a headers timeout longer than the request timeout (ERR_OUT_OF_RANGE at start-up).
    requestTimeoutMs: Math.max(config.web.job_timeout_ms * 3 + 10_000, config.web.headers_timeout_ms),
    keepAliveTimeoutMs: 5_000,
  };
}

export interface ListeningServer {
  server: Server;
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

export async function listen(
  app: RequestListener,
  host: string,
  port: number,
  limits: HttpLimits,
): Promise<ListeningServer> {
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Otherwise a timeout is only noticed at the next check, up to 30 s late.
      connectionsCheckingInterval: Math.min(MAX_TIMEOUT_CHECK_INTERVAL_MS, limits.headersTimeoutMs),
    },
    app,
  );
  answerClientErrors(server, clientErrorAnswer);
  return { server, ...(await listenHttp(server, port, host)) };
}

/** Requests Node cannot parse (or send too slowly) still get a JSON error body and X-Timestamp. */
function clientErrorAnswer(code: string | undefined): RawHttpAnswer {
  const error = clientError(code);
  return {
    httpStatus: error.httpStatus,
    headers: { 'Content-Type': 'application/json', 'X-Timestamp': unixSeconds() },
    body: error.json,
  };
}

function clientError(code: string | undefined): TokenServerError {
  if (code === 'HPE_HEADER_OVERFLOW') return apiErrors.headersTooLarge();
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return apiErrors.requestTimeout();
  return apiErrors.badRequest();
}
