import { LOADTEST_ISSUER, LOADTEST_OAUTH_KID, type LoadtestKey, signRs256Jwt } from '@tokenserver/shared';
import { generateKeyPair, loadtestIssuerKeyPair, signJws, type TestKeyPair, tamper } from './browserid-signer.js';

// Credentials for the load-test issuer, signed ahead of time: one per existing user (re-signed shortly before it
// expires), a queue of new users, and a few of each invalid kind. Requests then cost the generator no crypto.

export type AuthScheme = 'browserid' | 'oauth';
export const INVALID_KINDS = ['expired', 'wrong-audience', 'bad-signature', 'untrusted-issuer'] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

export interface Credential {
  headers: Readonly<Record<string, string>>;
  /** Milliseconds; re-sign before then. */
  expiresAt: number;
}

/** Signs credentials for `<fxaUid>@loadtest.local` (BrowserID) or `sub = fxaUid` (OAuth). */
export interface CredentialSigner {
  readonly scheme: AuthScheme;
  valid(fxaUid: string, now: number): Credential;
  invalid(kind: InvalidKind, fxaUid: string, now: number): Credential;
}

/** Credentials stay valid this long; a run longer than that re-signs them as it goes. */
const LIFETIME_MS = 3600_000;
/** Re-signed when less than this is left, so no request carries a credential about to expire. */
const RESIGN_MARGIN_MS = 120_000;
const INVALID_VARIANTS = 8;
const WRONG_AUDIENCE = 'https://wrong-audience.loadtest.invalid';
const UNTRUSTED_ISSUER = 'untrusted.loadtest.invalid';
/** An OAuth scope the server does not serve: the token's "audience" is another relying party. */
const WRONG_SCOPE = 'https://identity.mozilla.com/apps/loadtest-other';

export class BrowserIdSigner implements CredentialSigner {
  readonly scheme = 'browserid';
  private readonly issuerKey: TestKeyPair;
  private readonly userKey = generateKeyPair('DS128');
  private assertion = { text: '', expiresAt: 0 };

  constructor(
    key: LoadtestKey,
    private readonly audience: string,
  ) {
    this.issuerKey = loadtestIssuerKeyPair(key);
  }

  valid(fxaUid: string, now: number): Credential {
    const certificate = this.certificate(fxaUid, now, LOADTEST_ISSUER);
    return this.backed(certificate, this.sharedAssertion(now), now);
  }

  invalid(kind: InvalidKind, fxaUid: string, now: number): Credential {
    switch (kind) {
      case 'expired':
        return this.backed(
          this.certificate(fxaUid, now, LOADTEST_ISSUER),
          this.assertionFor(this.audience, now - LIFETIME_MS),
          now,
        );
      case 'wrong-audience':
        return this.backed(
          this.certificate(fxaUid, now, LOADTEST_ISSUER),
          this.assertionFor(WRONG_AUDIENCE, now + LIFETIME_MS),
          now,
        );
      case 'bad-signature': {
        const valid = this.valid(fxaUid, now);
        const assertion = (valid.headers.Authorization as string).slice('BrowserID '.length);
        return { ...valid, headers: { Authorization: `BrowserID ${tamper(assertion, 'assertion', 'signature')}` } };
      }
      case 'untrusted-issuer':
        return this.backed(this.certificate(fxaUid, now, UNTRUSTED_ISSUER), this.sharedAssertion(now), now);
    }
  }

  /** One assertion serves every user: it names no email, and every certificate certifies the same user key. */
  private sharedAssertion(now: number): string {
    if (this.assertion.expiresAt - now < RESIGN_MARGIN_MS) {
      this.assertion = { text: this.assertionFor(this.audience, now + LIFETIME_MS), expiresAt: now + LIFETIME_MS };
    }
    return this.assertion.text;
  }

  private assertionFor(audience: string, exp: number): string {
    return signJws({ aud: audience, exp }, this.userKey);
  }

  private certificate(fxaUid: string, now: number, issuer: string): string {
    return signJws(
      {
        iss: issuer,
        iat: now - 10_000,
        exp: now + LIFETIME_MS,
        'public-key': this.userKey.publicKey,
        principal: { email: `${fxaUid}@${LOADTEST_ISSUER}` },
        'fxa-generation': 1,
      },
      this.issuerKey,
    );
  }

  private backed(certificate: string, assertion: string, now: number): Credential {
    return { headers: { Authorization: `BrowserID ${certificate}~${assertion}` }, expiresAt: now + LIFETIME_MS };
  }
}

export class OAuthSigner implements CredentialSigner {
  readonly scheme = 'oauth';

  constructor(
    private readonly key: LoadtestKey,
    private readonly scope: string,
  ) {}

  valid(fxaUid: string, now: number): Credential {
    return this.token(fxaUid, now, {});
  }

