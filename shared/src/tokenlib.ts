import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CodedError } from './errors.js';

// The tokenlib wire format (mozilla-services/tokenlib 2.x), byte for byte:
//   id  = base64url_padded(json || HMAC-SHA256(signingKey, json)),
//   signingKey = HKDF-SHA256(secret, no salt, SIGNING_INFO, 32),
//   key = base64url_padded(HKDF-SHA256(secret, ascii(salt), DERIVE_INFO + id, 32)).
// Secrets are used as the UTF-8 bytes of their (usually hex) text, never decoded.

const SIGNING_INFO = 'services.mozilla.com/tokenlib/v1/signing';
const DERIVE_INFO = 'services.mozilla.com/tokenlib/v1/derive/';
const MAC_BYTES = 32;
const NO_SALT = Buffer.alloc(32);
const EXPAND_COUNTER = Buffer.of(1);
/** Longest token id accepted by parseToken; real ids are about 360 characters. */
export const MAX_TOKEN_CHARS = 4096;
const BASE64URL_PADDED = /^[A-Za-z0-9_-]+={0,2}$/;

export class TokenError extends CodedError {
  readonly code: string = 'ERR_TOKEN';
}

/** Not base64url, too short or too long, or the signed bytes are not a JSON object. */
export class MalformedTokenError extends TokenError {
  override readonly code = 'ERR_TOKEN_MALFORMED';
}

/** The MAC does not match any of the secrets tried. */
export class InvalidTokenSignatureError extends TokenError {
  override readonly code = 'ERR_TOKEN_BAD_SIGNATURE';
}

export class ExpiredTokenError extends TokenError {
  override readonly code = 'ERR_TOKEN_EXPIRED';
}

/** The token is genuine but was issued for another storage node. */
export class WrongNodeError extends TokenError {
  override readonly code = 'ERR_TOKEN_WRONG_NODE';
}

/** The payload fields a token server writes; tokenlib itself accepts any extra JSON fields. */
export interface TokenPayload {
  uid: number;
  node: string;
  /** Unix seconds. */
  expires: number;
  salt: string;
  fxa_uid?: string;
  fxa_kid?: string;
  hashed_fxa_uid?: string;
  hashed_device_id?: string;
  [field: string]: unknown;
}

/** What makeToken accepts: `salt` and `expires` are filled in when absent, as tokenlib does. */
export type TokenPayloadInput = Omit<TokenPayload, 'salt' | 'expires'> & { salt?: string; expires?: number };

/** A secret with its signing key derived once; pass it instead of the string on hot paths. */
export class TokenSecret {
  readonly signingKey: Buffer;
  constructor(readonly secret: string) {
    this.signingKey = hkdfSha256(secret, NO_SALT, SIGNING_INFO);
  }
}

export type SecretLike = string | TokenSecret;

export interface MakeTokenOptions {
  /** Lifetime used when the payload has no `expires`, in seconds (tokenlib's default is 300). */
  timeout?: number;
  /** Current time in milliseconds, for tests. */
  now?: number;
}

export interface SignedToken {
  /** The Hawk id: the signed token. */
  id: string;
  /** The Hawk key: the per-token derived secret. */
  key: string;
  payload: TokenPayload;
}

export function makeToken(input: TokenPayloadInput, secret: SecretLike, options: MakeTokenOptions = {}): SignedToken {
  const tokenSecret = asTokenSecret(secret);
  const payload = { ...input } as TokenPayload;
  if (payload.salt === undefined) payload.salt = randomBytes(3).toString('hex');
  if (payload.expires === undefined) {
    payload.expires = Math.floor((options.now ?? Date.now()) / 1000) + (options.timeout ?? 300);
  }
  const body = Buffer.from(pythonJsonDumps(payload), 'utf8');
  const mac = createHmac('sha256', tokenSecret.signingKey).update(body).digest();
  const id = toBase64UrlPadded(Buffer.concat([body, mac]));
  return { id, key: deriveKey(id, payload.salt, tokenSecret), payload };
}

/** The Hawk key of a token: tokenlib's `get_derived_secret`. */
export function deriveKey(tokenId: string, salt: string, secret: SecretLike): string {
  const ikm = typeof secret === 'string' ? secret : secret.secret;
  return toBase64UrlPadded(hkdfSha256(ikm, salt, DERIVE_INFO + tokenId));
}

/**
 * RFC 5869 HKDF-SHA256 for a 32-byte output (one expand block). Two HMACs cost about half of
 * crypto.hkdfSync per call, which matters since every token issued derives a key.
 */
