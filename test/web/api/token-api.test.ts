import { randomBytes } from 'node:crypto';
import { deriveKey, parseToken } from '@tokenserver/shared';
import { expect } from 'chai';
import {
  ALL_ALGS,
  type BackedAssertionOptions,
  keyPair,
  makeBackedAssertion,
  tamper,
} from '../../support/browserid.js';
import { createSigningKey, mintAccessToken } from '../../support/oauth.js';
import { type ApiAnswer, AUDIENCE, errorOf, NODE_SECRET, NODE_URL, TestStack } from '../../support/stack.js';

const FXA_UID = '0123456789abcdef0123456789abcdef';

function newUid(): string {
  return randomBytes(16).toString('hex');
}

function browserId(options: BackedAssertionOptions = {}): Record<string, string> {
  return { Authorization: `BrowserID ${makeBackedAssertion({ issuerKey: keyPair('RS256', 'issuer'), ...options })}` };
}

function expectTimestamp(answer: ApiAnswer): void {
  const timestamp = Number(answer.headers.get('x-timestamp'));
  expect(Math.abs(timestamp - Date.now() / 1000), 'X-Timestamp').to.be.below(5);
}

function expectError(answer: ApiAnswer, http: number, status: string, description?: string): void {
  const error = errorOf(answer);
  expect({ http: error.http, status: error.status }, answer.text).to.deep.equal({ http, status });
  if (description !== undefined) expect(error.description).to.equal(description);
  expect(answer.body?.errors).to.have.length(1);
  expectTimestamp(answer);
}

