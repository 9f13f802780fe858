import { createHmac, hkdfSync } from 'node:crypto';
import { expect } from 'chai';
import {
  DerivedSecrets,
  deriveNodeSecret,
  FileSecrets,
  FixedSecrets,
  MetricsHasher,
  parseSecretsFile,
  SecretsError,
  signingSecret,
  UnknownNodeError,
} from '../../shared/src/node-secrets.js';
import {
  deriveKey,
  ExpiredTokenError,
  InvalidTokenSignatureError,
  MalformedTokenError,
  makeToken,
  parseToken,
  pythonJsonDumps,
  TokenSecret,
  verifyToken,
  WrongNodeError,
} from '../../shared/src/tokenlib.js';
import { TOKENLIB_VECTOR } from '../support/token-vectors.js';

// Vectors from the team reference (tokenserver.md §1.5, §2.1, §2.2; auth-loadtest.md §3.2).
const FULL_VECTOR = {
  ...TOKENLIB_VECTOR,
  bytes:
    '{"uid": 42, "node": "https://node.example.com", "expires": 2000000000, "fxa_uid": "0123456789abcdef0123456789abcdef", "fxa_kid": "0000001234567-qqqqqqqqqqqqqqqqqqqqqg", "hashed_fxa_uid": "h", "hashed_device_id": "d", "salt": "a1b2c3"}',
  mac: '9eec0e9df7715b4d1a51c345816c54694005511464182ffb753d3434d6097d67',
  tokenLength: 356,
  tokenEnd: 'MyJ9nuwOnfdxW00aUcNFgWxUaUAFURRkGC_7dT00NNYJfWc=',
};
const SHORT_VECTOR = {
  secret: 's3cret',
  payload: { uid: 42, node: 'https://n.example', expires: 2000000000, salt: 'abc123' },
  token:
    'eyJ1aWQiOiA0MiwgIm5vZGUiOiAiaHR0cHM6Ly9uLmV4YW1wbGUiLCAiZXhwaXJlcyI6IDIwMDAwMDAwMDAsICJzYWx0IjogImFiYzEyMyJ9CQX4StKRqCS5ZhE_BmPDBGzwZP_E3qa4iZwQEuOdfbw=',
  key: 'dGjsF9Dt5kqqg8XgxRxSWJreXFsqmbussEnYwyeutTA=',
};
const BEFORE_EXPIRY = 1_900_000_000_000;