  invalid(kind: InvalidKind, fxaUid: string, now: number): Credential {
    switch (kind) {
      case 'expired':
        // Expired for good: never worth re-signing.
        return { ...this.token(fxaUid, now - 2 * LIFETIME_MS, {}), expiresAt: Number.POSITIVE_INFINITY };
      case 'wrong-audience':
        return this.token(fxaUid, now, { scope: WRONG_SCOPE });
      case 'bad-signature': {
        const valid = this.valid(fxaUid, now);
        const jwt = (valid.headers.Authorization as string).slice('Bearer '.length);
        return { ...valid, headers: { ...valid.headers, Authorization: `Bearer ${flipLastSignatureByte(jwt)}` } };
      }
      case 'untrusted-issuer':
        return this.token(fxaUid, now, { iss: `https://${UNTRUSTED_ISSUER}` });
    }
  }

  private token(fxaUid: string, issuedAt: number, overrides: Record<string, unknown>): Credential {
    const iat = Math.floor(issuedAt / 1000);
    const claims = {
      sub: fxaUid,
      scope: this.scope,
      client_id: 'loadtest',
      iss: LOADTEST_ISSUER,
      iat,
      exp: iat + LIFETIME_MS / 1000,
      'fxa-generation': 1,
      ...overrides,
    };
    const jwt = signRs256Jwt(this.key.privateKey, { typ: 'at+jwt', kid: LOADTEST_OAUTH_KID }, claims);
    // X-KeyID: keysChangedAt 1 (not above the generation) and a client state fixed per user.
    const clientState = Buffer.from(fxaUid.slice(0, 32), 'hex').toString('base64url');
    return {
      headers: { Authorization: `Bearer ${jwt}`, 'X-KeyID': `1-${clientState}` },
      expiresAt: issuedAt + LIFETIME_MS,
    };
  }
}

function flipLastSignatureByte(jwt: string): string {
  const dot = jwt.lastIndexOf('.');
  const signature = Buffer.from(jwt.slice(dot + 1), 'base64url');
  signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 1;
  return `${jwt.slice(0, dot + 1)}${signature.toString('base64url')}`;
}

export interface SigningStats {
  /** Credentials signed before the measured run. */
  presigned: number;
  /** Credentials signed while requests were running (pool exhausted or re-signing). */
  signedDuringRun: number;
  /** Time spent signing during the run, milliseconds. */
  signingMsDuringRun: number;
}

/** The pre-signed credentials of one run: existing users by uid, a queue of new users, invalid ones by kind. */
export class CredentialPool {
  private readonly existing = new Map<string, Credential>();
  private readonly newUsers: Array<{ fxaUid: string; credential: Credential }> = [];
  private readonly invalidByKind = new Map<InvalidKind, Credential[]>();
  private running = false;
  readonly stats: SigningStats = { presigned: 0, signedDuringRun: 0, signingMsDuringRun: 0 };

  constructor(
    readonly signer: CredentialSigner,
    private readonly newUserId: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Signs everything the run is expected to need; from now on signing is counted as run-time work. */
  presign(existingUids: readonly string[], newUsers: number, withInvalid: boolean): void {
    for (const uid of existingUids) this.existingUser(uid);
    for (let i = 0; i < newUsers; i++) {
      const fxaUid = this.newUserId();
      this.newUsers.push({ fxaUid, credential: this.sign(() => this.signer.valid(fxaUid, this.now())) });
    }
    if (withInvalid) for (const kind of INVALID_KINDS) this.invalidByKind.set(kind, this.signInvalid(kind));
  }

  startRun(): void {
    this.running = true;
  }

  existingUser(fxaUid: string): Credential {
    const cached = this.existing.get(fxaUid);
    if (cached && cached.expiresAt - this.now() > RESIGN_MARGIN_MS) return cached;
    const credential = this.sign(() => this.signer.valid(fxaUid, this.now()));
    this.existing.set(fxaUid, credential);
    return credential;
  }

  newUser(): { fxaUid: string; credential: Credential } {
    const next = this.newUsers.pop();
    if (next && next.credential.expiresAt - this.now() > RESIGN_MARGIN_MS) return next;
    const fxaUid = next?.fxaUid ?? this.newUserId();
    return { fxaUid, credential: this.sign(() => this.signer.valid(fxaUid, this.now())) };
  }

  invalid(kind: InvalidKind, pick: number): Credential {
    let variants = this.invalidByKind.get(kind);
    if (!variants || (variants[0] as Credential).expiresAt - this.now() < RESIGN_MARGIN_MS) {
      variants = this.signInvalid(kind);
      this.invalidByKind.set(kind, variants);
    }
    return variants[pick % variants.length] as Credential;
  }

  private signInvalid(kind: InvalidKind): Credential[] {
    return Array.from({ length: INVALID_VARIANTS }, () => {
      const fxaUid = this.newUserId();
      return this.sign(() => this.signer.invalid(kind, fxaUid, this.now()));
    });
  }

  private sign(make: () => Credential): Credential {
    if (!this.running) {
      this.stats.presigned++;
      return make();
    }
    const start = performance.now();
    const credential = make();
    this.stats.signedDuringRun++;
    this.stats.signingMsDuringRun += performance.now() - start;
    return credential;
  }
}
