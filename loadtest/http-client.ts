import { connect, type Socket } from 'node:net';

// The load generator's HTTP/1.1 client: keep-alive connections to one origin, one GET at a time on each.
//
// Hand-written rather than undici because the generator shares the machine's cores with the server it measures:
// every microsecond it spends per request is taken from the server, twice as often at twice the server's peak rate.
// It spends about 0.6 of the CPU per request of undici's request(), and 0.25 of node:http's (`npm run
// bench:http-client`, in BENCHMARKS.md). It gets there by writing each request as one string, with the header lines of
// each credential serialised once, and by reading only what the load test uses: the status, the body (by
// Content-Length, chunked, or up to the close), Retry-After, Connection and Keep-Alive.

/** The error code of a request that got no answer within its timeout. */
export const TIMEOUT_ERROR = 'ETIMEDOUT';
/** A request refused before sending: a path or header that cannot be written into an HTTP/1.1 request. */
export const INVALID_REQUEST_ERROR = 'ERR_INVALID_REQUEST';
/** The answer broke HTTP/1.1 framing (the connection is closed). */
export const BAD_RESPONSE_ERROR = 'ERR_BAD_RESPONSE';
/** The target was closed while the request was waiting or in flight. */
export const CLOSED_ERROR = 'ERR_CLIENT_CLOSED';

export type HttpOutcome = { status: number; body: string; retryAfter?: string } | { error: string };
type Headers = Readonly<Record<string, string>>;

const PATH = /^\/[\x21-\x7e]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** How often deadlines are checked: a timeout fires up to this much late. */
const SWEEP_INTERVAL_MS = 25;

export class HttpTarget {
  private readonly all: HttpConnection[] = [];
  private readonly idle: HttpConnection[] = [];
  private readonly waiting: Array<(connection: HttpConnection | undefined) => void> = [];
  /** Each headers object's lines, serialised once (the load test sends the same credential objects again and again). */
  private readonly headerLines = new WeakMap<Headers, string | null>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly url: URL,
    private readonly connections: number,
  ) {}

  async send(path: string, headers: Headers, timeoutMs: number): Promise<HttpOutcome> {
    const lines = this.linesOf(headers);
    if (lines === null || !PATH.test(path)) return { error: INVALID_REQUEST_ERROR };
    const connection = await this.acquire();
    if (!connection) return { error: CLOSED_ERROR };
    try {
      return await connection.request(`GET ${path} HTTP/1.1\r\nHost: ${this.url.host}\r\n${lines}\r\n`, timeoutMs);
    } finally {
      this.release(connection);
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const connection of this.all) connection.destroy();
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
  }

  private linesOf(headers: Headers): string | null {
    let lines = this.headerLines.get(headers);
    if (lines === undefined) {
      lines = serialiseHeaders(headers);
      this.headerLines.set(headers, lines);
    }
    return lines;
  }

  private acquire(): HttpConnection | undefined | Promise<HttpConnection | undefined> {
    if (this.closed) return undefined;
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.all.length < this.connections) {
      const connection = new HttpConnection(Number(this.url.port || 80), this.url.hostname.replace(/^\[|\]$/g, ''));
      this.all.push(connection);
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
      return connection;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(connection: HttpConnection): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(connection);
    else this.idle.push(connection);
  }

  private sweep(): void {
    const now = performance.now();
    for (const connection of this.all) connection.expireIfLate(now);
  }
}

/** `Name: value\r\n` for each header, or null when one cannot be written as it is (CR, LF, a bad name). */
function serialiseHeaders(headers: Headers): string | null {
  let lines = '';
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) return null;
    lines += `${name}: ${value}\r\n`;
  }
  return lines;
}

interface Pending {
  deadline: number;
  resolve: (outcome: HttpOutcome) => void;
}

/** One keep-alive socket; reopened when the server closed it. */
class HttpConnection {
  private socket: Socket | undefined;
  private readonly reader = new ResponseReader();
  private pending: Pending | undefined;
  private lastError: string | undefined;
  /** When the current socket stops being safe to reuse (the server's Keep-Alive timeout, less a margin). */
  private reusableUntil = Number.POSITIVE_INFINITY;

  constructor(
    private readonly port: number,
    private readonly host: string,
  ) {}

  request(head: string, timeoutMs: number): Promise<HttpOutcome> {
    const now = performance.now();
    // Not a socket the server may be closing as this request crosses it: that would look like a server fault.
    if (this.socket && now >= this.reusableUntil) this.destroy();
    if (!this.socket) this.open();
    return new Promise((resolve) => {
      this.pending = { deadline: now + timeoutMs, resolve };
      (this.socket as Socket).write(head, 'latin1');
    });
  }

  expireIfLate(now: number): void {
    if (this.pending && now >= this.pending.deadline) {
      this.finish({ error: TIMEOUT_ERROR });
      this.destroy();
    }
  }

  destroy(): void {
    this.socket?.destroy();
    this.socket = undefined;
    if (this.pending) this.finish({ error: CLOSED_ERROR });
  }

  private open(): void {
    const socket = connect({ port: this.port, host: this.host, noDelay: true });
    this.socket = socket;
    this.reusableUntil = Number.POSITIVE_INFINITY;
    this.lastError = undefined;
    this.reader.reset();
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastError = err.code ?? err.message;
    });
    socket.on('close', () => this.onClose(socket));
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    if (!this.pending) {
      // Nothing was asked: the server is not speaking HTTP/1.1 as this client does.
      this.destroy();
      return;
    }
    const answer = this.reader.push(chunk);
    if (answer === undefined) return;
    if (answer === null) {
      this.finish({ error: BAD_RESPONSE_ERROR });
      this.destroy();
      return;
    }
    this.finish(answer.outcome);
    if (answer.close) this.destroy();
    else if (answer.keepAliveMs !== undefined) {
      this.reusableUntil = performance.now() + answer.keepAliveMs - Math.min(1000, answer.keepAliveMs / 2);
    }
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    if (!this.pending) return;
    const answer = this.reader.end();
    this.finish(answer ? answer.outcome : { error: this.lastError ?? 'ECONNRESET' });
  }

  private finish(outcome: HttpOutcome): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(outcome);
  }
}