function hkdfSha256(ikm: string, salt: string | Buffer, info: string): Buffer {
  const prk = createHmac('sha256', salt).update(ikm, 'utf8').digest();
  return createHmac('sha256', prk).update(info, 'utf8').update(EXPAND_COUNTER).digest();
}

export interface ParseTokenOptions {
  /** Current time in milliseconds, for tests. */
  now?: number;
}

/** tokenlib's `parse_token`: checks the MAC against one secret, then the expiry. */
export function parseToken(tokenId: string, secret: SecretLike, options: ParseTokenOptions = {}): TokenPayload {
  const { body, mac } = splitToken(tokenId);
  if (!macMatches(body, mac, asTokenSecret(secret))) throw new InvalidTokenSignatureError('token signature is invalid');
  const payload = decodePayload(body);
  checkExpiry(payload, options.now);
  return payload;
}

export interface VerifyTokenOptions extends ParseTokenOptions {
  /** The node verifying the token: its canonical URL as written in the token's `node`. */
  node: string;
}

export interface VerifiedToken {
  payload: TokenPayload;
  /** The Hawk key of this token, derived with the secret whose MAC matched. */
  key: string;
  secret: TokenSecret;
}

/**
 * Service-node verification: tries every valid secret of the node (rotation), newest first,
 * then checks the expiry and that the token names this node.
 */
export function verifyToken(
  tokenId: string,
  secrets: readonly SecretLike[],
  options: VerifyTokenOptions,
): VerifiedToken {
  const { body, mac } = splitToken(tokenId);
  for (let i = secrets.length - 1; i >= 0; i--) {
    const secret = asTokenSecret(secrets[i] as SecretLike);
    if (!macMatches(body, mac, secret)) continue;
    const payload = decodePayload(body);
    checkExpiry(payload, options.now);
    if (payload.node !== options.node) throw new WrongNodeError('token was issued for another node');
    return { payload, key: deriveKey(tokenId, payload.salt, secret), secret };
  }
  throw new InvalidTokenSignatureError('token signature is invalid');
}

function asTokenSecret(secret: SecretLike): TokenSecret {
  return typeof secret === 'string' ? new TokenSecret(secret) : secret;
}

function splitToken(tokenId: string): { body: Buffer; mac: Buffer } {
  if (typeof tokenId !== 'string' || tokenId.length > MAX_TOKEN_CHARS || !BASE64URL_PADDED.test(tokenId)) {
    throw new MalformedTokenError('token is not base64url');
  }
  const raw = Buffer.from(tokenId, 'base64url');
  if (raw.length <= MAC_BYTES) throw new MalformedTokenError('token is too short');
  return { body: raw.subarray(0, raw.length - MAC_BYTES), mac: raw.subarray(raw.length - MAC_BYTES) };
}

function macMatches(body: Buffer, mac: Buffer, secret: TokenSecret): boolean {
  return timingSafeEqual(createHmac('sha256', secret.signingKey).update(body).digest(), mac);
}

function decodePayload(body: Buffer): TokenPayload {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new MalformedTokenError('token payload is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedTokenError('token payload is not a JSON object');
  }
  const payload = value as Record<string, unknown>;
  if (typeof payload.expires !== 'number' || typeof payload.salt !== 'string') {
    throw new MalformedTokenError('token payload lacks expires or salt');
  }
  return payload as TokenPayload;
}

function checkExpiry(payload: TokenPayload, now: number = Date.now()): void {
  if (payload.expires <= now / 1000) throw new ExpiredTokenError('token has expired');
}

/** `fxa_kid`: the 13-digit keys-changed-at (or generation) timestamp and the raw client state in base64url. */
export function formatFxaKid(timestampMs: number, clientStateHex: string): string {
  return `${String(timestampMs).padStart(13, '0')}-${Buffer.from(clientStateHex, 'hex').toString('base64url')}`;
}

export function toBase64UrlPadded(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

/**
 * JSON as Python's `json.dumps` writes it with default arguments (", " and ": " separators,
 * non-ASCII escaped), so that tokens are byte-identical to the Python token server's.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`cannot serialise ${typeof value} as JSON`);
    return typeof value === 'string' ? escapeNonAscii(text) : text;
  }
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  const fields: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) fields.push(`${escapeNonAscii(JSON.stringify(key))}: ${pythonJsonDumps(item)}`);
  }
  return `{${fields.join(', ')}}`;
}

function escapeNonAscii(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
