import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { HawkClient, hawkHeader, hawkRequest } from '../../shared/src/hawk/client.js';
import { NonceCache } from '../../shared/src/hawk/nonce-cache.js';
import { type HawkRequest, type HawkResponse, hawkAuth } from '../../shared/src/hawk/server-auth.js';
import { FixedSecrets } from '../../shared/src/node-secrets.js';
import { makeToken } from '../../shared/src/tokenlib.js';
import { TOKENLIB_VECTOR } from '../support/token-vectors.js';

// Vectors from the team reference (auth-loadtest.md §3.3; tokenserver.md §2.5).
const SPEC_VECTOR = {
  key: 'werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn',
  url: 'http://example.com:8000/resource/1?b=1&a=2',
  ts: 1353832234,
  nonce: 'j4h3g2',
  ext: 'some-app-ext-data',
  mac: '6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=',
};
// The token of the full tokenlib vector (secret SECRET) and its key, sent to a Sync node.
const SYNC_VECTOR = {
  ...TOKENLIB_VECTOR,
  node: 'https://node.example.com',
  path: '/1.5/42/info/collections',
  host: 'node.example.com:443',
  ts: 1700000000,
  nonce: 'abc123',
  mac: 'NpQjDYHFLXsw5xUBNMAp4wW66HKIg/ZeXR3fzJzz1kU=',
};

function macOf(header: string): string | undefined {
  return /mac="([^"]+)"/.exec(header)?.[1];
}

/** Runs the middleware on a request object without HTTP; returns the status (0 = passed on). */
async function runMiddleware(
  middleware: ReturnType<typeof hawkAuth>,
  request: { method: string; url: string; headers: Record<string, string> },
): Promise<{ status: number; auth: unknown; headers: Record<string, string>; body: string }> {
  const req = { ...request, socket: {}, params: {}, async *[Symbol.asyncIterator]() {} } as unknown as HawkRequest;
  const headers: Record<string, string> = {};
  let body = '';
  const res: HawkResponse = {
    statusCode: 0,
    headersSent: false,
    setHeader: (name, value) => {
      headers[name.toLowerCase()] = value;
    },
    end: (text) => {
      body = text;
    },
  };
  let passed = false;
  await middleware(req, res, (err) => {
    if (err) throw err;
    passed = true;
  });
  return { status: passed ? 0 : res.statusCode, auth: req.auth, headers, body };
}

