import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import express from 'express';
import { HawkClient, hawkHeader, hawkRequest } from '../../shared/src/hawk/client.js';
import { hawkAuth, hawkAuthOf } from '../../shared/src/hawk/server-auth.js';
import { FileSecrets, FixedSecrets, type NodeSecrets } from '../../shared/src/node-secrets.js';
import { TokenSecret } from '../../shared/src/tokenlib.js';
import { type IssuedToken, issueToken, LoopbackServer } from '../support/hawk.js';

const OLD_SECRET = 'old-secret-0123456789abcdef';
const NEW_SECRET = 'new-secret-0123456789abcdef';

interface Answer {
  status: number;
  challenge: string | null;
  body: Record<string, unknown>;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: JSON.parse(text) };
}

/** Asserts the 401 shape every failure shares, and returns the JSON code. */
function rejectedCode(result: Answer): unknown {
  expect(result.status, JSON.stringify(result.body)).to.equal(401);
  expect(result.challenge).to.match(/^Hawk\b/);
  expect(result.body.status).to.equal('invalid-credentials');
  return result.body.code;
}

describe('hawk: hawkAuth on a service node', () => {
  let server: LoopbackServer;
  let secrets: NodeSecrets;
  // Server time minus real time, to test skew.
  let serverOffsetMs = 0;

  before(async () => {
    server = await LoopbackServer.start((node) => {
      secrets = new FileSecrets(
        new Map([
          [
            node,
            [
              { timestamp: 1, secret: OLD_SECRET },
              { timestamp: 2, secret: NEW_SECRET },
            ],
          ],
        ]),
      );
      const auth = hawkAuth({ secrets, node, maxBodyBytes: 1024, now: () => Date.now() + serverOffsetMs });
      const app = express();
      app.get('/1.5/:uid/echo', auth, (req, res) => void res.json(hawkAuthOf(req)));
      app.put('/1.5/:uid/echo', auth, express.raw({ type: () => true }), (req, res) => {
        res.json({ uid: hawkAuthOf(req).uid, bytes: Buffer.isBuffer(req.body) ? req.body.length : 0 });
      });
      app.get('/no-uid', auth, (req, res) => void res.json({ uid: hawkAuthOf(req).uid }));
      return app;
    });
  });
  after(() => server.close());
  afterEach(() => {
    serverOffsetMs = 0;
  });

  const token = (options: Parameters<typeof issueToken>[2] = {}): IssuedToken =>
    issueToken(secrets, server.url, options);
  const send = (signed: ReturnType<typeof hawkRequest>): Promise<Response> =>
    fetch(signed.url, {
      method: signed.method,
      headers: signed.headers,
      ...(signed.body ? { body: signed.body } : {}),
    });
  const get = (authorization?: string, path = '/1.5/42/echo'): Promise<Answer> =>
    fetch(`${server.url}${path}`, authorization ? { headers: { authorization } } : {}).then(answer);

  it('accepts a token of this node and exposes uid, FxA ids and the payload', async () => {
    const issued = token();
    const result = await answer(await send(hawkRequest(issued, 'GET', 'echo')));
    expect(result.status).to.equal(200);
    expect(result.body).to.deep.include({ uid: 42, fxaUid: issued.payload.fxa_uid, fxaKid: issued.payload.fxa_kid });
    expect(result.body.payload).to.deep.equal(issued.payload);
  });

  it('checks a payload hash when one is sent, and reads bodies without one untouched', async () => {
    const issued = token();
    const hashed = await answer(await send(hawkRequest(issued, 'PUT', 'echo', '{"a":1}')));
    expect(hashed).to.deep.include({ status: 200, body: { uid: 42, bytes: 7 } });
    const unhashed = await answer(await send(hawkRequest(issued, 'PUT', 'echo', 'abc', { hashPayload: false })));
    expect(unhashed).to.deep.include({ status: 200, body: { uid: 42, bytes: 3 } });
    const signed = hawkRequest(issued, 'PUT', 'echo', '{"a":1}');
    const tampered = await answer(await fetch(signed.url, { method: 'PUT', headers: signed.headers, body: '{"a":2}' }));
    expect(rejectedCode(tampered)).to.equal('ERR_HAWK_BAD_PAYLOAD_HASH');
    const big = 'x'.repeat(2000);
    const tooLarge = await send(hawkRequest(issued, 'PUT', 'echo', big));
    expect(tooLarge.status).to.equal(413);
    expect(((await tooLarge.json()) as { code: string }).code).to.equal('ERR_HAWK_PAYLOAD_TOO_LARGE');
  });

  it('accepts tokens of every listed secret (rotation) and refuses a secret no longer listed', async () => {
    const byOld = token({ secret: OLD_SECRET });
    expect((await send(hawkRequest(byOld, 'GET', 'echo'))).status).to.equal(200);
    const retired = token({ secret: 'retired-secret-0123456789' });
    expect(rejectedCode(await answer(await send(hawkRequest(retired, 'GET', 'echo'))))).to.equal(
      'ERR_TOKEN_BAD_SIGNATURE',
    );
  });

  it('refuses expired tokens and tokens for another node', async () => {
    const expired = token({ now: Date.now() - 7200_000, durationS: 3600 });
    expect(rejectedCode(await answer(await send(hawkRequest(expired, 'GET', 'echo'))))).to.equal('ERR_TOKEN_EXPIRED');
    const elsewhere = token({ claimedNode: 'http://other.example:8001', secret: new TokenSecret(NEW_SECRET) });
    const signed = hawkRequest(elsewhere, 'GET', `${server.url}/1.5/42/echo`);
    expect(rejectedCode(await answer(await send(signed)))).to.equal('ERR_TOKEN_WRONG_NODE');
  });

  it('refuses a tampered mac, a tampered token and a forged key', async () => {
    const issued = token();
    const header = hawkHeader(issued, 'GET', `${server.url}/1.5/42/echo`);
    const badMac = header.replace(/mac="(.)/, (_m, c: string) => `mac="${c === 'A' ? 'B' : 'A'}`);
    expect(rejectedCode(await get(badMac))).to.equal('ERR_HAWK_BAD_MAC');
    const forgedKey = hawkHeader({ id: issued.id, key: 'not-the-key' }, 'GET', `${server.url}/1.5/42/echo`);
    expect(rejectedCode(await get(forgedKey))).to.equal('ERR_HAWK_BAD_MAC');
    const flipped = issued.id.slice(0, 10) + (issued.id[10] === 'A' ? 'B' : 'A') + issued.id.slice(11);
    const tamperedToken = hawkHeader({ id: flipped, key: issued.key }, 'GET', `${server.url}/1.5/42/echo`);
    expect(rejectedCode(await get(tamperedToken))).to.equal('ERR_TOKEN_BAD_SIGNATURE');
    const junk = hawkHeader({ id: 'bm90LWEtdG9rZW4=', key: issued.key }, 'GET', `${server.url}/1.5/42/echo`);
    expect(rejectedCode(await get(junk))).to.equal('ERR_TOKEN_MALFORMED');
  });

  it('refuses a replayed nonce', async () => {
    const signed = hawkRequest(token(), 'GET', 'echo');
    expect((await send(signed)).status).to.equal(200);
    expect(rejectedCode(await answer(await send(signed)))).to.equal('ERR_HAWK_REPLAYED_NONCE');
  });

  it('refuses a stale timestamp with the server time and its tsm in the challenge', async () => {
    const issued = token();
    const ts = Math.floor(Date.now() / 1000) - 120;
    const result = await answer(await send(hawkRequest(issued, 'GET', 'echo', undefined, { ts })));
    expect(rejectedCode(result)).to.equal('ERR_HAWK_STALE_TIMESTAMP');
    const [, serverTs, tsm] =
      /^Hawk ts="(\d+)", tsm="([^"]+)", error="Stale timestamp"$/.exec(result.challenge ?? '') ?? [];
    expect(Math.abs(Number(serverTs) - Date.now() / 1000)).to.be.below(5);
    const expected = createHmac('sha256', issued.key).update(`hawk.1.ts\n${serverTs}\n`).digest('base64');
    expect(tsm).to.equal(expected);
  });

  it('refuses a validly signed ts that is not a whole number of seconds, which no skew window would catch', async () => {
    const issued = token();
    const now = Math.floor(Date.now() / 1000);
    for (const ts of ['abc', `0x${now.toString(16)}`, `${now}.5`]) {
      // The client helper takes a number; a hostile client signs whatever string it likes.
      const signed = hawkRequest(issued, 'GET', 'echo', undefined, { ts: ts as unknown as number });
      expect(signed.headers.Authorization).to.include(`ts="${ts}"`);
      expect(rejectedCode(await answer(await send(signed))), ts).to.equal('ERR_HAWK_MALFORMED');
    }
  });

  it('HawkClient resyncs its clock from a genuine stale-timestamp answer and retries once', async () => {
    serverOffsetMs = 10 * 60_000;
    const client = new HawkClient(token());
    const response = await client.request('GET', 'echo');
    expect(response.status).to.equal(200);
    expect(client.clockOffsetMs).to.be.within(serverOffsetMs - 2000, serverOffsetMs + 2000);
  });

  it('refuses a token whose uid is not the URL uid, and skips the check on routes without one', async () => {
    const issued = token({ uid: 7 });
    const signed = hawkRequest(issued, 'GET', `${server.url}/1.5/42/echo`);
    expect(rejectedCode(await answer(await send(signed)))).to.equal('ERR_HAWK_UID_MISMATCH');
    const noUid = await answer(await send(hawkRequest(issued, 'GET', `${server.url}/no-uid`)));
    expect(noUid).to.deep.include({ status: 200, body: { uid: 7 } });
  });

  it('answers 401 + WWW-Authenticate + JSON to missing, foreign, malformed and oversized headers', async () => {
    const issued = token();
    const valid = hawkHeader(issued, 'GET', `${server.url}/1.5/42/echo`);
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'ERR_HAWK_MISSING'],
      ['Bearer abc', 'ERR_HAWK_MISSING'],
      ['Hawk', 'ERR_HAWK_MALFORMED'],
      ['Hawk id="x" ts="1"', 'ERR_HAWK_MALFORMED'],
      [valid.replace(/, nonce="[^"]*"/, ''), 'ERR_HAWK_MALFORMED'],
      [valid.replace(/, mac="[^"]*"/, ''), 'ERR_HAWK_MALFORMED'],
      [valid.replace(/^Hawk id="[^"]*", /, 'Hawk '), 'ERR_HAWK_MALFORMED'],
      [`${valid}, id="again"`, 'ERR_HAWK_MALFORMED'],
      [`${valid}, colour="blue"`, 'ERR_HAWK_MALFORMED'],
      [`Hawk id="${'a'.repeat(5000)}", ts="1", nonce="n", mac="m"`, 'ERR_HAWK_MALFORMED'],
    ];
    for (const [authorization, code] of cases) {
      const result = await get(authorization);
      expect(rejectedCode(result), String(authorization).slice(0, 80)).to.equal(code);
    }
    expect((await get(undefined)).challenge).to.equal('Hawk');
  });

  it('refuses to start for a node it has no secret for', () => {
    expect(() => hawkAuth({ secrets: new FileSecrets(new Map()), node: 'http://x' })).to.throw(/no token secret/);
    expect(() => hawkAuth({ secrets: new FixedSecrets('abcdef'), node: 'http://x' })).not.to.throw();
  });
});
