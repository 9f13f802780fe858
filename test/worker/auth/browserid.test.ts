import { createServer } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { parseBackedAssertion } from '../../../worker/src/auth/browserid/assertion.js';
import { IdpKeyResolver, type IdpOptions } from '../../../worker/src/auth/browserid/idp.js';
import { dsaSpki, importBrowserIdKey, KeyCache } from '../../../worker/src/auth/browserid/keys.js';
import { BrowserIdVerifier, type BrowserIdVerifierOptions } from '../../../worker/src/auth/browserid/verify.js';
import {
  AudienceMismatchError,
  AuthError,
  ExpiredAssertionError,
  InvalidClaimError,
  InvalidGenerationError,
  InvalidSignatureError,
  MalformedCredentialsError,
  UnsupportedAlgorithmError,
  UnsupportedCertChainError,
  UntrustedIssuerError,
  VerifierUnavailableError,
} from '../../../worker/src/auth/errors.js';
import { authRejection } from '../../support/auth-errors.js';
import {
  ALL_ALGS,
  type BackedAssertionOptions,
  DEFAULT_AUDIENCE,
  keyPair,
  makeBackedAssertion,
  signJws,
  tamper,
} from '../../support/browserid.js';
import { IdpServer } from '../../support/idp-server.js';

const UID = '0123456789abcdef0123456789abcdef';
const DOMAINS = ['idp.test', 'other.test', 'deleg.test', 'deleg2.test', 'loop-a.test', 'loop-b.test', 'junk.test'];

