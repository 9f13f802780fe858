import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DerivedSecrets,
  deriveKey,
  FileSecrets,
  MetricsHasher,
  parseToken,
  SecretsError,
  TokenSecret,
  UnknownNodeError,
  verifyToken,
} from '@tokenserver/shared';
import { expect } from 'chai';
import {
  GENERATED_MASTER_SECRET_FILE,
  GENERATED_METRICS_SECRET_FILE,
  loadOrCreateSecretFile,
  loadTokenSecrets,
} from '../../../worker/src/tokens/secrets-source.js';
import { effectiveDuration, formatFxaKid, TokenSigner } from '../../../worker/src/tokens/sign.js';

const NODE = 'https://node.example.com';
const MASTER = '0123456789abcdef0123456789abcdef';
const FXA_UID = '0123456789abcdef0123456789abcdef';
const NOW = 1_700_000_000_000;

const request = {
  uid: 42,
  node: NODE,
  fxaUid: FXA_UID,
  fxaKid: formatFxaKid(1234567, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
  now: NOW,
};

describe('token signing', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tokens-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('signs with the node secret; the key re-derives from it and the token verifies at the node', () => {
    const signer = new TokenSigner({ secrets: new DerivedSecrets(MASTER), metrics: 'insecure', durationS: 3600 });
    const token = signer.sign(request);
    const nodeSecret = 'c9f9165800f0b5c75fb687b521e002e0';
    const payload = parseToken(token.id, nodeSecret, { now: NOW });
    expect(deriveKey(token.id, payload.salt, nodeSecret)).to.equal(token.key);
    expect(payload).to.include({
      uid: 42,
      node: NODE,
      expires: NOW / 1000 + 3600,
      fxa_uid: FXA_UID,
      fxa_kid: '0000001234567-qqqqqqqqqqqqqqqqqqqqqg',
      hashed_fxa_uid: '201ccaf0ab33822e02f1c9f211dab7f0',
    });
    expect(Object.keys(payload)).to.deep.equal([
      'uid',
      'node',
      'expires',
      'fxa_uid',
      'fxa_kid',
      'hashed_fxa_uid',
      'hashed_device_id',
      'salt',
    ]);
    expect(token.hashedFxaUid).to.equal('201ccaf0ab33822e02f1c9f211dab7f0');
    expect(token.hashedDeviceId).to.equal(new MetricsHasher('insecure').hashedDeviceId(token.hashedFxaUid));
    expect(token.duration).to.equal(3600);
    expect(verifyToken(token.id, [nodeSecret], { node: NODE, now: NOW }).key).to.equal(token.key);
  });

  it('uses given metrics hashes and hashes the device id', () => {
    const signer = new TokenSigner({ secrets: new DerivedSecrets(MASTER), metrics: 'insecure', durationS: 3600 });
    const given = signer.sign({ ...request, hashedFxaUid: 'h', hashedDeviceId: 'd' });
    expect([given.hashedFxaUid, given.hashedDeviceId]).to.deep.equal(['h', 'd']);
    const device = signer.sign({ ...request, deviceId: 'dev' });
    expect(device.hashedDeviceId).to.equal(new MetricsHasher('insecure').hashedDeviceId(device.hashedFxaUid, 'dev'));
  });

  it('lowers the duration only with a valid smaller ?duration=', () => {
    const signer = new TokenSigner({ secrets: new DerivedSecrets(MASTER), metrics: 'm', durationS: 3600 });
    const lowered = signer.sign({ ...request, requestedDuration: '60' });
    expect(lowered.duration).to.equal(60);
    expect(lowered.expires).to.equal(NOW / 1000 + 60);
    for (const requested of ['0', '3600', '7200', '-5', 'abc', '1.5', '', 30.5]) {
      expect(effectiveDuration(3600, requested), String(requested)).to.equal(3600);
    }
    expect(effectiveDuration(3600, 10)).to.equal(10);
    expect(effectiveDuration(3600)).to.equal(3600);
  });

  it('formats fxa_kid as 13 digits and the unpadded base64url client state', () => {
    expect(formatFxaKid(1234567, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')).to.equal('0000001234567-qqqqqqqqqqqqqqqqqqqqqg');
    expect(formatFxaKid(1700000000000, '')).to.equal('1700000000000-');
  });

  it('signs with the newest secret of a secrets file; nodes keep accepting older ones', () => {
    const path = join(dir, 'secrets');
    writeFileSync(path, `${NODE},1700000000:newer-secret,1600000000:older-secret\nhttps://b.example,1:b\n`);
    const secrets = FileSecrets.fromFile(path);
    const signer = new TokenSigner({ secrets, metrics: 'm', durationS: 3600 });
    const token = signer.sign(request);
    expect(() => parseToken(token.id, 'older-secret', { now: NOW })).to.throw();
    expect(parseToken(token.id, 'newer-secret', { now: NOW }).uid).to.equal(42);
    const nodeSecrets = ['older-secret', 'newer-secret'].map((s) => new TokenSecret(s));
    expect(verifyToken(token.id, nodeSecrets, { node: NODE, now: NOW }).key).to.equal(token.key);
    expect(() => signer.sign({ ...request, node: 'https://unknown.example' })).to.throw(UnknownNodeError);
  });

  describe('secrets source', () => {
    const tokens = { duration: 3600, derive_node_secrets: true };

    it('generates the secret files with mode 0600 and reuses them on the next call', () => {
      const runDir = join(dir, 'run');
      const first = loadTokenSecrets(tokens, runDir);
      expect(first.source).to.equal('generated');
      expect(first.generated.map((f) => f.created)).to.deep.equal([true, true]);
      for (const name of [GENERATED_MASTER_SECRET_FILE, GENERATED_METRICS_SECRET_FILE]) {
        const path = join(runDir, name);
        expect(statSync(path).mode & 0o777).to.equal(0o600);
        expect(readFileSync(path, 'utf8').trim()).to.match(/^[0-9a-f]{64}$/);
      }
      const second = loadTokenSecrets(tokens, runDir, { create: false });
      expect(second.generated.map((f) => f.created)).to.deep.equal([false, false]);
      expect(second.metricsSecret).to.equal(first.metricsSecret);
      expect(second.nodeSecrets.get(NODE)[0]?.secret).to.equal(first.nodeSecrets.get(NODE)[0]?.secret);
    });

    it('never signs with a default: without a secret and without create it fails', () => {
      expect(() => loadTokenSecrets(tokens, join(dir, 'none'), { create: false })).to.throw(SecretsError);
    });

    it('uses the configured master secret, fixed or derived, and the secrets file', () => {
      const derived = loadTokenSecrets({ ...tokens, master_secret: MASTER, metrics_secret: 'm' }, dir);
      expect(derived.source).to.equal('master_secret');
      expect(derived.generated).to.deep.equal([]);
      expect(derived.nodeSecrets.get(NODE)[0]?.secret).to.equal('c9f9165800f0b5c75fb687b521e002e0');
      const fixed = loadTokenSecrets(
        { ...tokens, derive_node_secrets: false, master_secret: MASTER, metrics_secret: 'm' },
        dir,
      );
      expect(fixed.nodeSecrets.get(NODE)[0]?.secret).to.equal(MASTER);
      const path = join(dir, 'secrets');
      writeFileSync(path, `${NODE},1:s\n`);
      const file = loadTokenSecrets({ ...tokens, secrets_file: path, metrics_secret: 'm' }, dir);
      expect(file.source).to.equal('secrets_file');
      expect(() => loadTokenSecrets({ ...tokens, secrets_file: path, master_secret: MASTER }, dir)).to.throw(
        SecretsError,
      );
    });

    it('hands later callers the secret of the first one, created exactly once', async () => {
      const path = join(dir, 'race', 'secret');
      const results = await Promise.all(
        Array.from({ length: 20 }, () => Promise.resolve().then(() => loadOrCreateSecretFile(path))),
      );
      expect(new Set(results.map((r) => r.secret)).size).to.equal(1);
      expect(results.filter((r) => r.created)).to.have.length(1);
    });
  });
});
