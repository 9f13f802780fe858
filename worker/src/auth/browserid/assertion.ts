import { decodeBase64Url } from '../base64url.js';
import { MalformedCredentialsError } from '../errors.js';

// Backed assertions: `cert~...~assertion`, each piece a compact JWS whose segments are
// base64url (padding optional). Parsing decodes everything but verifies nothing, and
// throws only MalformedCredentialsError.

export interface JwsSegment {
  readonly header: Readonly<Record<string, unknown>> & { readonly alg: string };
  readonly payload: Readonly<Record<string, unknown>>;
  readonly signature: Buffer;
  /** The bytes the signature covers: the encoded header and payload joined by a dot, as received. */
  readonly signingInput: Buffer;
}

export interface BackedAssertion {
  readonly certificates: readonly JwsSegment[];
  readonly assertion: JwsSegment;
}

export interface AssertionLimits {
  /** Longest accepted input, in bytes. */
  maxBytes: number;
  /** Most certificates parsed; verification accepts a single one. */
  maxCertificates: number;
}

export const DEFAULT_ASSERTION_LIMITS: AssertionLimits = { maxBytes: 16384, maxCertificates: 4 };
const ASSERTION_CHARS = /^[A-Za-z0-9_\-=.~]+$/;

export function parseBackedAssertion(
  input: unknown,
  limits: AssertionLimits = DEFAULT_ASSERTION_LIMITS,
): BackedAssertion {
  if (typeof input !== 'string' || input.length === 0) throw malformed('assertion is empty');
  if (input.length > limits.maxBytes) throw malformed('assertion is too long');
  if (!ASSERTION_CHARS.test(input)) throw malformed('assertion has characters outside base64url');
  const pieces = input.split('~');
  if (pieces.length < 2) throw malformed('assertion has no certificate');
  if (pieces.length - 1 > limits.maxCertificates) throw malformed('assertion has too many certificates');
  const assertion = decodeJws(pieces.pop() as string);
  return { certificates: pieces.map(decodeJws), assertion };
}

export function decodeJws(text: string): JwsSegment {
  const parts = text.split('.');
  if (parts.length !== 3) throw malformed('a signed object must have three parts');
  const [headerB64, payloadB64, signatureB64] = parts as [string, string, string];
  const header = decodeJsonObject(headerB64, 'header');
  if (typeof header.alg !== 'string') throw malformed('JWS header has no alg');
  return {
    header: header as JwsSegment['header'],
    payload: decodeJsonObject(payloadB64, 'payload'),
    signature: decodeSegment(signatureB64, 'signature'),
    signingInput: Buffer.from(`${headerB64}.${payloadB64}`, 'latin1'),
  };
}

function decodeSegment(text: string, what: string): Buffer {
  const bytes = decodeBase64Url(text);
  if (!bytes) throw malformed(`JWS ${what} is not base64url`);
  return bytes;
}

function decodeJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decodeSegment(text, what).toString('utf8'));
  } catch (err) {
    if (err instanceof MalformedCredentialsError) throw err;
    throw malformed(`JWS ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`JWS ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function malformed(message: string): MalformedCredentialsError {
  return new MalformedCredentialsError(message);
}
