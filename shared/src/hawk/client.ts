/// <reference path="./hapi-hawk.d.ts" />
import { client as hawkClient, crypto as hawkCrypto } from '@hapi/hawk';

// Signs requests to a service node with the credentials of a token-server answer, as Sync
// clients do: Hawk id = the token, Hawk key = the `key` string's ASCII bytes, sha256.

/** The part of a token-server success answer needed to talk to the node. */
export interface HawkTokenCredentials {
  id: string;
  key: string;
  /** Base of relative request URLs: `{node}/1.5/{uid}`. */
  api_endpoint?: string;
}

export type HawkBody = string | Uint8Array;

export interface HawkSignOptions {
  /** Content type of `body`, part of the payload hash (default application/json). */
  contentType?: string;
  /** Sign a hash of the body (default true when there is a body). */
  hashPayload?: boolean;
  /** Server time minus local time, in milliseconds (learnt from a stale-timestamp answer). */
  clockOffsetMs?: number;
  /** Fixed timestamp (Unix seconds) and nonce, for tests and reference vectors. */
  ts?: number;
  nonce?: string;
  ext?: string;
  /** Extra headers sent as they are. */
  headers?: Record<string, string>;
}

export interface SignedHawkRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: HawkBody;
}

/** The `Authorization: Hawk …` value for one request. */
export function hawkHeader(
  credentials: Pick<HawkTokenCredentials, 'id' | 'key'>,
  method: string,
  url: string | URL,
  options: HawkSignOptions & { body?: HawkBody } = {},
): string {
  const target = typeof url === 'string' ? new URL(url) : url;
  const hashed = options.body !== undefined && (options.hashPayload ?? true);
  return hawkClient.header(target, method.toUpperCase(), {
    credentials: { id: credentials.id, key: credentials.key, algorithm: 'sha256' },
    ...(options.ts !== undefined ? { timestamp: options.ts } : {}),
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...(options.ext !== undefined ? { ext: options.ext } : {}),
    localtimeOffsetMsec: options.clockOffsetMs ?? 0,
    ...(hashed ? { payload: Buffer.from(options.body as HawkBody), contentType: contentTypeOf(options) } : {}),
  }).header;
}

/**
 * A request ready for fetch(): `url` may be relative to the token's api_endpoint
 * (`hawkRequest(token, 'GET', 'storage/meta')`) or absolute (`…/1.5/42` for a purge DELETE).
 */
export function hawkRequest(
  token: HawkTokenCredentials,
  method: string,
  url: string | URL,
  body?: HawkBody,
  options: HawkSignOptions = {},
): SignedHawkRequest {
  const target = resolveUrl(token, url);
  const headers: Record<string, string> = {
    ...options.headers,
    Authorization: hawkHeader(token, method, target, { ...options, ...(body !== undefined ? { body } : {}) }),
  };
  if (body !== undefined) headers['Content-Type'] = contentTypeOf(options);
  return { url: target.href, method: method.toUpperCase(), headers, ...(body !== undefined ? { body } : {}) };
}

export interface HawkClientOptions {
  /** fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
}

/**
 * fetch() with Hawk signing. A 401 whose challenge carries a genuine server time (its `tsm`
 * checks out with our key) resyncs the clock and is retried once with a fresh nonce.
 */
export class HawkClient {
  /** Server time minus local time, in milliseconds. */
  clockOffsetMs = 0;
  private readonly fetchImpl: typeof fetch;

  constructor(
    readonly token: HawkTokenCredentials,
    options: HawkClientOptions = {},
  ) {
    this.fetchImpl = options.fetch ?? globalThis.fetch;
  }

  async request(method: string, url: string | URL, body?: HawkBody, options: HawkSignOptions = {}): Promise<Response> {
    const send = () => {
      const signed = hawkRequest(this.token, method, url, body, { clockOffsetMs: this.clockOffsetMs, ...options });
      return this.fetchImpl(signed.url, {
        method: signed.method,
        headers: signed.headers,
        ...(signed.body !== undefined ? { body: signed.body } : {}),
      });
    };
    const response = await send();
    const serverTs = response.status === 401 ? this.serverTimestamp(response) : undefined;
    if (serverTs === undefined || options.ts !== undefined) return response;
    await response.body?.cancel();
    this.clockOffsetMs = serverTs * 1000 - Date.now();
    return send();
  }

  /** The `ts` of a stale-timestamp challenge, if its `tsm` was made with this token's key. */
  private serverTimestamp(response: Response): number | undefined {
    const challenge = response.headers.get('www-authenticate') ?? '';
    const ts = /\bts="(\d+)"/.exec(challenge)?.[1];
    const tsm = /\btsm="([^"]+)"/.exec(challenge)?.[1];
    if (ts === undefined || tsm === undefined) return undefined;
    const expected = hawkCrypto.calculateTsMac(ts, { key: this.token.key, algorithm: 'sha256' });
    return expected === tsm ? Number(ts) : undefined;
  }
}

function resolveUrl(token: HawkTokenCredentials, url: string | URL): URL {
  if (url instanceof URL) return url;
  if (URL.canParse(url)) return new URL(url);
  if (token.api_endpoint === undefined) throw new TypeError(`relative URL ${url} needs the token's api_endpoint`);
  return new URL(`${token.api_endpoint.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`);
}

function contentTypeOf(options: HawkSignOptions): string {
  return options.contentType ?? 'application/json';
}