describe('hawk: reference vectors', () => {
  it('signs the Hawk spec vector', () => {
    const header = hawkHeader({ id: 'dh37fgj492je', key: SPEC_VECTOR.key }, 'GET', SPEC_VECTOR.url, {
      ts: SPEC_VECTOR.ts,
      nonce: SPEC_VECTOR.nonce,
      ext: SPEC_VECTOR.ext,
    });
    expect(header).to.equal(
      `Hawk id="dh37fgj492je", ts="${SPEC_VECTOR.ts}", nonce="${SPEC_VECTOR.nonce}", ext="${SPEC_VECTOR.ext}", mac="${SPEC_VECTOR.mac}"`,
    );
  });

  it('signs the Sync vector with the ASCII of the key string, default port from the scheme', () => {
    const token = makeToken(SYNC_VECTOR.payload, SYNC_VECTOR.secret);
    expect(token.key).to.equal(SYNC_VECTOR.key);
    const header = hawkHeader(token, 'get', `${SYNC_VECTOR.node}${SYNC_VECTOR.path}`, {
      ts: SYNC_VECTOR.ts,
      nonce: SYNC_VECTOR.nonce,
    });
    expect(macOf(header)).to.equal(SYNC_VECTOR.mac);
    expect(header.startsWith(`Hawk id="${token.id}", ts="1700000000", nonce="abc123", mac=`)).to.equal(true);
  });

  it('accepts the Sync vector request on the node, and fills req.auth from the token', async () => {
    const token = makeToken(SYNC_VECTOR.payload, SYNC_VECTOR.secret);
    const middleware = hawkAuth({
      secrets: new FixedSecrets(SYNC_VECTOR.secret),
      node: SYNC_VECTOR.node,
      now: () => SYNC_VECTOR.ts * 1000 + 5000,
    });
    const authorization = `Hawk id="${token.id}", ts="${SYNC_VECTOR.ts}", nonce="${SYNC_VECTOR.nonce}", mac="${SYNC_VECTOR.mac}"`;
    const request = { method: 'GET', url: SYNC_VECTOR.path, headers: { host: SYNC_VECTOR.host, authorization } };
    const accepted = await runMiddleware(middleware, request);
    expect(accepted.status).to.equal(0);
    expect(accepted.auth).to.deep.include({
      uid: 42,
      fxaUid: SYNC_VECTOR.payload.fxa_uid,
      fxaKid: SYNC_VECTOR.payload.fxa_kid,
    });
    // Same request again: the nonce was used.
    const replayed = await runMiddleware(middleware, request);
    expect(replayed.status).to.equal(401);
    expect(JSON.parse(replayed.body)).to.deep.include({ code: 'ERR_HAWK_REPLAYED_NONCE' });
    // Another host or port is another MAC.
    const moved = await runMiddleware(middleware, {
      ...request,
      headers: { ...request.headers, host: 'node.example.com:8443' },
    });
    expect(JSON.parse(moved.body)).to.deep.include({ code: 'ERR_HAWK_BAD_MAC' });
  });

  it('hashes the payload with its content type, and resolves URLs against api_endpoint', () => {
    const token = {
      ...makeToken(SYNC_VECTOR.payload, SYNC_VECTOR.secret),
      api_endpoint: 'https://node.example.com/1.5/42',
    };
    const signed = hawkRequest(token, 'put', 'storage/meta', '{"a":1}', { ts: SYNC_VECTOR.ts, nonce: 'n' });
    expect(signed.url).to.equal('https://node.example.com/1.5/42/storage/meta');
    expect(signed.method).to.equal('PUT');
    expect(signed.headers['Content-Type']).to.equal('application/json');
    const hash = createHash('sha256').update('hawk.1.payload\napplication/json\n{"a":1}\n').digest('base64');
    expect(signed.headers.Authorization).to.include(`hash="${hash}", mac="`);
    const unhashed = hawkRequest(token, 'PUT', 'storage/meta', '{"a":1}', { ts: SYNC_VECTOR.ts, hashPayload: false });
    expect(unhashed.headers.Authorization).not.to.include('hash=');
    expect(() => hawkRequest({ id: 'x', key: 'y' }, 'GET', 'storage/meta')).to.throw(TypeError);
    expect(new HawkClient(token).clockOffsetMs).to.equal(0);
  });
});

describe('hawk: NonceCache', () => {
  it('refuses a nonce seen within the ttl, per key, and forgets it after', () => {
    let now = 1000;
    const cache = new NonceCache({ ttlMs: 100, now: () => now });
    expect(cache.add('k1', 'n')).to.equal(true);
    expect(cache.add('k1', 'n')).to.equal(false);
    expect(cache.add('k2', 'n')).to.equal(true);
    now += 100;
    expect(cache.add('k1', 'n')).to.equal(true);
    expect(cache.size).to.equal(1);
  });

  it('stays within maxEntries, dropping the oldest first', () => {
    const cache = new NonceCache({ ttlMs: 60_000, maxEntries: 3 });
    for (const nonce of ['a', 'b', 'c', 'd']) expect(cache.add('k', nonce)).to.equal(true);
    expect(cache.size).to.equal(3);
    expect(cache.add('k', 'd')).to.equal(false);
    expect(cache.add('k', 'a')).to.equal(true);
    expect(() => new NonceCache({ ttlMs: 0 })).to.throw(RangeError);
  });
});
