import { createPublicKey, type KeyObject } from 'node:crypto';
import { LOADTEST_ISSUER, LOADTEST_OAUTH_KID, type OAuthConfig } from '@tokenserver/shared';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import { decodeBase64Url } from './base64url.js';
import {
  type AuthError,
  ExpiredTokenError,
  InvalidClaimError,
  InvalidKeyIdError,
  InvalidSignatureError,
  MalformedCredentialsError,
  ScopeMismatchError,
  UnsupportedAlgorithmError,
  VerifierUnavailableError,
} from './errors.js';
import { type FxaClaims, readFxaClaims } from './fxa-claims.js';
import type { KeyFetchStats } from './key-fetch-stats.js';

// FxA OAuth access tokens: RS256 JWTs with `typ: at+jwt`, verified with jose against pinned
// keys or a remote JWKS (cached; an unknown `kid` triggers a refetch, rate-limited by the cooldown).

export interface OAuthVerifierOptions {
  /** Pinned keys; when given, jwksUrl is not used. */
  jwks?: JSONWebKeySet;
  jwksUrl?: string;
  /** The scope that must be granted (scopes are space-separated in the token). */
  scope: string;
  /** Users are `<sub>@<emailDomain>`. */
  emailDomain: string;
  /** When set, `iss` must equal it. */
  issuer?: string;
  requireExp?: boolean;
  clockToleranceS?: number;
  timeoutMs?: number;
  cooldownMs?: number;
  cacheMaxAgeMs?: number;
  maxTokenBytes?: number;
  /** loadtest_mode: also accept tokens with kid `loadtest-local` and iss `loadtest.local` signed by this key. */
  loadtestKey?: { publicJwk: { kty: 'RSA'; n: string; e: string } };
  /** Where JWKS fetches are counted. */
  stats?: KeyFetchStats;
}

export interface OAuthIdentity {
  /** `<sub>@<email_domain>`. */
  email: string;
  /** The token's `sub`. */
  fxaUid: string;
  clientId?: string;
  /** Granted scopes. */
  scopes: readonly string[];
  /** `exp`, unix seconds, when present. */
  expiresAt?: number;
  /** The validated `fxa-*` claims (OAuth tokens carry only `fxa-generation`). */
  idpClaims: FxaClaims;
}

export interface KeyId {
  /** Milliseconds. */
  keysChangedAt: number;
  /** Hex, as stored and compared with X-Client-State. */
  clientState: string;
}

const SUBJECT = /^[A-Za-z0-9._-]{1,255}$/;
const UNAVAILABLE_CODES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JOSE_GENERIC', 'ERR_JWKS_INVALID', 'ERR_JWK_INVALID']);

type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

export class OAuthVerifier {
  private readonly keys: JWTVerifyGetKey;
  private readonly requiredClaims: string[];
  private readonly loadtestKey: KeyObject | undefined;

  constructor(private readonly options: OAuthVerifierOptions) {
    this.loadtestKey = options.loadtestKey && createPublicKey({ key: options.loadtestKey.publicJwk, format: 'jwk' });
    if (options.jwks) {
      this.keys = createLocalJWKSet(options.jwks);
    } else if (options.jwksUrl) {
      const remote = createRemoteJWKSet(new URL(options.jwksUrl), {
        timeoutDuration: options.timeoutMs ?? 5000,
        cooldownDuration: options.cooldownMs ?? 30_000,
        cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
        [customFetch]: countingFetch(options.stats),
      });
      this.keys = options.stats ? countingCacheHits(remote, options.stats) : remote;
    } else {
      throw new TypeError('OAuthVerifier needs jwks or jwksUrl');
    }
    this.requiredClaims = options.requireExp === false ? ['sub', 'scope'] : ['sub', 'scope', 'exp'];
  }

  static fromConfig(
    config: OAuthConfig,
    extra: Pick<OAuthVerifierOptions, 'loadtestKey' | 'stats'> = {},
  ): OAuthVerifier {
    return new OAuthVerifier({
      jwks: config.jwks as JSONWebKeySet | undefined,
      jwksUrl: config.jwks_url,
      scope: config.scope,
      emailDomain: config.email_domain,
      issuer: config.issuer,
      requireExp: config.require_exp,
      clockToleranceS: config.leeway_s,
      timeoutMs: config.timeout_ms,
      cooldownMs: config.jwks_cooldown_ms,
      cacheMaxAgeMs: config.jwks_cache_max_age_s * 1000,
      maxTokenBytes: config.max_token_bytes,
      loadtestKey: extra.loadtestKey,
      stats: extra.stats,
    });
  }

