/// <reference path="./hapi-hawk.d.ts" />
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { type HawkArtifacts, type HawkCredentials, crypto as hawkCrypto, server as hawkServer } from '@hapi/hawk';
import type { RawHttpAnswer } from '../http-listen.js';
import { type NodeSecrets, UnknownNodeError } from '../node-secrets.js';
import { TokenError, type TokenPayload, type VerifiedToken, verifyToken } from '../tokenlib.js';
import {
  BadHawkMacError,
  BadPayloadHashError,
  HawkAuthError,
  InvalidHawkTokenError,
  MalformedHawkHeaderError,
  MissingHawkCredentialsError,
  PayloadTooLargeError,
  ReplayedNonceError,
  StaleTimestampError,
  UidMismatchError,
} from './errors.js';
import { NonceCache, type NonceStore } from './nonce-cache.js';

// Express middleware for service nodes: the Hawk id is a token from the token server, the Hawk
// key is the token's derived key used as ASCII text (not decoded), as Sync clients sign.
// Typed structurally so that shared needs no express dependency.

/** What an authenticated request carries as `req.auth`. */
export interface HawkAuth {
  uid: number;
  fxaUid: string | undefined;
  fxaKid: string | undefined;
  /** The verified token payload. */
  payload: TokenPayload;
  hawk: { id: string; ts: number; nonce: string; ext: string | undefined; hasPayloadHash: boolean };
}

export interface HawkRequest {
  method: string;
  url: string;
  /** Express: the URL before routers stripped their mount path; Hawk signs the full one. */
  originalUrl?: string;
  headers: IncomingHttpHeaders;
  /** A TLS socket says `encrypted`: the default port is then 443. */
  socket: Socket;
  params?: Record<string, string | undefined>;
  body?: unknown;
  auth?: HawkAuth;
  [Symbol.asyncIterator](): AsyncIterator<unknown>;
}

