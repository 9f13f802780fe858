import { expect } from 'chai';
import fc from 'fast-check';
import {
  AuthError,
  ExpiredTokenError,
  InvalidClaimError,
  InvalidGenerationError,
  InvalidKeyIdError,
  InvalidSignatureError,
  MalformedCredentialsError,
  ScopeMismatchError,
  UnsupportedAlgorithmError,
  VerifierUnavailableError,
} from '../../../worker/src/auth/errors.js';
import { OAuthVerifier, type OAuthVerifierOptions, parseKeyId, scopeMatches } from '../../../worker/src/auth/oauth.js';
import { authRejection } from '../../support/auth-errors.js';
import { createSigningKey, JwksServer, mintAccessToken, OLDSYNC_SCOPE, type SigningKey } from '../../support/oauth.js';

const UID = '0123456789abcdef0123456789abcdef';

describe('OAuth verification', function () {
  this.timeout(30_000);
  let primary: SigningKey;
  let next: SigningKey;
  let stranger: SigningKey;
  let jwks: JwksServer;

  before(async () => {
    [primary, next, stranger] = await Promise.all([
      createSigningKey('20240101-aaaaaaaa'),
      createSigningKey('20240201-bbbbbbbb'),
      createSigningKey('20240101-aaaaaaaa'),
    ]);
    jwks = await JwksServer.start([primary.publicJwk]);
  });

  after(() => jwks.close());
  afterEach(() => {
    jwks.mode = 'up';
    jwks.delayMs = 0;
    jwks.keys = [primary.publicJwk];
  });

  function pinned(options: Partial<OAuthVerifierOptions> = {}): OAuthVerifier {
    return new OAuthVerifier({
      jwks: { keys: [primary.publicJwk] },
      scope: OLDSYNC_SCOPE,
      emailDomain: 'api.accounts.firefox.com',
      ...options,
    });
  }

  function remote(options: Partial<OAuthVerifierOptions> = {}): OAuthVerifier {
    return new OAuthVerifier({
      jwksUrl: jwks.url,
      scope: OLDSYNC_SCOPE,
      emailDomain: 'api.accounts.firefox.com',
      timeoutMs: 1000,
      cooldownMs: 0,
      ...options,
    });
  }

  it('verifies a valid access token and maps the identity', async () => {
    const identity = await pinned().verify(await mintAccessToken(primary));
    expect(identity.email).to.equal(`${UID}@api.accounts.firefox.com`);
    expect(identity.fxaUid).to.equal(UID);
    expect(identity.idpClaims).to.deep.equal({ generation: 1234 });
    expect(identity.scopes).to.include(OLDSYNC_SCOPE);
    expect(identity.clientId).to.equal('5882386c6d801776');
  });

  it('accepts typ at+JWT and application/at+jwt, and a token without kid', async () => {
    await pinned().verify(await mintAccessToken(primary, { typ: 'at+JWT' }));
    await pinned().verify(await mintAccessToken(primary, { typ: 'application/at+jwt' }));
    await pinned().verify(await mintAccessToken(primary, { noKid: true }));
  });

  it('rejects a wrong typ', async () => {
    for (const typ of ['JWT', 'id+jwt']) {
      const err = await authRejection(pinned().verify(await mintAccessToken(primary, { typ })));
      expect(err).to.be.instanceOf(InvalidClaimError);
      expect(err.status).to.equal('invalid-credentials');
    }
  });

  it('rejects a token without the sync scope', async () => {
    const err = await authRejection(pinned().verify(await mintAccessToken(primary, { claims: { scope: 'profile' } })));
    expect(err).to.be.instanceOf(ScopeMismatchError);
    const prefix = await mintAccessToken(primary, { claims: { scope: `${OLDSYNC_SCOPE}x` } });
    expect(await authRejection(pinned().verify(prefix))).to.be.instanceOf(ScopeMismatchError);
    await pinned().verify(await mintAccessToken(primary, { claims: { scope: 'https://identity.mozilla.com/apps' } }));
  });

  it('rejects an expired token with invalid-credentials, within the leeway it passes', async () => {
    const expired = await mintAccessToken(primary, { expiresIn: -120 });
    const err = await authRejection(pinned().verify(expired));
    expect(err).to.be.instanceOf(ExpiredTokenError);
    expect(err.status).to.equal('invalid-credentials');
    await pinned().verify(await mintAccessToken(primary, { expiresIn: -30 }));
  });

  it('requires exp unless configured not to', async () => {
    const noExp = await mintAccessToken(primary, { expiresIn: null });
    expect(await authRejection(pinned().verify(noExp))).to.be.instanceOf(InvalidClaimError);
    await pinned({ requireExp: false }).verify(noExp);
  });

  it('rejects a bad signature, a foreign key and other algorithms', async () => {
    const token = await mintAccessToken(primary);
    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = Buffer.from(s, 'base64url');
    flipped[0] = (flipped[0] as number) ^ 1;
    expect(await authRejection(pinned().verify(`${h}.${p}.${flipped.toString('base64url')}`))).to.be.instanceOf(
      InvalidSignatureError,
    );
    expect(await authRejection(pinned().verify(await mintAccessToken(stranger)))).to.be.instanceOf(
      InvalidSignatureError,
    );
    const hs = `${Buffer.from('{"alg":"HS256","typ":"at+jwt"}').toString('base64url')}.${p}.${s}`;
    expect(await authRejection(pinned().verify(hs))).to.be.instanceOf(UnsupportedAlgorithmError);
  });

  it('rejects a non-integer fxa-generation and malformed tokens', async () => {
    const bad = await mintAccessToken(primary, { claims: { 'fxa-generation': '12' } });
    expect(await authRejection(pinned().verify(bad))).to.be.instanceOf(InvalidGenerationError);
    for (const junk of ['', 'abc', 'a.b.c', 'x'.repeat(9000)]) {
      expect(await authRejection(pinned().verify(junk))).to.be.instanceOf(MalformedCredentialsError);
    }
  });

  it('checks the issuer when one is configured', async () => {
    const token = await mintAccessToken(primary, { claims: { iss: 'https://accounts.firefox.com' } });
    await pinned({ issuer: 'https://accounts.firefox.com' }).verify(token);
    expect(await authRejection(pinned({ issuer: 'https://evil.example' }).verify(token))).to.be.instanceOf(
      InvalidClaimError,
    );
  });

  describe('remote JWKS', () => {
    it('fetches the key set once and caches it', async () => {
      const v = remote();
      const before = jwks.fetches;
      const token = await mintAccessToken(primary);
      await Promise.all(Array.from({ length: 20 }, () => v.verify(token)));
      await v.verify(token);
      expect(jwks.fetches - before).to.equal(1);
    });

    it('refetches on an unknown kid (rotation)', async () => {
      const v = remote();
      await v.verify(await mintAccessToken(primary));
      const before = jwks.fetches;
      jwks.keys = [primary.publicJwk, next.publicJwk];
      const identity = await v.verify(await mintAccessToken(next));
      expect(identity.fxaUid).to.equal(UID);
      expect(jwks.fetches - before).to.equal(1);
    });

    it('does not refetch within the cooldown', async () => {
      const v = remote({ cooldownMs: 60_000 });
      await v.verify(await mintAccessToken(primary));
      jwks.keys = [primary.publicJwk, next.publicJwk];
      const err = await authRejection(v.verify(await mintAccessToken(next)));
      expect(err).to.be.instanceOf(InvalidSignatureError);
    });

    it('answers unavailable when the JWKS is down, errors, answers junk or is slow', async () => {
      const token = await mintAccessToken(primary);
      for (const mode of ['down', 'error', 'junk'] as const) {
        jwks.mode = mode;
        const err = await authRejection(remote().verify(token));
        expect(err, mode).to.be.instanceOf(VerifierUnavailableError);
        expect(err.httpStatus).to.equal(503);
      }
      jwks.mode = 'up';
      jwks.delayMs = 500;
      expect(await authRejection(remote({ timeoutMs: 100 }).verify(token))).to.be.instanceOf(VerifierUnavailableError);
    });

    it('answers unavailable when nothing listens', async () => {
      const v = remote({ jwksUrl: 'http://127.0.0.1:1/v1/jwks' });
      expect(await authRejection(v.verify(await mintAccessToken(primary)))).to.be.instanceOf(VerifierUnavailableError);
    });
  });

  it('is built from the [oauth] config section', async () => {
    const v = OAuthVerifier.fromConfig({
      jwks_url: jwks.url,
      jwks: { keys: [primary.publicJwk as Record<string, unknown>] },
      scope: OLDSYNC_SCOPE,
      email_domain: 'example.org',
      require_exp: true,
      leeway_s: 60,
      timeout_ms: 1000,
      jwks_cooldown_ms: 0,
      jwks_cache_max_age_s: 60,
      max_token_bytes: 8192,
      loadtest_mode: false,
    });
    expect((await v.verify(await mintAccessToken(primary))).email).to.equal(`${UID}@example.org`);
  });

  it('only ever throws typed errors for random input (property)', async () => {
    const v = pinned();
    const token = await mintAccessToken(primary);
    const inputArb = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc
        .array(fc.oneof(fc.base64String(), fc.constantFrom('.', ...token.split('.'))), { maxLength: 7 })
        .map((p) => p.join('')),
      fc
        .tuple(fc.jsonValue(), fc.jsonValue())
        .map(
          ([h, p]) =>
            `${Buffer.from(JSON.stringify(h) ?? '').toString('base64url')}.${Buffer.from(JSON.stringify(p) ?? '').toString('base64url')}.AAAA`,
        ),
      fc.nat(token.length - 1).map((i) => token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)),
    );
    await fc.assert(
      fc.asyncProperty(inputArb, async (input) => {
        try {
          // A flip in a segment's last character can land in base64url's unused low bits and decode to the
          // same bytes; anything that verifies must carry the original, signed claims.
          const identity = await v.verify(input);
          return JSON.stringify(identity) === JSON.stringify(await v.verify(token));
        } catch (err) {
          return err instanceof AuthError && err.status === 'invalid-credentials';
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('X-KeyID', () => {
  it('parses keys_changed_at and the client state as hex', () => {
    expect(parseKeyId('0000001234567-qqqqqqqqqqqqqqqqqqqqqg')).to.deep.equal({
      keysChangedAt: 1234567,
      clientState: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    });
    expect(parseKeyId('1234-qqo')).to.deep.equal({ keysChangedAt: 1234, clientState: 'aaaa' });
    expect(parseKeyId('1-_-8')).to.deep.equal({ keysChangedAt: 1, clientState: 'ffef' });
    expect(parseKeyId('5-')).to.deep.equal({ keysChangedAt: 5, clientState: '' });
  });

  it('rejects malformed X-KeyID values', () => {
    for (const bad of [
      '',
      '1234',
      '-qqo',
      'abc-qqo',
      '12a-qqo',
      '1234-qq=o',
      '1234-qqo=',
      '1234-q',
      '1234-qqp',
      '1234-q+o',
      `1-${'q'.repeat(24)}`,
    ]) {
      expect(() => parseKeyId(bad), bad).to.throw(InvalidKeyIdError);
    }
  });

  it('only throws InvalidKeyIdError for random input (property)', () => {
    fc.assert(
      fc.property(fc.string(), (input) => {
        try {
          parseKeyId(input);
        } catch (err) {
          return err instanceof InvalidKeyIdError;
        }
        return true;
      }),
    );
  });
});

describe('scope matching', () => {
  it('follows PyFxA: exact, URL parents, short-name prefixes, no fragments', () => {
    expect(scopeMatches(OLDSYNC_SCOPE, OLDSYNC_SCOPE)).to.equal(true);
    expect(scopeMatches('https://identity.mozilla.com/apps', OLDSYNC_SCOPE)).to.equal(true);
    expect(scopeMatches('https://identity.mozilla.com/apps#x', OLDSYNC_SCOPE)).to.equal(false);
    expect(scopeMatches('https://identity.mozilla.com/app', OLDSYNC_SCOPE)).to.equal(false);
    expect(scopeMatches('profile', 'profile:email')).to.equal(true);
    expect(scopeMatches('profile:email', 'profile')).to.equal(false);
  });
});