describe('tokenlib', () => {
  describe('reference vectors', () => {
    it('writes the payload exactly as Python json.dumps does', () => {
      expect(pythonJsonDumps(FULL_VECTOR.payload)).to.equal(FULL_VECTOR.bytes);
      expect(pythonJsonDumps({ a: 'é\u007f😀', b: [1, null, true] })).to.equal(
        '{"a": "\\u00e9\\u007f\\ud83d\\ude00", "b": [1, null, true]}',
      );
    });

    it('derives the signing key and MAC of the full vector', () => {
      const secret = new TokenSecret(FULL_VECTOR.secret);
      const hex = secret.signingKey.toString('hex');
      expect(hex.startsWith('a6d9a4ea') && hex.endsWith('10c52c')).to.equal(true);
      const mac = createHmac('sha256', secret.signingKey).update(FULL_VECTOR.bytes).digest('hex');
      expect(mac).to.equal(FULL_VECTOR.mac);
    });

    it('makes the full-vector token and key byte for byte', () => {
      const { id, key } = makeToken(FULL_VECTOR.payload, FULL_VECTOR.secret);
      expect(id).to.have.length(FULL_VECTOR.tokenLength);
      expect(id.endsWith(FULL_VECTOR.tokenEnd)).to.equal(true);
      expect(Buffer.from(id, 'base64url').subarray(0, -32).toString()).to.equal(FULL_VECTOR.bytes);
      expect(key).to.equal(FULL_VECTOR.key);
    });

    it('makes the short-vector token and key byte for byte', () => {
      const { id, key } = makeToken(SHORT_VECTOR.payload, SHORT_VECTOR.secret);
      expect(id).to.equal(SHORT_VECTOR.token);
      expect(key).to.equal(SHORT_VECTOR.key);
      expect(deriveKey(SHORT_VECTOR.token, 'abc123', SHORT_VECTOR.secret)).to.equal(SHORT_VECTOR.key);
    });

    it('derives node secrets as mozsvc DerivedSecrets does', () => {
      const master = '0123456789abcdef0123456789abcdef';
      expect(deriveNodeSecret(master, 'https://node.example.com')).to.equal('c9f9165800f0b5c75fb687b521e002e0');
      const secrets = new DerivedSecrets(master).get('https://node.example.com');
      expect(secrets.map((s) => s.secret)).to.deep.equal(['c9f9165800f0b5c75fb687b521e002e0']);
    });

    it('hashes metrics ids with the reference vector', () => {
      const metrics = new MetricsHasher('insecure');
      expect(metrics.hashedFxaUid('0123456789abcdef0123456789abcdef')).to.equal('201ccaf0ab33822e02f1c9f211dab7f0');
      expect(metrics.hashedFxaUid('0123456789abcdef0123456789abcdef@api.accounts.firefox.com')).to.equal(
        '201ccaf0ab33822e02f1c9f211dab7f0',
      );
      const expected = createHmac('sha256', 'insecure').update('201ccaf0ab33822e02f1c9f211dab7f0none').digest('hex');
      expect(metrics.hashedDeviceId('201ccaf0ab33822e02f1c9f211dab7f0')).to.equal(expected.slice(0, 32));
    });
  });

  describe('makeToken', () => {
    it('adds a 6-hex-digit salt and an integer expiry when absent, after the given fields', () => {
      const { id, payload } = makeToken({ uid: 1, node: 'https://n' }, 's', { now: 1_000_000, timeout: 60 });
      expect(payload.salt).to.match(/^[0-9a-f]{6}$/);
      expect(payload.expires).to.equal(1060);
      expect(Object.keys(payload)).to.deep.equal(['uid', 'node', 'salt', 'expires']);
      expect(parseToken(id, 's', { now: 1_000_000 })).to.deep.equal(payload);
    });

    it('derives the same key from the token id, salt and secret', () => {
      const secret = new TokenSecret('another secret');
      const { id, key, payload } = makeToken({ uid: 7, node: 'https://n' }, secret);
      expect(deriveKey(id, payload.salt, secret)).to.equal(key);
      expect(deriveKey(id, payload.salt, 'another secret')).to.equal(key);
      const manual = Buffer.from(
        hkdfSync('sha256', 'another secret', payload.salt, `services.mozilla.com/tokenlib/v1/derive/${id}`, 32),
      );
      expect(Buffer.from(key, 'base64url').equals(manual)).to.equal(true);
      expect(key.endsWith('=')).to.equal(true);
    });
  });

  describe('parseToken / verifyToken', () => {
    const node = 'https://node.example.com';

    it('verifies a token and returns its derived key', () => {
      const made = makeToken({ uid: 42, node }, 'k1', { timeout: 60 });
      const verified = verifyToken(made.id, ['k1'], { node });
      expect(verified.payload).to.deep.equal(made.payload);
      expect(verified.key).to.equal(made.key);
    });

    it('accepts a token signed with any secret of a rotation, and keys it with that secret', () => {
      const old = makeToken({ uid: 1, node }, 'old-secret', { timeout: 60 });
      const fresh = makeToken({ uid: 1, node }, 'new-secret', { timeout: 60 });
      const secrets = [new TokenSecret('old-secret'), new TokenSecret('new-secret')];
      expect(verifyToken(old.id, secrets, { node }).key).to.equal(old.key);
      expect(verifyToken(fresh.id, secrets, { node }).key).to.equal(fresh.key);
      expect(() => verifyToken(old.id, [new TokenSecret('new-secret')], { node })).to.throw(InvalidTokenSignatureError);
    });

    it('rejects a token for another node', () => {
      const made = makeToken({ uid: 1, node: 'https://other.example.com' }, 'k');
      expect(() => verifyToken(made.id, ['k'], { node })).to.throw(WrongNodeError);
    });

    it('rejects an expired token', () => {
      const made = makeToken({ uid: 1, node, expires: 1000 }, 'k');
      expect(() => verifyToken(made.id, ['k'], { node, now: 1_000_000 })).to.throw(ExpiredTokenError);
      expect(() => parseToken(made.id, 'k', { now: 999_999 })).not.to.throw();
      expect(() => parseToken(made.id, 'k', { now: 1_000_000 })).to.throw(ExpiredTokenError);
    });

    it('rejects a tampered MAC or payload', () => {
      const bytes = Buffer.from(SHORT_VECTOR.token, 'base64url');
      for (const index of [0, bytes.length - 1]) {
        const copy = Buffer.from(bytes);
        copy[index] = (copy[index] as number) ^ 1;
        const tampered = copy.toString('base64url');
        expect(() => parseToken(tampered, SHORT_VECTOR.secret, { now: BEFORE_EXPIRY })).to.throw(
          InvalidTokenSignatureError,
        );
      }
      expect(parseToken(SHORT_VECTOR.token, SHORT_VECTOR.secret, { now: BEFORE_EXPIRY }).uid).to.equal(42);
    });

    it('rejects malformed tokens with MalformedTokenError', () => {
      for (const bad of ['', 'a', '!!!!', 'abc$', `${'A'.repeat(5000)}`, Buffer.alloc(32).toString('base64url')]) {
        expect(() => verifyToken(bad, ['k'], { node })).to.throw(MalformedTokenError);
      }
      const notJson = makeMacOnly('not json', 'k');
      expect(() => verifyToken(notJson, ['k'], { node })).to.throw(MalformedTokenError);
    });

    it('gives every error a stable code', () => {
      expect(new MalformedTokenError('x').code).to.equal('ERR_TOKEN_MALFORMED');
      expect(new InvalidTokenSignatureError('x').code).to.equal('ERR_TOKEN_BAD_SIGNATURE');
      expect(new ExpiredTokenError('x').code).to.equal('ERR_TOKEN_EXPIRED');
      expect(new WrongNodeError('x').code).to.equal('ERR_TOKEN_WRONG_NODE');
    });
  });
});