export interface HawkResponse {
  statusCode: number;
  headersSent: boolean;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

export type HawkNext = (err?: unknown) => void;
/** Generic so that Express still infers route parameters from the path of a route using it. */
export type HawkMiddleware = <Req extends HawkRequest>(req: Req, res: HawkResponse, next: HawkNext) => Promise<void>;

export interface HawkAuthOptions {
  secrets: NodeSecrets;
  /** This node's canonical URL, as the token server writes it in tokens' `node`. */
  node: string;
  /** Accepted clock skew of `ts`, either way, in seconds (default 60). */
  skewS?: number;
  /** Replay protection; default: a NonceCache covering the skew window. */
  nonceCache?: NonceStore;
  /** Most nonces the default NonceCache keeps (its default: 100 000); size it above peak requests/s × 2 × skewS. */
  nonceCacheSize?: number;
  /** Route parameter holding the uid that the token must carry (default "uid"); false to skip. */
  uidParam?: string | false;
  /** Largest body read to check a payload hash (default 2 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** Host and port the client signed, when a proxy rewrote the Host header. */
  host?: string;
  port?: number;
  /** Current time in milliseconds, for tests. */
  now?: () => number;
}

const DEFAULT_SKEW_S = 60;
const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

interface NodeCredentials extends HawkCredentials {
  verified: VerifiedToken;
}

export function hawkAuth(options: HawkAuthOptions): HawkMiddleware {
  const skewS = options.skewS ?? DEFAULT_SKEW_S;
  const now = options.now ?? Date.now;
  const nonces =
    options.nonceCache ??
    new NonceCache({
      ttlMs: 2 * skewS * 1000 + 1000,
      now,
      maxEntries: options.nonceCacheSize,
    });
  const uidParam = options.uidParam ?? 'uid';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (options.secrets.get(options.node).length === 0) {
    throw new UnknownNodeError(`no token secret for node ${options.node}`);
  }

  return async (req, res, next) => {
    let auth: HawkAuth;
    try {
      auth = await authenticate(req);
    } catch (err) {
      const failure = asAuthFailure(err);
      if (!failure) return next(err);
      return sendFailure(res, failure, now());
    }
    req.auth = auth;
    next();
  };

  async function authenticate(req: HawkRequest): Promise<HawkAuth> {
    const offsetMs = now() - Date.now();
    // When a router stripped its mount path, hand hawk the URL the client signed.
    const request = {
      method: req.method,
      url: req.originalUrl ?? req.url,
      headers: req.headers,
      connection: req.socket as { encrypted?: boolean },
    };
    const credentialsFor = (id: string): NodeCredentials => {
      const verified = verifyToken(id, options.secrets.get(options.node), { node: options.node, now: now() });
      return { key: verified.key, algorithm: 'sha256', verified };
    };
    const { credentials, artifacts } = await hawkServer
      .authenticate(request, credentialsFor, {
        timestampSkewSec: skewS,
        localtimeOffsetMsec: offsetMs,
        nonceFunc: (key, nonce) => {
          if (!nonces.add(key, nonce)) throw new ReplayedNonceError('nonce already used');
        },
        ...(options.host !== undefined && options.port !== undefined ? { host: options.host, port: options.port } : {}),
      })
      .catch((err: unknown) => {
        throw translateHawkError(err, offsetMs);
      });
    // hawk compares `ts * 1000` with the clock: a NaN (ts="abc") is never stale, and its request could be
    // replayed once the nonce cache forgets it.
    if (!/^\d+$/.test(String(artifacts.ts))) throw new MalformedHawkHeaderError('Invalid timestamp');
    const { payload } = credentials.verified;
    if (uidParam !== false) {
      const pathUid = req.params?.[uidParam];
      if (pathUid !== undefined && pathUid !== String(payload.uid)) {
        throw new UidMismatchError('token uid does not match the URL');
      }
    }
    if (artifacts.hash) await checkPayloadHash(req, credentials, artifacts);
    return {
      uid: payload.uid,
      fxaUid: payload.fxa_uid,
      fxaKid: payload.fxa_kid,
      payload,
      hawk: {
        id: String(artifacts.id),
        ts: Number(artifacts.ts),
        nonce: artifacts.nonce,
        ext: artifacts.ext,
        hasPayloadHash: Boolean(artifacts.hash),
      },
    };
  }

  async function checkPayloadHash(req: HawkRequest, credentials: HawkCredentials, artifacts: HawkArtifacts) {
    const body = await rawBody(req, maxBodyBytes);
    try {
      hawkServer.authenticatePayload(body, credentials, artifacts, req.headers['content-type']);
    } catch {
      throw new BadPayloadHashError('Bad payload hash');
    }
  }
}

/**
 * The request body as bytes: the one a raw body parser already read, or read here (and left in
 * `req.body` as express.raw() would). A body already parsed into an object cannot be hashed.
 */
async function rawBody(req: HawkRequest, maxBytes: number): Promise<Buffer | string> {
  if (Buffer.isBuffer(req.body) || typeof req.body === 'string') return req.body;
  if (req.body !== undefined) {
    throw new Error('hawkAuth must run before any body parser other than express.raw()/express.text()');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new PayloadTooLargeError('request body is too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += bytes.length;
    if (size > maxBytes) throw new PayloadTooLargeError('request body is too large');
    chunks.push(bytes);
  }
  const body = Buffer.concat(chunks);
  req.body = body;
  return body;
}

/** Maps hawk's Boom errors (and the errors our callbacks threw through it) to typed ones. */
function translateHawkError(err: unknown, offsetMs: number): unknown {
  if (err instanceof HawkAuthError) return err;
  if (err instanceof TokenError) return new InvalidHawkTokenError(err);
  if (!isBoom(err)) return err;
  const status = err.output.statusCode;
  if (status === 400) return new MalformedHawkHeaderError(err.message);
  if (status !== 401) return err;
  switch (err.message) {
    case 'Bad mac':
      return new BadHawkMacError(err.message);
    case 'Invalid nonce':
      return new ReplayedNonceError('nonce already used');
    case 'Stale timestamp': {
      const { ts, tsm } = hawkCrypto.timestampMessage(err.credentials as HawkCredentials, offsetMs);
      return new StaleTimestampError(ts, tsm);
    }
    default:
      // No Authorization header, or another scheme.
      return new MissingHawkCredentialsError('Hawk credentials required');
  }
}

interface Boom extends Error {
  isBoom: true;
  output: { statusCode: number };
  credentials?: unknown;
}

function isBoom(err: unknown): err is Boom {
  return err instanceof Error && (err as Partial<Boom>).isBoom === true;
}

function asAuthFailure(err: unknown): HawkAuthError | undefined {
  return err instanceof HawkAuthError ? err : undefined;
}

/** JSON body of a refused request, in the token server's error shape plus the stable code. */
export interface HawkFailureBody {
  status: 'invalid-credentials' | 'payload-too-large';
  code: string;
  errors: Array<{ location: 'header' | 'body'; name: string; description: string }>;
}

/** The status, headers and JSON body a service node answers a refused request with. */
export function hawkFailureAnswer(failure: HawkAuthError, nowMs: number): RawHttpAnswer {
  const tooLarge = failure instanceof PayloadTooLargeError;
  const body: HawkFailureBody = {
    status: tooLarge ? 'payload-too-large' : 'invalid-credentials',
    code: failure instanceof InvalidHawkTokenError ? failure.tokenCode : failure.code,
    errors: [
      { location: tooLarge ? 'body' : 'header', name: tooLarge ? '' : 'authorization', description: failure.message },
    ],
  };
  return {
    httpStatus: failure.httpStatus,
    headers: {
      ...(tooLarge ? {} : { 'WWW-Authenticate': failure.challenge }),
      // Sync clients compute their clock skew from this header on a 401.
      'X-Weave-Timestamp': (nowMs / 1000).toFixed(2),
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
    },
    body: JSON.stringify(body),
  };
}

function sendFailure(res: HawkResponse, failure: HawkAuthError, nowMs: number): void {
  if (res.headersSent) return;
  const answer = hawkFailureAnswer(failure, nowMs);
  res.statusCode = answer.httpStatus;
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.end(answer.body);
}

/** `req.auth` of a request that went through hawkAuth; throws if it did not. */
export function hawkAuthOf(req: object): HawkAuth {
  const { auth } = req as { auth?: HawkAuth };
  if (!auth) throw new Error('request was not authenticated by hawkAuth');
  return auth;
}
