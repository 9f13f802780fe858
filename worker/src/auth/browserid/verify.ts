import { type BrowserIdConfig, LOADTEST_ISSUER } from '@tokenserver/shared';
import {
  AudienceMismatchError,
  ExpiredAssertionError,
  InvalidSignatureError,
  MalformedCredentialsError,
  UnsupportedCertChainError,
  UntrustedIssuerError,
} from '../errors.js';
import { type FxaClaims, readFxaClaims } from '../fxa-claims.js';
import type { KeyFetchStats } from '../key-fetch-stats.js';
import { verifyJwsSignature } from './algorithms.js';
import { type AssertionLimits, type JwsSegment, parseBackedAssertion } from './assertion.js';
import { AudienceMatcher } from './audience.js';
import { IdpKeyResolver } from './idp.js';
import { KeyCache, type VerificationKey } from './keys.js';

// Local BrowserID verification, cheapest checks first so that junk costs no crypto and no
// network: parse, audience, chain length, expiry, email, issuer trust, then the signatures.

export interface BrowserIdVerifierOptions {
  /** Accepted audiences (see AudienceMatcher). */
  audiences: readonly string[];
  /** Issuers trusted to certify any email domain. */
  trustedIssuers?: readonly string[];
  /** When not empty, the only issuers accepted. */
  allowedIssuers?: readonly string[];
  /** Clock leeway for exp and iat, in milliseconds. */
  leewayMs?: number;
  limits?: AssertionLimits;
  idp: IdpKeyResolver;
  /** Most distinct user keys kept imported. */
  keyCacheSize?: number;
  /** loadtest_mode: the key that certifies `@loadtest.local` emails for the issuer `loadtest.local`. */
  loadtestKey?: VerificationKey;
}

export interface VerifyOptions {
  /** Current time in milliseconds, for tests. */
  now?: number;
}

export interface BrowserIdIdentity {
  /** The certified email, e.g. `<fxa_uid>@api.accounts.firefox.com`. */
  email: string;
  /** The email's local part (the FxA uid for FxA certificates). */
  fxaUid: string;
  /** The certificate's issuer (lower case). */
  issuer: string;
  audience: string;
  /** The assertion's `exp`, milliseconds. */
  expiresAt: number;
  /** The validated `fxa-*` claims. */
  idpClaims: FxaClaims;
  /** Every non-reserved claim of the certificate, with extra `principal` fields merged in. */
  rawIdpClaims: Readonly<Record<string, unknown>>;
}