describe('node secrets', () => {
  it('parses a secrets file: newest signs, all stay valid, sorted by timestamp', () => {
    const parsed = parseSecretsFile(
      '# comment\nhttps://a.example,1500:newer,1200:older\n\nhttps://b.example, 100:only\n',
    );
    const secrets = new FileSecrets(parsed);
    expect(secrets.get('https://a.example').map((s) => s.secret)).to.deep.equal(['older', 'newer']);
    expect(signingSecret(secrets, 'https://a.example').secret).to.equal('newer');
    expect(signingSecret(secrets, 'https://b.example').secret).to.equal('only');
    expect(secrets.get('https://c.example')).to.deep.equal([]);
    expect(() => signingSecret(secrets, 'https://c.example')).to.throw(UnknownNodeError);
  });

  it('rejects malformed secrets files', () => {
    expect(() => parseSecretsFile('https://a.example')).to.throw(SecretsError, /line 1/);
    expect(() => parseSecretsFile('https://a.example,nocolon')).to.throw(SecretsError);
    expect(() => parseSecretsFile('https://a.example,x:1')).to.throw(SecretsError);
    expect(() => parseSecretsFile('https://a.example,1:a\nhttps://a.example,2:b')).to.throw(SecretsError, /duplicate/);
  });

  it('derives one secret per master secret, oldest first, and caches them', () => {
    const secrets = new DerivedSecrets('0123456789abcdef0123456789abcdef fedcba9876543210fedcba9876543210');
    const list = secrets.get('https://node.example.com');
    expect(list).to.have.length(2);
    expect(list[0]?.secret).to.equal('c9f9165800f0b5c75fb687b521e002e0');
    expect(secrets.get('https://node.example.com')).to.equal(list);
    expect(signingSecret(secrets, 'https://node.example.com')).to.equal(list[1]);
  });

  it('uses fixed secrets for every node', () => {
    const secrets = new FixedSecrets('one two');
    expect(secrets.get().map((s) => s.secret)).to.deep.equal(['one', 'two']);
    expect(() => new FixedSecrets('  ')).to.throw(SecretsError);
  });
});

function makeMacOnly(body: string, secret: string): string {
  const mac = createHmac('sha256', new TokenSecret(secret).signingKey).update(body).digest();
  return Buffer.concat([Buffer.from(body), mac]).toString('base64url');
}