  /** Verifies an access token (the Bearer credential); throws only AuthError subclasses. */
  async verify(token: string, options: { now?: number } = {}): Promise<OAuthIdentity> {
    if (typeof token !== 'string' || token.length === 0 || token.length > (this.options.maxTokenBytes ?? 8192)) {
      throw new MalformedCredentialsError('access token is empty or too long');
    }
    let payload: JWTPayload;
    try {
      const checks: JWTVerifyOptions = {
        algorithms: ['RS256'],
        typ: 'at+jwt',
        issuer: this.options.issuer,
        clockTolerance: this.options.clockToleranceS ?? 60,
        requiredClaims: this.requiredClaims,
        currentDate: options.now === undefined ? undefined : new Date(options.now),
      };
      if (decodeProtectedHeader(token).kid === LOADTEST_OAUTH_KID) {
        // Decided before any JWKS lookup, so a load-test token never makes a worker fetch keys.
        if (!this.loadtestKey) throw new InvalidSignatureError('load-test tokens are accepted only in loadtest_mode');
        ({ payload } = await jwtVerify(token, this.loadtestKey, { ...checks, issuer: LOADTEST_ISSUER }));
      } else {
        ({ payload } = await jwtVerify(token, this.keys, checks));
      }
    } catch (err) {
      if (err instanceof InvalidSignatureError) throw err;
      throw mapJoseError(err);
    }
    return this.identity(payload);
  }

  private identity(payload: JWTPayload): OAuthIdentity {
    const sub = payload.sub;
    if (typeof sub !== 'string' || !SUBJECT.test(sub)) throw new MalformedCredentialsError('invalid sub claim');
    if (typeof payload.scope !== 'string') throw new MalformedCredentialsError('invalid scope claim');
    const scopes = payload.scope.split(/\s+/).filter((scope) => scope.length > 0);
    if (!scopes.some((granted) => scopeMatches(granted, this.options.scope))) {
      throw new ScopeMismatchError(`scope ${this.options.scope} not granted`);
    }
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : undefined;
    return {
      email: `${sub}@${this.options.emailDomain}`,
      fxaUid: sub,
      clientId,
      scopes,
      expiresAt: payload.exp,
      idpClaims: readFxaClaims({ 'fxa-generation': payload['fxa-generation'] }),
    };
  }
}

/**
 * PyFxA's rule: a granted URL scope covers itself and the URLs below it (unless it has a
 * #fragment); a granted short scope covers `<scope>:<sub-scope>`.
 */
export function scopeMatches(granted: string, required: string): boolean {
  if (granted === required) return true;
  if (/^https?:\/\//.test(granted)) return !granted.includes('#') && required.startsWith(`${granted}/`);
  return required.startsWith(`${granted}:`);
}

/** Parses X-KeyID: `<keysChangedAt>-<base64url, unpadded, raw client-state bytes>`. */
export function parseKeyId(header: string): KeyId {
  const dash = typeof header === 'string' ? header.indexOf('-') : -1;
  const timestamp = dash > 0 ? header.slice(0, dash) : '';
  if (!/^\d{1,15}$/.test(timestamp)) throw new InvalidKeyIdError('X-KeyID has no integer keysChangedAt');
  const encoded = header.slice(dash + 1);
  const bytes = decodeBase64Url(encoded, { allowPadding: false });
  if (!bytes || bytes.toString('base64url') !== encoded)
    throw new InvalidKeyIdError('X-KeyID client state is not base64url');
  if (bytes.length > 16) throw new InvalidKeyIdError('X-KeyID client state is too long');
  return { keysChangedAt: Number(timestamp), clientState: bytes.toString('hex') };
}

export function mapJoseError(err: unknown): AuthError {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const options = { cause: err };
  if (typeof code !== 'string') {
    // fetch() failing (DNS, refused connection, TLS) surfaces as a TypeError from undici.
    if (err instanceof TypeError && message === 'fetch failed') {
      return new VerifierUnavailableError('JWKS fetch failed', options);
    }
    return new MalformedCredentialsError(`access token rejected: ${message}`, options);
  }
  if (UNAVAILABLE_CODES.has(code)) return new VerifierUnavailableError(`JWKS unavailable: ${message}`, options);
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new ExpiredTokenError('access token has expired', options);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new InvalidSignatureError('invalid signature', options);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new UnsupportedAlgorithmError(message, options);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return new InvalidClaimError(message, options);
    default:
      return new MalformedCredentialsError(`access token rejected: ${message}`, options);
  }
}

/**
 * The remote key set, counting lookups answered from its cache: the cached set was fresh, the key was found, and
 * no download started meanwhile (a lookup that waited for one counts as a fetch, not a hit).
 */
function countingCacheHits(remote: RemoteKeySet, stats: KeyFetchStats): JWTVerifyGetKey {
  return async (header, token) => {
    const fresh = remote.fresh;
    const fetchesBefore = stats.jwksFetches;
    const key = await remote(header, token);
    if (fresh && stats.jwksFetches === fetchesBefore) stats.jwksCacheHits++;
    return key;
  };
}

/** fetch, counting JWKS downloads and their failures when `stats` is given. */
function countingFetch(stats: KeyFetchStats | undefined): typeof fetch {
  if (!stats) return fetch;
  return async (...args) => {
    stats.jwksFetches++;
    try {
      const response = await fetch(...args);
      if (!response.ok) stats.jwksFetchFailures++;
      return response;
    } catch (err) {
      stats.jwksFetchFailures++;
      throw err;
    }
  };
}
