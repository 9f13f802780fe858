import { expect } from 'chai';
import fc from 'fast-check';
import { parseBackedAssertion } from '../../worker/src/auth/browserid/assertion.js';
import { importBrowserIdKey } from '../../worker/src/auth/browserid/keys.js';
import {
  AuthError,
  InvalidKeyIdError,
  MalformedCredentialsError,
  UnsupportedAlgorithmError,
} from '../../worker/src/auth/errors.js';
import { OAuthVerifier, parseKeyId } from '../../worker/src/auth/oauth.js';
import { ALL_ALGS, keyPair, makeBackedAssertion } from '../support/browserid.js';
import {
  encodedJsonSegment,
  fuzz,
  fuzzAsync,
  mutatedToken,
  tokenLikeText,
  typedOutcome,
  typedOutcomeAsync,
} from '../support/fuzz.js';
import { createSigningKey, mintAccessToken, OLDSYNC_SCOPE } from '../support/oauth.js';

// The credential parsers against random and corrupted inputs: BrowserID backed assertions, OAuth access tokens up
// to and including the signature check (a pinned local JWKS, so no network), and X-KeyID. Only the typed auth
// errors may escape, and no input may take long.

describe('fuzz: credential parsers', function () {
  this.timeout(0);

  describe('BrowserID parseBackedAssertion', () => {
    const now = Date.now();
    const valid = fc.constantFrom(
      ...ALL_ALGS.map((alg) => makeBackedAssertion({ issuerKey: keyPair(alg, 'issuer'), now })),
      makeBackedAssertion({ now, extraCertificates: [makeBackedAssertion({ now }).split('~')[0] as string] }),
    );
    const inputs = fc.oneof(
      fc.string({ maxLength: 200 }),
      tokenLikeText('.~='),
      mutatedToken(valid, '.~'),
      fc
        .tuple(fc.array(encodedJsonSegment, { minLength: 3, maxLength: 6 }))
        .map(([segments]) => `${segments[0]}.${segments[1]}.sig~${segments.slice(2).join('.')}`.slice(0, 20_000)),
    );

    it('throws only MalformedCredentialsError; what it accepts is a chain ending in an assertion', () => {
      fuzz(
        inputs,
        (input) => {
          const parsed = typedOutcome([MalformedCredentialsError], () => parseBackedAssertion(input));
          if (!parsed) return;
          expect(parsed.certificates.length).to.be.within(1, 4);
          expect(parsed.assertion.header.alg).to.be.a('string');
        },
        3,
      );
    });
  });

  describe('BrowserID public-key objects (importBrowserIdKey)', () => {
    const decimal = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 2100n }).map(String),
      fc.string({ unit: fc.constantFrom(...'0123456789-+ e.x'), maxLength: 800 }),
    );
    const hex = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 2100n }).map((n) => n.toString(16)),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFx- '), maxLength: 600 }),
    );
    const field = (text: fc.Arbitrary<string>) => fc.oneof(text, fc.anything());
    const valid = ALL_ALGS.map((alg) => keyPair(alg, 'issuer').publicKey as Record<string, unknown>);
    const keyObjects = fc.oneof(
      fc.anything(),
      fc.record({ algorithm: fc.constantFrom('RS', 'DS', 'EC', ''), n: field(decimal), e: field(decimal) }),
      fc.record({ algorithm: fc.constant('DS'), p: field(hex), q: field(hex), g: field(hex), y: field(hex) }),
      fc
        .tuple(fc.constantFrom(...valid), fc.constantFrom('n', 'e', 'p', 'q', 'g', 'y'), fc.oneof(decimal, hex))
        .map(([key, name, value]) => ({ ...key, [name]: value })),
    );

    it('throws only MalformedCredentialsError or UnsupportedAlgorithmError; an imported key has a known alg', () => {
      fuzz(keyObjects, (input) => {
        const key = typedOutcome([MalformedCredentialsError, UnsupportedAlgorithmError], () =>
          importBrowserIdKey(input),
        );
        if (key) expect(['RS64', 'RS128', 'RS256', 'DS128', 'DS256']).to.include(key.alg);
      });
    });
  });

  describe('OAuth access tokens against a pinned JWKS', () => {
    let verifier: OAuthVerifier;
    let validTokens: string[];

    before(async () => {
      const key = await createSigningKey('fuzz-key');
      verifier = new OAuthVerifier({ jwks: { keys: [key.publicJwk] }, scope: OLDSYNC_SCOPE, emailDomain: 'fuzz.test' });
      validTokens = await Promise.all([
        mintAccessToken(key),
        mintAccessToken(key, { claims: { scope: 'profile' } }),
        mintAccessToken(key, { noKid: true }),
        mintAccessToken(key, { expiresIn: null }),
      ]);
      for (const token of validTokens.slice(0, 1)) expect((await verifier.verify(token)).fxaUid).to.be.a('string');
    });

    it('rejects corrupted tokens with AuthError subclasses only', async () => {
      const tokens = fc.oneof(
        fc.string({ maxLength: 200 }),
        tokenLikeText('.', 400),
        mutatedToken(fc.constantFrom(...validTokens), '.'),
        fc
          .tuple(encodedJsonSegment, encodedJsonSegment, tokenLikeText('', 40))
          .map(([header, payload, signature]) => `${header}.${payload}.${signature}`.slice(0, 20_000)),
      );
      await fuzzAsync(
        tokens,
        async (token) => {
          const identity = await typedOutcomeAsync([AuthError], () => verifier.verify(token));
          if (identity) expect(validTokens).to.include(canonicalSegments(token));
        },
        2,
      );
    });
  });

  describe('X-KeyID', () => {
    const wellFormed = fc
      .tuple(fc.nat({ max: 2 ** 48 }), fc.uint8Array({ maxLength: 16 }))
      .map(([at, bytes]) => `${at}-${Buffer.from(bytes).toString('base64url')}`);

    it('throws only InvalidKeyIdError; an accepted header reads back as it was written', () => {
      fuzz(
        fc.oneof(fc.string({ maxLength: 80 }), tokenLikeText('-=', 60), mutatedToken(wellFormed, '-'), wellFormed),
        (header) => {
          const keyId = typedOutcome([InvalidKeyIdError], () => parseKeyId(header));
          if (!keyId) return;
          const [at, encoded] = [header.slice(0, header.indexOf('-')), header.slice(header.indexOf('-') + 1)];
          expect(keyId.keysChangedAt).to.equal(Number(at));
          expect(keyId.clientState).to.equal(Buffer.from(encoded, 'base64url').toString('hex'));
        },
        2,
      );
    });
  });
});

/**
 * The token with each segment re-encoded. A base64url segment whose length is not a multiple of 4 has unused low
 * bits in its last character, which decoders (jose, Buffer) ignore: `…K2w` and `…K25` are the same signature. Such a
 * twin of a valid token is the same token, not a forgery.
 */
function canonicalSegments(token: string): string {
  return token
    .split('.')
    .map((segment) => Buffer.from(segment, 'base64url').toString('base64url'))
    .join('.');
}
