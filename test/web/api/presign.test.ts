import { randomBytes } from 'node:crypto';
import {
  decodeJobBody,
  encodeJobBody,
  formatFxaKid,
  parseToken,
  TokenJob,
  type VerifyOAuthRequest,
  type VerifyVerdict,
} from '@tokenserver/shared';
import { expect } from 'chai';
import { keyPair, makeBackedAssertion } from '../../support/browserid.js';
import { mintAccessToken } from '../../support/oauth.js';
import { eventually } from '../../support/processes.js';
import type { ApiAnswer, TestStack } from '../../support/stack.js';
import { NODE_SECRET, NODE_URL } from '../../support/stack.js';
import { stackForSuite } from '../../support/suite-stack.js';

// An existing user's token comes with the verification (one job instead of two) exactly when the account rules
// leave the user as the web front read it; otherwise a sign job makes it, as for a new user.

function browserId(fxaUid: string, generation: number, clientState: string): Record<string, string> {
  const assertion = makeBackedAssertion({
    email: `${fxaUid}@idp.test`,
    idpClaims: { 'fxa-generation': generation },
    issuerKey: keyPair('RS256', 'issuer'),
  });
  return { Authorization: `BrowserID ${assertion}`, 'X-Client-State': clientState };
}

describe('presigned tokens', function () {
  this.timeout(60_000);
  const suiteStack = stackForSuite();
  let stack: TestStack;
  beforeEach(() => {
    stack = suiteStack();
  });

  /** The `presigned` field of the web front's log line for this answer. */
  async function presigned(answer: ApiAnswer): Promise<unknown> {
    const requestId = answer.headers.get('x-request-id');
    const line = await eventually(() =>
      stack.web.logLines().find((l) => l.msg === 'request' && l.requestId === requestId),
    );
    return line.presigned;
  }

  function expectToken(answer: ApiAnswer, fxaUid: string, fxaKid: string): void {
    expect(answer.status, answer.text).to.equal(200);
    const payload = parseToken(answer.body?.id as string, NODE_SECRET);
    expect(payload).to.include({ uid: answer.body?.uid, node: NODE_URL, fxa_uid: fxaUid, fxa_kid: fxaKid });
  }

  it('signs an unchanged existing user with the verification, and signs again when the rules changed the user', async () => {
    const fxaUid = randomBytes(16).toString('hex');
    const first = await stack.token(browserId(fxaUid, 10, 'aaaa'));
    expectToken(first, fxaUid, formatFxaKid(10, 'aaaa'));
    expect(await presigned(first)).to.equal(false);

    const again = await stack.token(browserId(fxaUid, 10, 'aaaa'));
    expectToken(again, fxaUid, formatFxaKid(10, 'aaaa'));
    expect(again.body?.uid).to.equal(first.body?.uid);
    expect(await presigned(again)).to.equal(true);

    // A generation bump changes fxa_kid (no keys_changed_at): the guessed token is not the right one.
    const bumped = await stack.token(browserId(fxaUid, 11, 'aaaa'));
    expectToken(bumped, fxaUid, formatFxaKid(11, 'aaaa'));
    expect(await presigned(bumped)).to.equal(false);

    // A new client state makes a new uid: the guessed token (old uid) is not used either.
    const replaced = await stack.token(browserId(fxaUid, 12, 'bbbb'));
    expectToken(replaced, fxaUid, formatFxaKid(12, 'bbbb'));
    expect(replaced.body?.uid).to.not.equal(first.body?.uid);
    expect(await presigned(replaced)).to.equal(false);
  });

  it('keeps ?duration= on a presigned token', async () => {
    const fxaUid = randomBytes(16).toString('hex');
    expect((await stack.token(browserId(fxaUid, 5, 'cccc'))).status).to.equal(200);
    const short = await stack.get('/1.0/sync/1.5?duration=600', browserId(fxaUid, 5, 'cccc'));
    expect(await presigned(short)).to.equal(true);
    expect(short.body?.duration).to.equal(600);
    const payload = parseToken(short.body?.id as string, NODE_SECRET);
    expect(payload.expires - Date.now() / 1000).to.be.within(590, 601);
  });

  it('the worker signs only for the email the credential proves', async () => {
    const client = stack.cluster.client();
    try {
      const token = await mintAccessToken(stack.oauthKey, { claims: { sub: 'abcdef' } });
      const presign = { uid: 7, node: NODE_URL, fxaKid: formatFxaKid(1234, '') };
      const verdictFor = async (email: string): Promise<VerifyVerdict> => {
        const request: VerifyOAuthRequest = { token, presign: { ...presign, email } };
        return decodeJobBody<VerifyVerdict>(await client.submit(TokenJob.verifyOAuth, encodeJobBody(request)));
      };
      const other = await verdictFor('someone-else@api.accounts.firefox.com');
      expect(other.ok && other.token).to.equal(undefined);
      const own = await verdictFor('abcdef@api.accounts.firefox.com');
      if (!own.ok || !own.token) throw new Error(`expected a presigned token: ${JSON.stringify(own)}`);
      expect(parseToken(own.token.id, NODE_SECRET)).to.include({ uid: 7, node: NODE_URL, fxa_uid: 'abcdef' });
      const unknownNode = decodeJobBody<VerifyVerdict>(
        await client.submit(
          TokenJob.verifyOAuth,
          encodeJobBody({
            token,
            presign: { ...presign, email: 'abcdef@api.accounts.firefox.com', node: 'https://x' },
          }),
        ),
      );
      expect(unknownNode.ok, 'verification still succeeds').to.equal(true);
    } finally {
      client.close();
    }
  });
});

describe('presigned tokens turned off', function () {
  this.timeout(60_000);
  const suiteStack = stackForSuite({ TOKENSERVER_WEB__PRESIGN_TOKENS: 'false' });

  it('always sends a sign job', async () => {
    const stack = suiteStack();
    const fxaUid = randomBytes(16).toString('hex');
    for (let i = 0; i < 2; i++) expect((await stack.token(browserId(fxaUid, 1, 'dddd'))).status).to.equal(200);
    const tokenLines = () =>
      stack.web.logLines().filter((l) => l.msg === 'request' && l.route === '/1.0/:application/:version');
    const lines = await eventually(() => tokenLines().length === 2 && tokenLines());
    expect(lines.map((l) => l.presigned)).to.deep.equal([false, false]);
    expect(lines.every((l) => typeof l.signMs === 'number')).to.equal(true);
  });
});
