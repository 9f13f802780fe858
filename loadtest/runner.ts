import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

// HTTP load over keep-alive connections: `connections` loops, each sending its next request when the previous one
// is answered. With a target rate, requests are given send times 1/rate apart and latency is measured from that
// scheduled time, so a slow server shows up as latency instead of silently lowering the offered load.

/** The error code of a request that got no answer within its timeout. */
export const TIMEOUT_ERROR = 'ETIMEDOUT';

export type HttpOutcome = { status: number; body: string; retryAfter?: string } | { error: string };

export interface LoadShape {
  connections: number;
  /** Stop sending after this long. */
  durationMs?: number;
  /** Stop after this many requests. */
  requests?: number;
  /** Requests per second over all connections. */
  rate?: number;
  timeoutMs: number;
}

export interface Dispatch<T> {
  /** The next request to send: its path and headers, plus whatever `done` needs to judge the answer. */
  next(): { path: string; headers: Readonly<Record<string, string>>; context: T };
  /**
   * `latencyMs` counts from the scheduled send time (with a rate), `serviceMs` from when the request was actually
   * sent: the server's own answer time. A returned promise holds the connection's loop until it settles.
   */
  done(context: T, outcome: HttpOutcome, latencyMs: number, atMs: number, serviceMs: number): void | Promise<void>;
}

/**
 * Keep-alive connections to one origin. undici's Pool rather than node:http: the generator shares the machine's
 * cores with the server it measures, and undici spends about half as much CPU per request, which is CPU the server
 * gets back (it matters most when the generator offers twice what the server can take).
 */
export class HttpTarget {
  private readonly pool: Pool;

  constructor(
    readonly url: URL,
    connections: number,
  ) {
    this.pool = new Pool(url.origin, { connections, pipelining: 1 });
  }

  async send(path: string, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<HttpOutcome> {
    try {
      const res = await this.pool.request({
        path,
        method: 'GET',
        headers,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = await res.body.text();
      const retryAfter = res.headers['retry-after'];
      return {
        status: res.statusCode,
        body,
        ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
      };
    } catch (err) {
      return { error: errorCode(err) };
    }
  }

  close(): void {
    void this.pool.destroy();
  }
}

const UNDICI_TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** A connection error as a short code: the socket's own (ECONNREFUSED, ECONNRESET) or TIMEOUT_ERROR. */
function errorCode(err: unknown): string {
  const { code, message, cause } = err as { code?: string; message?: string; cause?: { code?: string } };
  if (code && UNDICI_TIMEOUTS.has(code)) return TIMEOUT_ERROR;
  if (cause?.code) return cause.code;
  // undici's name for a connection the server closed without answering; node:http called it ECONNRESET.
  if (code === 'UND_ERR_SOCKET') return 'ECONNRESET';
  return code ?? message ?? String(err);
}

export interface DriveControl {
  /** Resolves when every loop has stopped and every request in flight was answered. */
  finished: Promise<void>;
  /** Stops sending new requests (Ctrl-C). */
  stop(): void;
  /** Milliseconds since the run started. */
  elapsedMs(): number;
}

export function drive<T>(target: HttpTarget, shape: LoadShape, dispatch: Dispatch<T>): DriveControl {
  const startedAt = performance.now();
  const deadline = shape.durationMs === undefined ? Number.POSITIVE_INFINITY : startedAt + shape.durationMs;
  const limit = shape.requests ?? Number.POSITIVE_INFINITY;
  let issued = 0;
  let stopped = false;
  const mayIssue = () => !stopped && issued < limit && performance.now() < deadline;

  const loop = async (): Promise<void> => {
    while (mayIssue()) {
      const index = issued++;
      let sentAt = performance.now();
      if (shape.rate !== undefined) {
        const slot = startedAt + (index * 1000) / shape.rate;
        if (slot > sentAt) await sleep(slot - sentAt);
        if (stopped || slot >= deadline) return;
        sentAt = slot;
      }
      const { path, headers, context } = dispatch.next();
      const issuedAt = performance.now();
      const outcome = await target.send(path, headers, shape.timeoutMs);
      const end = performance.now();
      const followUp = dispatch.done(context, outcome, end - sentAt, end - startedAt, end - issuedAt);
      if (followUp) await followUp;
    }
  };
  const finished = Promise.all(Array.from({ length: shape.connections }, loop)).then(() => undefined);
  return {
    finished,
    stop: () => {
      stopped = true;
    },
    elapsedMs: () => performance.now() - startedAt,
  };
}