describe('BrowserID verification', function () {
  this.timeout(30_000);
  let idp: IdpServer;
  const issuerKey = () => keyPair('RS256', 'issuer');

  before(async () => {
    idp = await IdpServer.start();
    for (const alg of ALL_ALGS) idp.setKey(`${alg.toLowerCase()}.test`, keyPair(alg, 'issuer').publicKey);
    idp.setKey('idp.test', issuerKey().publicKey);
    idp.setKey('other.test', keyPair('RS256', 'other').publicKey);
    idp.setAuthority('deleg.test', 'idp.test');
    idp.setAuthority('deleg2.test', 'other.test');
    idp.setAuthority('loop-a.test', 'loop-b.test');
    idp.setAuthority('loop-b.test', 'loop-a.test');
  });

  after(() => idp.close());
  afterEach(() => {
    idp.mode = 'up';
    idp.delayMs = 0;
  });

  function resolver(options: Partial<IdpOptions> = {}): IdpKeyResolver {
    const domains = [...DOMAINS, ...ALL_ALGS.map((alg) => `${alg.toLowerCase()}.test`)];
    return new IdpKeyResolver({
      issuerUrls: idp.issuerUrls(...domains),
      timeoutMs: 2000,
      cacheTtlMs: 3600_000,
      negativeCacheTtlMs: 30_000,
      maxEntries: 100,
      maxDelegations: 6,
      ...options,
    });
  }

  function verifier(options: Partial<BrowserIdVerifierOptions> = {}, idpOptions: Partial<IdpOptions> = {}) {
    return new BrowserIdVerifier({ audiences: [DEFAULT_AUDIENCE], idp: resolver(idpOptions), ...options });
  }

  function assertion(options: BackedAssertionOptions = {}): string {
    return makeBackedAssertion({ email: `${UID}@idp.test`, issuerKey: issuerKey(), ...options });
  }

  describe('algorithms', () => {
    for (const alg of ALL_ALGS) {
      it(`verifies a certificate signed with ${alg}`, async () => {
        const domain = `${alg.toLowerCase()}.test`;
        const backed = makeBackedAssertion({ email: `${UID}@${domain}`, issuerKey: keyPair(alg, 'issuer') });
        const identity = await verifier().verify(backed);
        expect(identity.email).to.equal(`${UID}@${domain}`);
        expect(identity.issuer).to.equal(domain);
      });

      it(`verifies an assertion signed with ${alg}`, async () => {
        const identity = await verifier().verify(assertion({ userKey: keyPair(alg, 'user') }));
        expect(identity.fxaUid).to.equal(UID);
        expect(identity.audience).to.equal(DEFAULT_AUDIENCE);
      });
    }

    it('accepts an RSA signature whose leading zero bytes were dropped', async () => {
      const userKey = keyPair('RS64', 'user');
      const now = Date.now();
      let backed = '';
      for (let i = 0; i < 5000 && !backed; i++) {
        const candidate = assertion({
          userKey,
          now,
          assertionExp: now + 60_000 + i,
          assertionSign: { stripLeadingZeros: true },
        });
        const signature = Buffer.from(candidate.split('.').pop() as string, 'base64url');
        if (signature.length < 64) backed = candidate;
      }
      expect(backed, 'found a signature with a leading zero').not.to.equal('');
      await verifier().verify(backed);
    });

    it('rejects a header alg that does not match the key', async () => {
      const userKey = keyPair('RS128', 'user');
      const err = await authRejection(verifier().verify(assertion({ userKey, assertionSign: { headerAlg: 'RS256' } })));
      expect(err).to.be.instanceOf(UnsupportedAlgorithmError);
      const unknown = await authRejection(verifier().verify(assertion({ assertionSign: { headerAlg: 'HS256' } })));
      expect(unknown).to.be.instanceOf(UnsupportedAlgorithmError);
      expect(unknown.status).to.equal('invalid-credentials');
    });

    it('builds the same DSA SubjectPublicKeyInfo as OpenSSL and imports each key once', () => {
      for (const alg of ['DS128', 'DS256'] as const) {
        const pair = keyPair(alg, 'user');
        const key = pair.publicKey as { p: string; q: string; g: string; y: string };
        const der = dsaSpki(BigInt(`0x${key.p}`), BigInt(`0x${key.q}`), BigInt(`0x${key.g}`), BigInt(`0x${key.y}`));
        expect(der.equals(pair.nodePublicKey.export({ format: 'der', type: 'spki' }))).to.equal(true);
        expect(importBrowserIdKey(pair.publicKey).alg).to.equal(alg);
      }
      const cache = new KeyCache(10);
      const first = cache.import(keyPair('RS128', 'user').publicKey);
      expect(cache.import({ ...keyPair('RS128', 'user').publicKey })).to.equal(first);
      expect(cache.size).to.equal(1);
    });

    it('rejects unsupported key sizes and malformed key objects', () => {
      expect(() => importBrowserIdKey({ algorithm: 'RS', n: '12345', e: '65537' })).to.throw(UnsupportedAlgorithmError);
      expect(() => importBrowserIdKey({ algorithm: 'RS', n: '0x12', e: '3' })).to.throw(MalformedCredentialsError);
      expect(() => importBrowserIdKey({ algorithm: 'EC', x: '1' })).to.throw(UnsupportedAlgorithmError);
      expect(() => importBrowserIdKey(null)).to.throw(MalformedCredentialsError);
    });
  });

  describe('cheap checks', () => {
    it('rejects an expired assertion or certificate with invalid-timestamp, allowing the leeway', async () => {
      const now = Date.now();
      const expired = await authRejection(verifier().verify(assertion({ now, assertionExp: now - 61_000 })));
      expect(expired).to.be.instanceOf(ExpiredAssertionError);
      expect(expired.status).to.equal('invalid-timestamp');
      expect(expired.httpStatus).to.equal(401);
      const certExpired = await authRejection(verifier().verify(assertion({ now, certExp: now - 61_000 })));
      expect(certExpired).to.be.instanceOf(ExpiredAssertionError);
      await verifier().verify(assertion({ now, assertionExp: now - 30_000 }));
      await verifier({ leewayMs: 0 }).verify(assertion({ now, assertionExp: now + 1000 }));
    });

    it('rejects a future-dated assertion or certificate', async () => {
      const now = Date.now();
      const future = await authRejection(verifier().verify(assertion({ now, assertionIat: now + 120_000 })));
      expect(future).to.be.instanceOf(ExpiredAssertionError);
      const futureCert = await authRejection(verifier().verify(assertion({ now, certIat: now + 120_000 })));
      expect(futureCert).to.be.instanceOf(ExpiredAssertionError);
    });

    it('rejects a wrong audience before any fetch', async () => {
      const v = verifier();
      for (const audience of [
        'https://evil.example.com',
        'http://token.example.com',
        'https://token.example.com/x',
        '',
      ]) {
        expect(await authRejection(v.verify(assertion({ audience })))).to.be.instanceOf(AudienceMismatchError);
      }
      expect(v.idp.fetchCount).to.equal(0);
    });

    it('matches audiences with default ports, and scheme-less audiences over any scheme', async () => {
      await verifier().verify(assertion({ audience: 'https://token.example.com:443' }));
      const anyScheme = verifier({ audiences: ['token.example.com:8443', 'sync.example.com'] });
      await anyScheme.verify(assertion({ audience: 'http://token.example.com:8443' }));
      await anyScheme.verify(assertion({ audience: 'https://sync.example.com' }));
      const err = await authRejection(anyScheme.verify(assertion({ audience: 'https://sync.example.com:8443' })));
      expect(err).to.be.instanceOf(AudienceMismatchError);
    });

    it('rejects an untrusted issuer, and accepts trusted secondaries unless not allowed', async () => {
      const fromOther = assertion({ issuer: 'other.test', issuerKey: keyPair('RS256', 'other') });
      expect(await authRejection(verifier().verify(fromOther))).to.be.instanceOf(UntrustedIssuerError);
      const identity = await verifier({ trustedIssuers: ['other.test'] }).verify(fromOther);
      expect(identity.issuer).to.equal('other.test');
      const notAllowed = verifier({ trustedIssuers: ['other.test'], allowedIssuers: ['idp.test'] });
      expect(await authRejection(notAllowed.verify(fromOther))).to.be.instanceOf(UntrustedIssuerError);
      expect(notAllowed.idp.fetchCount).to.equal(0);
      await notAllowed.verify(assertion());
    });

    it('rejects certificate chains', async () => {
      const extra = signJws({ iss: 'idp.test', exp: Date.now() + 60_000 }, issuerKey());
      const err = await authRejection(verifier().verify(assertion({ extraCertificates: [extra] })));
      expect(err).to.be.instanceOf(UnsupportedCertChainError);
    });
  });

  describe('signatures', () => {
    const cases = [
      ['certificate', 'payload'],
      ['certificate', 'signature'],
      ['assertion', 'payload'],
      ['assertion', 'signature'],
    ] as const;
    for (const [piece, part] of cases) {
      it(`rejects a tampered ${piece} ${part}`, async () => {
        const err = await authRejection(verifier().verify(tamper(assertion(), piece, part)));
        expect(err).to.be.instanceOf(part === 'payload' ? AuthError : InvalidSignatureError);
        expect(err.status).to.equal('invalid-credentials');
      });
    }

    it('rejects a certificate signed by a key other than the issuer key', async () => {
      const err = await authRejection(verifier().verify(assertion({ issuerKey: keyPair('RS256', 'other') })));
      expect(err).to.be.instanceOf(InvalidSignatureError);
    });

    it('rejects an assertion signed by a key other than the certified one', async () => {
      const good = assertion({ userKey: keyPair('DS128', 'user') });
      const other = assertion({ userKey: keyPair('DS128', 'intruder') });
      const forged = `${good.split('~')[0]}~${other.split('~')[1]}`;
      expect(await authRejection(verifier().verify(forged))).to.be.instanceOf(InvalidSignatureError);
    });
  });

  describe('malformed input', () => {
    it('rejects truncated and garbage assertions with MalformedCredentialsError', async () => {
      const good = assertion();
      const bad = [
        '',
        'garbage',
        good.slice(0, good.length / 2),
        good.split('~')[1] as string,
        `${good}~`,
        `~${good}`,
        good.replace(/\./, '..'),
        'a.b.c~d.e.f',
        'e30.e30.AA~e30.e30.AA',
        `${good} `,
        'x'.repeat(20_000),
      ];
      for (const input of bad) {
        const err = await authRejection(verifier().verify(input));
        expect(err, JSON.stringify(input.slice(0, 40))).to.be.instanceOf(MalformedCredentialsError);
      }
    });

    it('rejects a certificate without a usable email', async () => {
      const err = await authRejection(verifier().verify(assertion({ email: 'not-an-email' })));
      expect(err).to.be.instanceOf(MalformedCredentialsError);
    });

    it('only ever throws typed errors for random input (property)', async () => {
      const v = verifier();
      const good = assertion();
      const pieceArb = fc.oneof(fc.string(), fc.base64String(), fc.constantFrom(...good.split(/([.~])/)));
      const inputArb = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.array(pieceArb, { maxLength: 12 }).map((parts) => parts.join('')),
        fc
          .tuple(fc.nat(good.length), fc.nat(good.length), fc.string({ maxLength: 4 }))
          .map(([a, b, s]) => good.slice(0, Math.min(a, b)) + s + good.slice(Math.max(a, b))),
        fc.jsonValue().map((value) => {
          const part = Buffer.from(JSON.stringify(value)).toString('base64url');
          return `${part}.${part}.${part}~${part}.${part}.AA`;
        }),
      );
      await fc.assert(
        fc.asyncProperty(inputArb, async (input) => {
          try {
            parseBackedAssertion(input);
          } catch (err) {
            expect(err).to.be.instanceOf(MalformedCredentialsError);
          }
          try {
            await v.verify(input);
            return input === good;
          } catch (err) {
            return err instanceof AuthError;
          }
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('IdP discovery', () => {
    it('answers unavailable when the IdP is down or slow', async () => {
      idp.mode = 'down';
      const err = await authRejection(verifier().verify(assertion()));
      expect(err).to.be.instanceOf(VerifierUnavailableError);
      expect(err.status).to.equal('unavailable');
      expect(err.httpStatus).to.equal(503);
      idp.mode = 'up';
      idp.delayMs = 500;
      const started = Date.now();
      const slow = await authRejection(verifier({}, { timeoutMs: 100 }).verify(assertion()));
      expect(slow).to.be.instanceOf(VerifierUnavailableError);
      expect(Date.now() - started).to.be.lessThan(450);
    });

    it('answers unavailable when nothing listens at the IdP address', async () => {
      const port = await closedPort();
      const v = verifier({}, { issuerUrls: { 'idp.test': `http://127.0.0.1:${port}` } });
      expect(await authRejection(v.verify(assertion()))).to.be.instanceOf(VerifierUnavailableError);
    });

    it('treats an answer that is no usable support document as an untrusted issuer, for the negative-cache time', async () => {
      for (const mode of ['error', 'junk', 'no-key'] as const) {
        idp.mode = mode;
        let now = 0;
        const v = verifier({}, { now: () => now, negativeCacheTtlMs: 1000 });
        const err = await authRejection(v.verify(assertion()));
        expect(err, mode).to.be.instanceOf(UntrustedIssuerError);
        expect([err.status, err.httpStatus], mode).to.deep.equal(['invalid-credentials', 401]);
        idp.mode = 'up';
        expect(await authRejection(v.verify(assertion())), mode).to.be.instanceOf(UntrustedIssuerError);
        expect(v.idp.fetchCount, mode).to.equal(1);
        now = 1001;
        expect((await v.verify(assertion())).email, mode).to.equal(`${UID}@idp.test`);
        expect(v.idp.fetchCount, mode).to.equal(2);
      }
    });

    it('treats 404 and redirects as untrusted issuers', async () => {
      for (const mode of ['not-found', 'redirect'] as const) {
        idp.mode = mode;
        expect(await authRejection(verifier().verify(assertion()))).to.be.instanceOf(UntrustedIssuerError);
      }
    });

    it('uses https://<issuer> unless issuer_urls maps it', () => {
      const r = resolver({ issuerUrls: { 'private.test': 'http://10.0.0.1:8080/' } });
      expect(r.documentUrl('idp.example.com')).to.equal('https://idp.example.com/.well-known/browserid');
      expect(r.documentUrl('private.test')).to.equal('http://10.0.0.1:8080/.well-known/browserid');
      expect(() => r.documentUrl('evil.test/x?')).to.throw(UntrustedIssuerError);
    });

    it('fetches each issuer once for 100 concurrent verifications', async () => {
      const v = verifier();
      const before = idp.fetchCount('idp.test');
      idp.delayMs = 50;
      const backed = assertion();
      const results = await Promise.all(Array.from({ length: 100 }, () => v.verify(backed)));
      expect(results.every((r) => r.email === `${UID}@idp.test`)).to.equal(true);
      expect(idp.fetchCount('idp.test') - before).to.equal(1);
      expect(v.idp.fetchCount).to.equal(1);
    });

    it('caches failures briefly and successes for the TTL', async () => {
      let clock = Date.now();
      const v = verifier({}, { now: () => clock, negativeCacheTtlMs: 1000, cacheTtlMs: 10_000 });
      idp.mode = 'down';
      await authRejection(v.verify(assertion()));
      idp.mode = 'up';
      await authRejection(v.verify(assertion()));
      expect(v.idp.fetchCount).to.equal(1);
      clock += 1001;
      await v.verify(assertion());
      expect(v.idp.fetchCount).to.equal(2);
      clock += 9000;
      await v.verify(assertion());
      expect(v.idp.fetchCount).to.equal(2);
      clock += 1001;
      await v.verify(assertion());
      expect(v.idp.fetchCount).to.equal(3);
    });

    it('follows authority delegation for the issuer key', async () => {
      const identity = await verifier().verify(assertion({ email: `${UID}@deleg.test`, issuer: 'deleg.test' }));
      expect(identity.issuer).to.equal('deleg.test');
    });

    it('trusts an issuer the email domain delegates to', async () => {
      const backed = assertion({
        email: `${UID}@deleg2.test`,
        issuer: 'other.test',
        issuerKey: keyPair('RS256', 'other'),
      });
      const identity = await verifier().verify(backed);
      expect(identity.email).to.equal(`${UID}@deleg2.test`);
      expect(identity.issuer).to.equal('other.test');
    });

    it('stops at delegation loops and the delegation limit', async () => {
      const looping = assertion({ email: `${UID}@loop-a.test`, issuer: 'loop-a.test' });
      expect(await authRejection(verifier().verify(looping))).to.be.instanceOf(UntrustedIssuerError);
      const limited = verifier({}, { maxDelegations: 0 });
      const delegated = assertion({ email: `${UID}@deleg.test`, issuer: 'deleg.test' });
      expect(await authRejection(limited.verify(delegated))).to.be.instanceOf(UntrustedIssuerError);
    });
  });

  describe('FxA claims', () => {
    it('returns fxa-generation, fxa-keysChangedAt, fxa-tokenVerified and fxa-deviceId', async () => {
      const identity = await verifier().verify(
        assertion({
          idpClaims: {
            'fxa-generation': 1700000000000,
            'fxa-keysChangedAt': 1690000000000,
            'fxa-tokenVerified': true,
            'fxa-deviceId': 'device-1',
            'fxa-lastAuthAt': 1700000000,
          },
        }),
      );
      expect(identity.idpClaims).to.deep.equal({
        generation: 1700000000000,
        keysChangedAt: 1690000000000,
        tokenVerified: true,
        deviceId: 'device-1',
      });
      expect(identity.rawIdpClaims['fxa-lastAuthAt']).to.equal(1700000000);
    });

    it('returns no FxA claims for a plain certificate', async () => {
      expect((await verifier().verify(assertion())).idpClaims).to.deep.equal({});
    });

    it('rejects an unverified session and a non-integer generation', async () => {
      const unverified = await authRejection(
        verifier().verify(assertion({ idpClaims: { 'fxa-tokenVerified': false } })),
      );
      expect(unverified).to.be.instanceOf(InvalidClaimError);
      expect(unverified.status).to.equal('invalid-credentials');
      const generation = await authRejection(verifier().verify(assertion({ idpClaims: { 'fxa-generation': 'x' } })));
      expect(generation).to.be.instanceOf(InvalidGenerationError);
      expect(generation.status).to.equal('invalid-generation');
      const kca = await authRejection(verifier().verify(assertion({ idpClaims: { 'fxa-keysChangedAt': 1.5 } })));
      expect(kca).to.be.instanceOf(InvalidClaimError);
    });
  });

  it('is built from the [browserid] config section', async () => {
    const v = BrowserIdVerifier.fromConfig({
      audiences: [DEFAULT_AUDIENCE],
      trusted_issuers: [],
      allowed_issuers: [],
      issuer_urls: idp.issuerUrls('idp.test'),
      timeout_ms: 1000,
      cache_ttl_s: 60,
      negative_cache_ttl_s: 1,
      cache_max_entries: 10,
      max_delegations: 2,
      leeway_s: 60,
      max_assertion_bytes: 16384,
      loadtest_mode: false,
    });
    expect((await v.verify(assertion())).email).to.equal(`${UID}@idp.test`);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