describe('token API end to end', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await TestStack.start();
    stack.trustIssuer('idp.test');
    stack.trustIssuer('burst.test');
    for (const alg of ALL_ALGS) stack.trustIssuer(`${alg.toLowerCase()}.test`, alg);
  });
  after(() => stack?.stop());
  afterEach(() => {
    stack.idp.mode = 'up';
    stack.idp.delayMs = 0;
    stack.jwks.mode = 'up';
  });

  describe('success', () => {
    it('answers a BrowserID request with a token whose key re-derives from the node secret', async () => {
      const answer = await stack.token({
        ...browserId({ email: `${FXA_UID}@idp.test`, idpClaims: { 'fxa-generation': 1234 } }),
        'X-Client-State': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      });
      expect(answer.status, answer.text).to.equal(200);
      expectTimestamp(answer);
      const body = answer.body as Record<string, unknown>;
      expect(Object.keys(body)).to.have.members([
        'id',
        'key',
        'uid',
        'api_endpoint',
        'duration',
        'hashalg',
        'hashed_fxa_uid',
        'node_type',
      ]);
      expect(body).to.include({
        api_endpoint: `${NODE_URL}/1.5/${body.uid}`,
        duration: 3600,
        hashalg: 'sha256',
        hashed_fxa_uid: '201ccaf0ab33822e02f1c9f211dab7f0', // the metrics-hash vector (secret "insecure")
        node_type: null,
      });
      const payload = parseToken(body.id as string, NODE_SECRET);
      expect(payload).to.include({
        uid: body.uid,
        node: NODE_URL,
        fxa_uid: FXA_UID,
        fxa_kid: '0000000001234-qqqqqqqqqqqqqqqqqqqqqg',
        hashed_fxa_uid: '201ccaf0ab33822e02f1c9f211dab7f0',
      });
      expect(payload.expires - Date.now() / 1000).to.be.within(3590, 3601);
      expect(deriveKey(body.id as string, payload.salt, NODE_SECRET)).to.equal(body.key);
      expect(() => parseToken(body.id as string, 'another secret')).to.throw();
    });

    it('lowers the duration with ?duration= and ignores junk values', async () => {
      const email = `${newUid()}@idp.test`;
      expect((await stack.get('/1.0/sync/1.5?duration=600', browserId({ email }))).body?.duration).to.equal(600);
      for (const junk of ['abc', '0', '999999', '-5', '1e3']) {
        const answer = await stack.get(`/1.0/sync/1.5?duration=${junk}`, browserId({ email }));
        expect(answer.body?.duration, junk).to.equal(3600);
      }
    });

    for (const alg of ALL_ALGS) {
      it(`accepts a BrowserID assertion signed with ${alg} by an issuer key of ${alg}`, async () => {
        const domain = `${alg.toLowerCase()}.test`;
        const answer = await stack.token(
          browserId({
            email: `${newUid()}@${domain}`,
            issuerKey: keyPair(alg, 'issuer'),
            userKey: keyPair(alg, 'user'),
          }),
        );
        expect(answer.status, answer.text).to.equal(200);
      });
    }

    it('answers an OAuth request; fxa_kid comes from X-KeyID', async () => {
      const token = await mintAccessToken(stack.oauthKey, { claims: { sub: FXA_UID, 'fxa-generation': 5 } });
      const answer = await stack.token({ Authorization: `Bearer ${token}`, 'X-KeyID': '1234-qqqqqqqqqqqqqqqqqqqqqg' });
      expect(answer.status, answer.text).to.equal(200);
      const payload = parseToken(answer.body?.id as string, NODE_SECRET);
      expect(payload.fxa_kid).to.equal('0000000001234-qqqqqqqqqqqqqqqqqqqqqg');
      expect(payload.fxa_uid).to.equal(FXA_UID);
      // the same account (the OAuth email domain) answers the same uid
      const again = await stack.token({ Authorization: `Bearer ${token}`, 'X-KeyID': '1234-qqqqqqqqqqqqqqqqqqqqqg' });
      expect(again.body?.uid).to.equal(answer.body?.uid);
    });

    it('accepts OAuth without X-KeyID (it is optional, as in the Python server)', async () => {
      const token = await mintAccessToken(stack.oauthKey, { claims: { sub: newUid() } });
      expect((await stack.token({ Authorization: `bearer ${token}` })).status).to.equal(200);
    });
  });

  describe('error catalogue', () => {
    const now = Date.now();
    const good = () => makeBackedAssertion({ email: `${newUid()}@idp.test`, issuerKey: keyPair('RS256', 'issuer') });
    const cases: Array<{
      name: string;
      path?: string;
      headers: () => Promise<Record<string, string>> | Record<string, string>;
      http: number;
      status: string;
      description?: string;
    }> = [
      {
        name: 'unknown application',
        path: '/1.0/nope/1.5',
        headers: () => browserId(),
        http: 404,
        status: 'error',
        description: 'Unsupported application',
      },
      {
        name: 'unknown version',
        path: '/1.0/sync/9.9',
        headers: () => browserId(),
        http: 404,
        status: 'error',
        description: 'Unsupported application version',
      },
      {
        name: 'malformed X-Client-State',
        headers: () => ({ ...browserId(), 'X-Client-State': 'not valid!' }),
        http: 400,
        status: 'error',
        description: 'Invalid client state value',
      },
      {
        name: 'too long X-Client-State',
        headers: () => ({ ...browserId(), 'X-Client-State': 'a'.repeat(33) }),
        http: 400,
        status: 'error',
      },
      { name: 'no Authorization', headers: () => ({}), http: 401, status: 'error', description: 'Unauthorized' },
      {
        name: 'Authorization without credential',
        headers: () => ({ Authorization: 'BrowserID' }),
        http: 401,
        status: 'error',
        description: 'Unauthorized',
      },
      {
        name: 'unsupported scheme',
        headers: () => ({ Authorization: 'Basic dXNlcjpwYXNz' }),
        http: 401,
        status: 'error',
        description: 'Unsupported',
      },
      {
        name: 'expired assertion',
        headers: () => browserId({ now, assertionExp: now - 120_000 }),
        http: 401,
        status: 'invalid-timestamp',
      },
      {
        name: 'expired certificate',
        headers: () => browserId({ now, certExp: now - 120_000 }),
        http: 401,
        status: 'invalid-timestamp',
      },
      {
        name: 'future-dated certificate',
        headers: () => browserId({ now, certIat: now + 600_000 }),
        http: 401,
        status: 'invalid-timestamp',
      },
      {
        name: 'wrong audience',
        headers: () => browserId({ audience: 'https://evil.example.com' }),
        http: 401,
        status: 'invalid-credentials',
      },
      {
        name: 'untrusted issuer',
        headers: () => browserId({ issuer: 'other.test', issuerKey: keyPair('RS256', 'other') }),
        http: 401,
        status: 'invalid-credentials',
      },
      ...(['certificate', 'assertion'] as const).flatMap((piece) =>
        (['payload', 'signature'] as const).map((part) => ({
          name: `tampered ${piece} ${part}`,
          headers: () => ({ Authorization: `BrowserID ${tamper(good(), piece, part)}` }),
          http: 401,
          status: 'invalid-credentials',
        })),
      ),
      {
        name: 'truncated assertion',
        headers: () => ({ Authorization: `BrowserID ${good().slice(0, 300)}` }),
        http: 401,
        status: 'invalid-credentials',
      },
      {
        name: 'garbage assertion',
        headers: () => ({ Authorization: 'BrowserID a.b.c~d.e.f' }),
        http: 401,
        status: 'invalid-credentials',
      },
      {
        name: 'oversized credential',
        headers: () => ({ Authorization: `BrowserID ${'x'.repeat(17_000)}` }),
        http: 401,
        status: 'invalid-credentials',
      },
      {
        name: 'non-integer fxa-generation',
        headers: () => browserId({ email: `${newUid()}@idp.test`, idpClaims: { 'fxa-generation': 'x' } }),
        http: 401,
        status: 'invalid-generation',
      },
      {
        name: 'non-integer fxa-keysChangedAt',
        headers: () => browserId({ email: `${newUid()}@idp.test`, idpClaims: { 'fxa-keysChangedAt': 1.5 } }),
        http: 401,
        status: 'invalid-credentials',
        description: 'invalid keysChangedAt',
      },
      {
        name: 'unverified FxA session',
        headers: () => browserId({ email: `${newUid()}@idp.test`, idpClaims: { 'fxa-tokenVerified': false } }),
        http: 401,
        status: 'invalid-credentials',
      },
      {
        name: 'expired OAuth token',
        headers: async () => ({
          Authorization: `Bearer ${await mintAccessToken(stack.oauthKey, { expiresIn: -600 })}`,
        }),
        http: 401,
        status: 'invalid-credentials',
      },
      {
        name: 'OAuth token without the sync scope',
        headers: async () => ({
          Authorization: `Bearer ${await mintAccessToken(stack.oauthKey, { claims: { scope: 'profile' } })}`,
        }),
        http: 401,
        status: 'invalid-credentials',
      },
      {
        name: 'garbage OAuth token',
        headers: () => ({ Authorization: 'Bearer not.a.jwt' }),
        http: 401,
        status: 'invalid-credentials',
      },
      {
        name: 'malformed X-KeyID',
        headers: async () => ({
          Authorization: `Bearer ${await mintAccessToken(stack.oauthKey)}`,
          'X-KeyID': 'nodash',
        }),
        http: 401,
        status: 'invalid-credentials',
      },
      {
        name: 'X-KeyID and X-Client-State disagree',
        headers: async () => ({
          Authorization: `Bearer ${await mintAccessToken(stack.oauthKey, { claims: { sub: newUid() } })}`,
          'X-KeyID': '1234-qqqqqqqqqqqqqqqqqqqqqg',
          'X-Client-State': 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
        }),
        http: 401,
        status: 'invalid-client-state',
        description: 'Unauthorized',
      },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.http} ${c.status}`, async () => {
        expectError(await stack.get(c.path ?? '/1.0/sync/1.5', await c.headers()), c.http, c.status, c.description);
      });
    }

    it('names WWW-Authenticate: BrowserID with an unsupported scheme', async () => {
      const answer = await stack.token({ Authorization: 'Hawk id="x"' });
      expect(answer.headers.get('www-authenticate')).to.equal('BrowserID');
    });

    it('answers unknown routes 404 and other methods 405, with the error body', async () => {
      expectError(await stack.get('/nope'), 404, 'error');
      expectError(await stack.get('/1.0/sync'), 404, 'error');
      expectError(await stack.get('/1.0/%zz/1.5'), 400, 'error');
      const post = await fetch(`${stack.url}/1.0/sync/1.5`, { method: 'POST', body: 'x' });
      expect(post.status).to.equal(405);
      expect(((await post.json()) as { status: string }).status).to.equal('error');
      expect(post.headers.get('x-timestamp')).to.match(/^\d+$/);
    });
  });

  describe('account rules through the API', () => {
    it('enforces generation and client-state changes', async () => {
      const email = `${newUid()}@idp.test`;
      const request = (generation: number, clientState?: string) =>
        stack.token({
          ...browserId({ email, idpClaims: { 'fxa-generation': generation } }),
          ...(clientState === undefined ? {} : { 'X-Client-State': clientState }),
        });
      const first = await request(10, 'aaaa');
      expect(first.status, first.text).to.equal(200);
      expect((await request(10, 'aaaa')).body?.uid).to.equal(first.body?.uid);
      expectError(await request(9, 'aaaa'), 401, 'invalid-generation');
      expectError(
        await request(10, 'bbbb'),
        401,
        'invalid-client-state',
        'Unacceptable client-state value new value with no generation change',
      );
      const second = await request(11, 'bbbb');
      expect(second.status).to.equal(200);
      expect(second.body?.uid).to.not.equal(first.body?.uid);
      expectError(
        await request(12, 'aaaa'),
        401,
        'invalid-client-state',
        'Unacceptable client-state value stale value',
      );
      expectError(await request(12), 401, 'invalid-client-state', 'Unacceptable client-state value empty string');
      expectError(await request(10, 'bbbb'), 401, 'invalid-generation');
    });

    it('enforces keysChangedAt', async () => {
      const email = `${newUid()}@idp.test`;
      const request = (claims: Record<string, number>, clientState = 'cccc') =>
        stack.token({ ...browserId({ email, idpClaims: claims }), 'X-Client-State': clientState });
      expect((await request({ 'fxa-generation': 20, 'fxa-keysChangedAt': 20 })).status).to.equal(200);
      expectError(await request({ 'fxa-generation': 21, 'fxa-keysChangedAt': 15 }), 401, 'invalid-keysChangedAt');
      expectError(await request({ 'fxa-generation': 21 }), 401, 'invalid-keysChangedAt');
      expectError(await request({ 'fxa-generation': 21, 'fxa-keysChangedAt': 22 }), 401, 'invalid-keysChangedAt');
      expectError(
        await request({ 'fxa-generation': 25, 'fxa-keysChangedAt': 20 }, 'dddd'),
        401,
        'invalid-client-state',
        'Unacceptable client-state value new value with no keys_changed_at change',
      );
      const rotated = await request({ 'fxa-generation': 30, 'fxa-keysChangedAt': 30 }, 'dddd');
      expect(rotated.status, rotated.text).to.equal(200);
      expect(parseToken(rotated.body?.id as string, NODE_SECRET).fxa_kid).to.equal(
        `0000000000030-${Buffer.from('dddd', 'hex').toString('base64url')}`,
      );
    });

    it('takes the OAuth client state and keysChangedAt from X-KeyID', async () => {
      const token = await mintAccessToken(stack.oauthKey, { claims: { sub: newUid(), 'fxa-generation': 100 } });
      const keyId = (ms: number, state: string) => `${ms}-${Buffer.from(state, 'hex').toString('base64url')}`;
      const request = (id: string) => stack.token({ Authorization: `Bearer ${token}`, 'X-KeyID': id });
      const first = await request(keyId(50, 'aaaa'));
      expect(first.status, first.text).to.equal(200);
      expectError(await request(keyId(40, 'aaaa')), 401, 'invalid-keysChangedAt');
      const later = await request(keyId(60, 'aaaa'));
      expect(later.body?.uid).to.equal(first.body?.uid);
      expect(parseToken(later.body?.id as string, NODE_SECRET).fxa_kid).to.equal(
        `0000000000060-${keyId(0, 'aaaa').slice(2)}`,
      );
    });
  });

  describe('identity providers', () => {
    for (const [domain, setup] of [
      [
        'down.test',
        () => {
          stack.idp.mode = 'down';
        },
      ],
      [
        'slow.test',
        () => {
          stack.idp.delayMs = 2500;
        },
      ],
    ] as const) {
      it(`answers 503 with Retry-After when the IdP is ${domain.split('.')[0]}`, async () => {
        setup();
        const answer = await stack.token(browserId({ email: `${newUid()}@${domain}`, issuer: domain }));
        expectError(answer, 503, 'error', 'Resource is not available');
        expect(answer.headers.get('retry-after')).to.equal('7');
      });
    }

    for (const mode of ['junk', 'no-key', 'error'] as const) {
      it(`answers 401 invalid-credentials when the IdP answers ${mode}`, async () => {
        stack.idp.mode = mode;
        const domain = `${mode}.test`;
        const answer = await stack.token(browserId({ email: `${newUid()}@${domain}`, issuer: domain }));
        expectError(answer, 401, 'invalid-credentials');
      });
    }

    it('fetches an issuer once per worker process under 100 concurrent requests', async () => {
      const answers = await Promise.all(
        Array.from({ length: 100 }, () => stack.token(browserId({ email: `${newUid()}@burst.test` }))),
      );
      expect(answers.map((a) => a.status)).to.deep.equal(Array(100).fill(200));
      // Each of the 2 worker processes keeps its own cache and coalesces its concurrent fetches.
      expect(stack.idp.fetchCount('burst.test')).to.be.within(1, 2);
    });

    it('follows JWKS rotation, and answers 503 when the JWKS cannot be fetched', async () => {
      const rotated = await createSigningKey('key-2');
      const token = await mintAccessToken(rotated, { claims: { sub: newUid() } });
      expectError(await stack.token({ Authorization: `Bearer ${token}` }), 401, 'invalid-credentials');
      stack.jwks.keys = [stack.oauthKey.publicJwk, rotated.publicJwk];
      expect((await stack.token({ Authorization: `Bearer ${token}` })).status).to.equal(200);
      const unknown = await createSigningKey('key-3');
      stack.jwks.mode = 'down';
      const answer = await stack.token({ Authorization: `Bearer ${await mintAccessToken(unknown)}` });
      expectError(answer, 503, 'error');
      expect(answer.headers.get('retry-after')).to.equal('7');
    });
  });

  describe('service endpoints', () => {
    it('serves the discovery document', async () => {
      const answer = await stack.get('/');
      expect(answer.status).to.equal(200);
      expect(answer.body?.services).to.deep.equal({ sync: ['1.5'] });
      expect(answer.body).to.have.keys('services', 'auth', 'browserid', 'oauth');
      expectTimestamp(answer);
    });

    it('serves __lbheartbeat__, __heartbeat__ and __version__', async () => {
      expect((await stack.get('/__lbheartbeat__')).body).to.deep.equal({});
      const heartbeat = await stack.get('/__heartbeat__');
      expect(heartbeat.body).to.include({ status: 'Ok', database: 'Ok', broker: 'Ok' });
      expect((await stack.get('/__version__')).body).to.have.keys('source', 'version', 'commit', 'build');
    });

    it('answers headers past the server limit 431 with a JSON body and X-Timestamp', async () => {
      const answer = await stack.get('/1.0/sync/1.5', { Authorization: `Bearer ${'a'.repeat(1024 * 1024)}` });
      expectError(answer, 431, 'error', 'Request headers too large');
      expectTimestamp(answer);
    });

    it('sends X-Timestamp with the Prometheus metrics too', async () => {
      const answer = await stack.get('/metrics');
      expect(answer.status).to.equal(200);
      expect(answer.text).to.match(/^# HELP /m);
      expectTimestamp(answer);
    });

    it('accepts assertions for the configured audience only', async () => {
      expect((await stack.token(browserId({ email: `${newUid()}@idp.test`, audience: AUDIENCE }))).status).to.equal(
        200,
      );
    });
  });
});
