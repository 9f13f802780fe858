import { createServer, type RequestListener, type Server } from 'node:http';
import type { Config } from '@tokenserver/shared';
import { answerClientErrors, listenHttp, type RawHttpAnswer } from '@tokenserver/shared/http-listen';
import { apiErrors } from './api-errors.js';
import { unixSeconds } from './responses.js';

// The HTTP server around the app, with limits: headers must fit a largest credential plus ordinary headers,
// arrive within headersTimeout, and the whole request within requestTimeout (the token route reads no body).

export interface HttpLimits {
  maxHeaderSize: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** Room for the other headers next to the largest accepted credential. */
const HEADER_ALLOWANCE = 8 * 1024;

export function httpLimits(config: Pick<Config, 'browserid' | 'oauth' | 'web'>): HttpLimits {
  const credential = Math.max(config.browserid.max_assertion_bytes, config.oauth.max_token_bytes);
  return {
    maxHeaderSize: credential + HEADER_ALLOWANCE,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: config.web.job_timeout_ms * 3 + 10_000,
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
    },
    app,
  );
  answerClientErrors(server, clientErrorAnswer);
  return { server, ...(await listenHttp(server, port, host)) };
}

/** Requests Node cannot parse still get a JSON error body and X-Timestamp. */
function clientErrorAnswer(code: string | undefined): RawHttpAnswer {
  const error = code === 'HPE_HEADER_OVERFLOW' ? apiErrors.headersTooLarge() : apiErrors.badRequest();
  return {
    httpStatus: error.httpStatus,
    headers: { 'Content-Type': 'application/json', 'X-Timestamp': unixSeconds() },
    body: JSON.stringify(error.toBody()),
  };
}