interface Answer {
  outcome: HttpOutcome;
  /** The server said Connection: close (or spoke HTTP/1.0 without keep-alive). */
  close: boolean;
  /** `Keep-Alive: timeout=N`: the server closes the connection after N idle seconds. */
  keepAliveMs?: number;
}

type BodyFraming = { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'until-close' };

const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD_BYTES = 64 * 1024;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})/;

/** Reads one answer at a time from a socket's bytes. */
class ResponseReader {
  private buffered: Buffer | undefined;
  private status = 0;
  private retryAfter: string | undefined;
  private close = false;
  private keepAliveMs: number | undefined;
  private framing: BodyFraming | undefined;
  private body: Buffer[] = [];

  reset(): void {
    this.buffered = undefined;
    this.framing = undefined;
    this.body = [];
  }

  /** The answer once complete; null when the bytes are not HTTP/1.1. */
  push(chunk: Buffer): Answer | undefined | null {
    let buffered = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    // A 1xx answer leaves the framing unset: the real answer's head follows.
    while (!this.framing) {
      const headEnd = buffered.indexOf(HEAD_END);
      if (headEnd < 0) {
        this.buffered = buffered;
        return buffered.length > MAX_HEAD_BYTES ? null : undefined;
      }
      if (!this.readHead(buffered.toString('latin1', 0, headEnd))) return null;
      buffered = buffered.subarray(headEnd + HEAD_END.length);
    }
    return this.readBody(buffered);
  }

  /** At the close of the socket: an answer framed by the close is complete, anything else is cut short. */
  end(): Answer | undefined {
    if (this.framing?.kind !== 'until-close') return undefined;
    if (this.buffered) this.body.push(this.buffered);
    return this.complete(true);
  }

  private readHead(head: string): boolean {
    const lines = head.split('\r\n');
    const statusLine = STATUS_LINE.exec(lines[0] as string);
    if (!statusLine) return false;
    this.status = Number(statusLine[2]);
    this.retryAfter = undefined;
    this.keepAliveMs = undefined;
    let length: number | undefined;
    let chunked = false;
    let connection: string[] = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) return false;
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d+$/.test(value) || (length !== undefined && length !== Number(value))) return false;
        length = Number(value);
      } else if (name === 'transfer-encoding') chunked = /(^|,)\s*chunked$/i.test(value);
      else if (name === 'connection') connection = value.toLowerCase().split(/\s*,\s*/);
      else if (name === 'retry-after') this.retryAfter = value;
      else if (name === 'keep-alive') {
        const timeout = /(?:^|,)\s*timeout=(\d+)/i.exec(value);
        if (timeout) this.keepAliveMs = Number(timeout[1]) * 1000;
      }
    }
    const http10 = statusLine[1] === '0';
    this.close = connection.includes('close') || (http10 && !connection.includes('keep-alive'));
    if (this.status < 200) return true;
    const bodiless = this.status === 204 || this.status === 304;
    this.framing = bodiless
      ? { kind: 'length', remaining: 0 }
      : chunked
        ? { kind: 'chunked' }
        : length !== undefined
          ? { kind: 'length', remaining: length }
          : { kind: 'until-close' };
    return true;
  }

  private readBody(buffered: Buffer): Answer | undefined | null {
    const framing = this.framing as BodyFraming;
    if (framing.kind === 'chunked') return this.readChunks(buffered);
    if (framing.kind === 'length' && buffered.length >= framing.remaining) {
      this.body.push(buffered.subarray(0, framing.remaining));
      // Bytes after the answer, with no request after it, mean the server and this client disagree: close.
      return this.complete(this.close || buffered.length > framing.remaining);
    }
    if (framing.kind === 'length') framing.remaining -= buffered.length;
    if (buffered.length > 0) this.body.push(buffered);
    this.buffered = undefined;
    return undefined;
  }

  /** `size CRLF data CRLF` … `0 CRLF [trailers] CRLF`. */
  private readChunks(buffered: Buffer): Answer | undefined | null {
    let at = 0;
    for (;;) {
      const sizeEnd = buffered.indexOf('\r\n', at);
      if (sizeEnd < 0) break;
      const size = Number.parseInt(buffered.toString('latin1', at, sizeEnd), 16);
      if (!Number.isFinite(size) || size < 0) return null;
      if (size === 0) {
        const trailersEnd = buffered.indexOf(HEAD_END, sizeEnd);
        if (trailersEnd < 0) break;
        return this.complete(this.close || buffered.length > trailersEnd + HEAD_END.length);
      }
      if (buffered.length < sizeEnd + 2 + size + 2) break;
      this.body.push(buffered.subarray(sizeEnd + 2, sizeEnd + 2 + size));
      at = sizeEnd + 2 + size + 2;
    }
    this.buffered = buffered.subarray(at);
    return undefined;
  }

  private complete(close: boolean): Answer {
    const body = this.body.length === 1 ? (this.body[0] as Buffer).toString() : Buffer.concat(this.body).toString();
    const outcome: HttpOutcome =
      this.retryAfter === undefined
        ? { status: this.status, body }
        : { status: this.status, body, retryAfter: this.retryAfter };
    const keepAliveMs = this.keepAliveMs;
    this.reset();
    return keepAliveMs === undefined ? { outcome, close } : { outcome, close, keepAliveMs };
  }
}