const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'public-key', 'pubkey', 'principal']);
const VALID_EMAIL = /^([\w!#$%&'*+/=?^`{|}~.-]+)@([\w.-]+(:[0-9]{1,5})?)$/;

export class BrowserIdVerifier {
  private readonly audiences: AudienceMatcher;
  private readonly trustedIssuers: ReadonlySet<string>;
  private readonly allowedIssuers: ReadonlySet<string>;
  private readonly leewayMs: number;
  private readonly userKeys: KeyCache;
  readonly idp: IdpKeyResolver;

  constructor(private readonly options: BrowserIdVerifierOptions) {
    this.audiences = new AudienceMatcher(options.audiences);
    this.trustedIssuers = new Set((options.trustedIssuers ?? []).map((issuer) => issuer.toLowerCase()));
    this.allowedIssuers = new Set((options.allowedIssuers ?? []).map((issuer) => issuer.toLowerCase()));
    this.leewayMs = options.leewayMs ?? 60_000;
    this.userKeys = new KeyCache(options.keyCacheSize ?? 10_000);
    this.idp = options.idp;
  }

  static fromConfig(
    config: BrowserIdConfig,
    extra: { loadtestKey?: VerificationKey; stats?: KeyFetchStats } = {},
  ): BrowserIdVerifier {
    const idp = new IdpKeyResolver({
      stats: extra.stats,
      issuerUrls: config.issuer_urls,
      timeoutMs: config.timeout_ms,
      cacheTtlMs: config.cache_ttl_s * 1000,
      negativeCacheTtlMs: config.negative_cache_ttl_s * 1000,
      maxEntries: config.cache_max_entries,
      maxDelegations: config.max_delegations,
    });
    return new BrowserIdVerifier({
      audiences: config.audiences,
      trustedIssuers: config.trusted_issuers,
      allowedIssuers: config.allowed_issuers,
      leewayMs: config.leeway_s * 1000,
      limits: { maxBytes: config.max_assertion_bytes, maxCertificates: 4 },
      idp,
      loadtestKey: extra.loadtestKey,
    });
  }

  /** Verifies a backed assertion; throws only AuthError subclasses. */
  async verify(backedAssertion: string, options: VerifyOptions = {}): Promise<BrowserIdIdentity> {
    const now = options.now ?? Date.now();
    const { certificates, assertion } = parseBackedAssertion(backedAssertion, this.options.limits);
    const audience = assertion.payload.aud;
    if (!this.audiences.matches(audience)) throw new AudienceMismatchError('audience mismatch');
    if (certificates.length !== 1) throw new UnsupportedCertChainError('certificate chains are not supported');
    const certificate = certificates[0] as JwsSegment;
    const expiresAt = this.checkTimes(assertion, now, 'assertion');
    this.checkTimes(certificate, now, 'certificate');
    const { email, local, domain } = readEmail(certificate.payload);
    const issuer = readString(certificate.payload.iss, 'iss').toLowerCase();
    const issuerKey = await this.trustedIssuerKey(issuer, domain);
    if (!verifyJwsSignature(certificate, issuerKey)) throw new InvalidSignatureError('bad signature in chain');
    const userKey = this.userKeys.import(certificate.payload['public-key']);
    if (!verifyJwsSignature(assertion, userKey)) throw new InvalidSignatureError('invalid signature on assertion');

    const rawIdpClaims = extraClaims(certificate.payload);
    return { email, fxaUid: local, issuer, audience, expiresAt, idpClaims: readFxaClaims(rawIdpClaims), rawIdpClaims };
  }

  /** Returns `exp`; rejects a piece expired or issued in the future beyond the leeway. */
  private checkTimes(segment: JwsSegment, now: number, what: string): number {
    const exp = segment.payload.exp;
    const iat = segment.payload.iat;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new MalformedCredentialsError(`${what} has no exp`);
    if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) {
      throw new MalformedCredentialsError(`${what} has an invalid iat`);
    }
    if (exp + this.leewayMs < now) throw new ExpiredAssertionError(`expired ${what}`);
    if (iat !== undefined && iat - this.leewayMs > now) {
      throw new ExpiredAssertionError(`${what} issued later than verification date`);
    }
    return exp;
  }

  /** The key that must have signed the certificate, once the issuer is trusted for the email's domain. */
  private async trustedIssuerKey(issuer: string, emailDomain: string): Promise<VerificationKey> {
    // loadtest.local is reserved: never fetched, only for its own emails, and only in loadtest_mode.
    if (issuer === LOADTEST_ISSUER) {
      if (!this.options.loadtestKey)
        throw new UntrustedIssuerError(`${LOADTEST_ISSUER} is accepted only in loadtest_mode`);
      if (emailDomain !== LOADTEST_ISSUER)
        throw new UntrustedIssuerError(`${LOADTEST_ISSUER} certifies only its own emails`);
      return this.options.loadtestKey;
    }
    if (emailDomain === LOADTEST_ISSUER) throw new UntrustedIssuerError(`only ${LOADTEST_ISSUER} certifies its emails`);
    await this.checkIssuer(issuer, emailDomain);
    return this.idp.issuerKey(issuer);
  }

  private async checkIssuer(issuer: string, emailDomain: string): Promise<void> {
    if (this.allowedIssuers.size > 0 && !this.allowedIssuers.has(issuer)) {
      throw new UntrustedIssuerError('issuer not allowed');
    }
    if (issuer === emailDomain || this.trustedIssuers.has(issuer)) return;
    if (await this.idp.delegatesTo(emailDomain, issuer)) return;
    throw new UntrustedIssuerError(`untrusted issuer ${issuer} for ${emailDomain}`);
  }
}

function readEmail(payload: Readonly<Record<string, unknown>>): { email: string; local: string; domain: string } {
  const principal = payload.principal;
  const candidate =
    typeof principal === 'object' && principal !== null && 'email' in principal
      ? (principal as { email: unknown }).email
      : payload.sub;
  const email = readString(candidate, 'principal.email');
  const match = VALID_EMAIL.exec(email);
  if (!match) throw new MalformedCredentialsError('invalid email in assertion');
  return { email, local: match[1] as string, domain: (match[2] as string).toLowerCase() };
}

function readString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw new MalformedCredentialsError(`missing or invalid ${name}`);
  }
  return value;
}

function extraClaims(payload: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(payload)) if (!RESERVED_CLAIMS.has(name)) setClaim(claims, name, value);
  const principal = payload.principal;
  if (typeof principal === 'object' && principal !== null && !Array.isArray(principal)) {
    for (const [name, value] of Object.entries(principal)) if (name !== 'email') setClaim(claims, name, value);
  }
  return claims;
}

/** Defines the claim as an own property, so a `__proto__` claim cannot change the object's prototype. */
function setClaim(claims: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(claims, name, { value, enumerable: true, writable: true, configurable: true });
}
