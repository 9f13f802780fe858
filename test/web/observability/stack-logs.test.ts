import { expect } from 'chai';
import { keyPair, makeBackedAssertion } from '../../support/browserid.js';
import { mintAccessToken } from '../../support/oauth.js';
import { MASTER_SECRET, METRICS_SECRET, NODE_SECRET, TestStack } from '../../support/stack.js';

// The real processes, JSON logs: each request leaves one line in the web front's log, and no process logs a
// credential, a token, a token key, an email or a secret, for good or bad credentials alike.

const FXA_UID = 'fedcba9876543210fedcba9876543210';
const OAUTH_SUB = '00112233445566778899aabbccddeeff';

describe('request logs of a real stack', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await TestStack.start();
    stack.trustIssuer('idp.test');
  });
  after(() => stack?.stop());

  it('logs one line per request and never a credential, token, key, email or secret', async () => {
    const email = `${FXA_UID}@idp.test`;
    const assertion = makeBackedAssertion({ issuerKey: keyPair('RS256', 'issuer'), email });
    const browserid = await stack.token({ Authorization: `BrowserID ${assertion}`, 'User-Agent': 'obs-test/1' });
    expect(browserid.status, browserid.text).to.equal(200);
    const jwt = await mintAccessToken(stack.oauthKey, { claims: { sub: OAUTH_SUB } });
    const oauth = await stack.token({ Authorization: `Bearer ${jwt}`, 'X-KeyID': '1234-qqqqqqqqqqqqqqqqqqqqqg' });
    expect(oauth.status, oauth.text).to.equal(200);
    const forged = `${assertion.slice(0, -8)}AAAAAAAA`;
    const refused = await stack.token({ Authorization: `BrowserID ${forged}` });
    expect(refused.status).to.equal(401);

    const answers = [browserid, oauth, refused];
    const ids = answers.map((answer) => answer.headers.get('x-request-id'));
    const lines = await waitForRequestLines(stack, ids);
    expect(lines.map((line) => [line.status, line.errorStatus ?? null])).to.deep.equal([
      [200, null],
      [200, null],
      [401, 'invalid-credentials'],
    ]);
    expect(lines[0]).to.include({ route: '/1.0/:application/:version', agent: 'obs-test/1' });
    expect(lines[0]?.hashedFxaUid).to.equal(browserid.body?.hashed_fxa_uid);
    expect(lines[1]?.hashedFxaUid).to.equal(oauth.body?.hashed_fxa_uid);
    for (const line of lines.slice(0, 2)) {
      for (const timing of ['verifyMs', 'dbMs', 'signMs']) expect(line[timing], timing).to.be.a('number');
    }

    const output = [stack.web, stack.workers, stack.broker]
      .map((proc) => `${proc?.stdout ?? ''}${proc?.stderr ?? ''}`)
      .join('\n');
    const secrets: Record<string, string> = {
      assertion,
      'assertion signature': assertion.slice(-40),
      'OAuth token': jwt,
      'OAuth token signature': jwt.slice(-40),
      'BrowserID token id': String(browserid.body?.id),
      'BrowserID token key': String(browserid.body?.key),
      'OAuth token id': String(oauth.body?.id),
      'OAuth token key': String(oauth.body?.key),
      email,
      'FxA uid': FXA_UID,
      'OAuth sub': OAUTH_SUB,
      'master secret': MASTER_SECRET,
      'metrics secret': METRICS_SECRET,
      'node secret': NODE_SECRET,
    };
    for (const [what, secret] of Object.entries(secrets)) {
      expect(output.includes(secret), `${what} appears in the logs`).to.equal(false);
    }
  });
});

async function waitForRequestLines(
  stack: TestStack,
  ids: Array<string | null>,
): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const byId = new Map(
      stack.web
        .logLines()
        .filter((line) => line.msg === 'request')
        .map((line) => [line.requestId, line]),
    );
    const lines = ids.map((id) => byId.get(id));
    if (lines.every((line) => line !== undefined)) return lines as Array<Record<string, unknown>>;
    if (Date.now() > deadline) throw new Error(`request lines missing for ${ids.join(', ')}:\n${stack.web.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
