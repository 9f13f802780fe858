import { type NodeSecrets, type TokenPayload, verifyToken } from '@tokenserver/shared';
import type { Expectation } from './scenarios.js';

// Every answer is checked. A 200 must carry a token a service node would accept: with the token secrets at hand
// (same host), its MAC, expiry and node, and the Hawk key derived from it; without them, its structure. A request
// expected to fail must fail with its status and error string.

const MAC_BYTES = 32;
const TOKEN_FIELDS = ['id', 'key', 'api_endpoint', 'hashalg'] as const;

export type TokenCheck = 'signature' | 'structure';

/** Undefined when the answer is what was expected; else why not, short and stable enough to group by. */
export type AnswerCheck = (expect: Expectation, status: number, body: string) => string | undefined;

export function answerChecker(secrets?: NodeSecrets): { check: AnswerCheck; tokenCheck: TokenCheck } {
  const readToken = secrets ? signedTokenReader(secrets) : structuralTokenReader;
  const check: AnswerCheck = (expect, status, body) => {
    if (status !== expect.status) return `expected ${expect.status}, got ${status}${errorStatusSuffix(body)}`;
    const json = parseObject(body);
    if (!json) return `${status} without a JSON object body`;
    if (expect.status !== 200) {
      return json.status === expect.error ? undefined : `expected 401 ${expect.error}, got 401 ${String(json.status)}`;
    }
    for (const field of TOKEN_FIELDS) if (typeof json[field] !== 'string') return `200 without a string "${field}"`;
    if (typeof json.uid !== 'number' || typeof json.duration !== 'number') return '200 without a numeric uid/duration';
    return readToken(json.id as string, json.key as string, json.uid);
  };
  return { check, tokenCheck: secrets ? 'signature' : 'structure' };
}

/**
 * A 503 seen where the server may turn load away (runLoad's `acceptShedding`): expected if it tells the client when
 * to come back, with a Retry-After of a positive whole number of seconds.
 */
export function checkShed(retryAfter: string | undefined): string | undefined {
  return /^[1-9][0-9]*$/.test(retryAfter ?? '') ? undefined : '503 without a valid Retry-After';
}

/** Checks the token as a service node does, and that the answer's key is the one derived from it. */
function signedTokenReader(secrets: NodeSecrets): (id: string, key: string, uid: number) => string | undefined {
  return (id, key, uid) => {
    const payload = decodeTokenPayload(id);
    if (typeof payload === 'string') return payload;
    try {
      const verified = verifyToken(id, secrets.get(payload.node), { node: payload.node });
      if (verified.key !== key) return 'token key does not match the derived key';
    } catch (err) {
      return `token rejected: ${(err as { code?: string }).code ?? (err as Error).message}`;
    }
    return payload.uid === uid ? undefined : 'token uid differs from the answer uid';
  };
}

function structuralTokenReader(id: string, key: string, uid: number): string | undefined {
  const payload = decodeTokenPayload(id);
  if (typeof payload === 'string') return payload;
  if (payload.expires * 1000 <= Date.now()) return 'token already expired';
  if (key.length < 40) return 'token key is too short';
  return payload.uid === uid ? undefined : 'token uid differs from the answer uid';
}

/** The signed payload of a tokenlib token, or why it is not one. */
function decodeTokenPayload(id: string): TokenPayload | string {
  const raw = Buffer.from(id, 'base64url');
  if (raw.length <= MAC_BYTES) return 'token is too short';
  const payload = parseObject(raw.subarray(0, raw.length - MAC_BYTES).toString('utf8'));
  if (!payload) return 'token payload is not JSON';
  if (typeof payload.uid !== 'number' || typeof payload.node !== 'string' || typeof payload.expires !== 'number') {
    return 'token payload lacks uid, node or expires';
  }
  return payload as TokenPayload;
}

/** The JSON object `text` holds, or undefined. */
export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function errorStatusSuffix(body: string): string {
  const status = parseObject(body)?.status;
  return typeof status === 'string' ? ` ${status}` : '';
}
