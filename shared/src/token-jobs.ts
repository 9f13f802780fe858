// The token server's job kinds and their bodies: the one definition used by the web front (which
// sends them) and the workers (which run them). Bodies are JSON; the broker never looks inside.

export const TokenJob = {
  /** Body: VerifyBrowserIdRequest. Answer: VerifyVerdict. */
  verifyBrowserId: 'verify-browserid',
  /** Body: VerifyOAuthRequest. Answer: VerifyVerdict. */
  verifyOAuth: 'verify-oauth',
  /** Body: SignTokenRequest. Answer: SignTokenAnswer. */
  signToken: 'sign-token',
  /** Body: VerifyEventRequest. Answer: VerifyEventVerdict. */
  verifyEvent: 'verify-event',
} as const;
export type TokenJobKind = (typeof TokenJob)[keyof typeof TokenJob];

export interface VerifyBrowserIdRequest {
  assertion: string;
}

export interface VerifyOAuthRequest {
  token: string;
  /** The raw `X-KeyID` header, parsed by the worker. */
  keyId?: string;
}

/** Who the credential proves the caller to be, with the account state it claims. */
export interface VerifiedIdentity {
  email: string;
  fxaUid: string;
  generation?: number;
  keysChangedAt?: number;
  /** From X-KeyID (OAuth), hex. */
  clientState?: string;
  /** BrowserID `fxa-deviceId`. */
  deviceId?: string;
}

/** A verification's outcome. A rejected credential is a normal answer, not a failed job. */
export type VerifyVerdict =
  | { ok: true; identity: VerifiedIdentity }
  | { ok: false; status: VerifyFailureStatus; code: string; message: string };

export type VerifyFailureStatus = 'invalid-credentials' | 'invalid-timestamp' | 'invalid-generation' | 'unavailable';

export interface SignTokenRequest {
  uid: number;
  node: string;
  fxaUid: string;
  fxaKid: string;
  deviceId?: string;
  /** `?duration=` as the client sent it; the worker decides whether it applies. */
  requestedDuration?: string;
}

export interface SignTokenAnswer {
  id: string;
  key: string;
  duration: number;
  hashedFxaUid: string;
}

/** The bearer JWT of an FxA security-event webhook call. */
export interface VerifyEventRequest {
  token: string;
}

/**
 * What an account event asks of the token server. `generation`: the account's generation is now at least this
 * (a password change); credentials claiming an older one are refused. `retire`: the account was deleted.
 */
export type AccountChange = { kind: 'generation'; generation: number } | { kind: 'retire' };

export interface AccountEvent {
  /** `<sub>@<[oauth] email_domain>`, as users are stored. */
  email: string;
  fxaUid: string;
  /** The recognised events of the token, in a fixed order; unknown event types are left out. */
  changes: AccountChange[];
}

export type VerifyEventVerdict =
  | { ok: true; event: AccountEvent }
  | { ok: false; status: 'invalid-credentials' | 'unavailable'; code: string; message: string };

export function encodeJobBody(value: object): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Parses a job body or answer as a JSON object; throws SyntaxError/TypeError otherwise. */
export function decodeJobBody<T>(body: Buffer): T {
  const value: unknown = JSON.parse(body.toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError('job body must be a JSON object');
  return value as T;
}
