import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { keyPair, makeBackedAssertion } from '../../support/browserid.js';
import { eventually } from '../../support/processes.js';
import { errorOf, MASTER_SECRET, TestStack } from '../../support/stack.js';

function browserId(): Record<string, string> {
  const email = `${randomBytes(16).toString('hex')}@idp.test`;
  return { Authorization: `BrowserID ${makeBackedAssertion({ email, issuerKey: keyPair('RS256', 'issuer') })}` };
}

describe('token API resilience', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await TestStack.start();
    stack.trustIssuer('idp.test');
  });
  after(() => stack?.stop());

  it('keeps token secrets out of the web process', () => {
    const environ = readFileSync(`/proc/${stack.web.pid}/environ`, 'utf8');
    expect(environ).to.not.include(MASTER_SECRET);
    expect(environ).to.not.include('TOKENSERVER_TOKENS__');
  });

  it('answers 503 with Retry-After while the broker is down, and recovers when it is back', async () => {
    expect((await stack.token(browserId())).status).to.equal(200);
    await stack.stopBroker();
    const down = await stack.token(browserId());
    expect(errorOf(down)).to.deep.include({ http: 503, status: 'error' });
    expect(down.headers.get('retry-after')).to.equal('7');
    const heartbeat = await eventually(async () => {
      const answer = await stack.get('/__heartbeat__');
      return answer.status === 503 && answer;
    });
    expect(heartbeat.body?.broker).to.equal('Err');
    await stack.startBroker();
    await stack.waitUntilHealthy();
    expect((await stack.token(browserId())).status).to.equal(200);
  });

  it('cannot answer a token request without workers: every request gets 503', async () => {
    await stack.workers.stop();
    const heartbeat = await eventually(async () => {
      const answer = await stack.get('/__heartbeat__');
      return answer.status === 503 && answer;
    });
    expect(((heartbeat.body?.errors ?? []) as Array<{ name: string }>).map((e) => e.name)).to.deep.equal(['workers']);
    const answers = await Promise.all(Array.from({ length: 10 }, () => stack.token(browserId())));
    for (const answer of answers) {
      expect(errorOf(answer)).to.deep.include({ http: 503, status: 'error' });
      expect(answer.headers.get('retry-after')).to.equal('7');
    }
  });
});

describe('token API with new users disabled', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await TestStack.start({ TOKENSERVER_ASSIGNMENT__ALLOW_NEW_USERS: 'false' });
    stack.trustIssuer('idp.test');
  });
  after(() => stack?.stop());

  it('answers 401 new-users-disabled for an unknown user', async () => {
    const answer = await stack.token(browserId());
    expect(errorOf(answer)).to.deep.equal({
      http: 401,
      status: 'new-users-disabled',
      description: 'New users are not allowed',
    });
  });
});
