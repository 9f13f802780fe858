import { expect } from 'chai';
import { emailOf, FlowStack, type FlowUser, newFlowUser, WEBHOOK_AUDIENCE } from '../../support/flow-stack.js';
import { createSigningKey, mintAccessToken } from '../../support/oauth.js';
import { DELETE_USER, mintSecurityEvent, PASSWORD_CHANGE, PROFILE_CHANGE } from '../../support/security-events.js';
import { errorOf } from '../../support/stack.js';

// Account events lock out old devices: a retired account never gets a token again, and after a password change
// (a new generation) devices still on the old generation get 401 invalid-generation. Both through the CLI and
// through the FxA webhook, whose JWT only workers verify.

describe('flows: account events', function () {
  this.timeout(30_000);
  let flows: FlowStack;

  before(async () => {
    flows = await FlowStack.start();
  });
  after(() => flows?.stop());
  afterEach(() => {
    flows.stack.jwks.mode = 'up';
  });

  async function expectToken(user: FlowUser, status: 200 | 'invalid-generation'): Promise<void> {
    const answer = await flows.requestToken(user);
    if (status === 200) expect(answer.status, answer.text).to.equal(200);
    else expect(errorOf(answer)).to.include({ http: 401, status });
  }

  function event(user: FlowUser, events: Record<string, Record<string, unknown>>): Promise<string> {
    return mintSecurityEvent(flows.stack.oauthKey, { sub: user.fxaUid, audience: WEBHOOK_AUDIENCE, events });
  }

  it('user retire: no token ever again, whatever the generation', async () => {
    const user = newFlowUser();
    await expectToken(user, 200);
    expect(await flows.cli('user', 'retire', emailOf(user))).to.include({ code: 0 });
    await expectToken(user, 'invalid-generation');
    await expectToken({ ...user, generation: Date.now() }, 'invalid-generation');
  });

  it('user bump-generation: the old device is refused, a device on the new generation is served', async () => {
    const oldDevice = newFlowUser(1000);
    await expectToken(oldDevice, 200);
    const bumped = await flows.cli('user', 'bump-generation', emailOf(oldDevice), '2000');
    expect(bumped).to.include({
      code: 0,
      stdout: `${emailOf(oldDevice)}: generations below 2000 refused in 1 service(s)\n`,
    });
    await expectToken(oldDevice, 'invalid-generation');
    await expectToken({ ...oldDevice, generation: 2000 }, 200);
    expect((await flows.cli('user', 'bump-generation', 'nobody@example', '5')).code).to.equal(1);
    expect((await flows.cli('user', 'bump-generation', emailOf(oldDevice), 'soon')).code).to.equal(2);
  });

  it('webhook password-change: the old device is refused, the new generation is served', async () => {
    const oldDevice = newFlowUser(1000);
    await expectToken(oldDevice, 200);
    const answer = await flows.postEvent(
      `Bearer ${await event(oldDevice, { [PASSWORD_CHANGE]: { changeTime: 3000 } })}`,
    );
    expect(answer.status, answer.text).to.equal(200);
    await expectToken(oldDevice, 'invalid-generation');
    await expectToken({ ...oldDevice, generation: 3000 }, 200);
  });

  it('webhook delete-user: the account is retired; unknown event types are accepted and ignored', async () => {
    const user = newFlowUser();
    await expectToken(user, 200);
    expect((await flows.postEvent(`Bearer ${await event(user, { [PROFILE_CHANGE]: {} })}`)).status).to.equal(200);
    await expectToken(user, 200);
    expect((await flows.postEvent(`Bearer ${await event(user, { [DELETE_USER]: {} })}`)).status).to.equal(200);
    await expectToken(user, 'invalid-generation');
  });

  it('webhook authentication failures change nothing', async () => {
    const user = newFlowUser(1000);
    await expectToken(user, 200);
    const lockout = { [PASSWORD_CHANGE]: { changeTime: 5000 } };
    const strangerKey = await createSigningKey(flows.stack.oauthKey.kid);
    const cases: Array<[string, string | undefined, number, string]> = [
      ['no Authorization', undefined, 401, 'error'],
      ['another scheme', 'Basic dXNlcjpwYXNz', 401, 'error'],
      ['not a JWT', 'Bearer not-a-jwt', 401, 'invalid-credentials'],
      [
        'another audience',
        `Bearer ${await mintSecurityEvent(flows.stack.oauthKey, { sub: user.fxaUid, audience: 'other', events: lockout })}`,
        401,
        'invalid-credentials',
      ],
      [
        'a key not in the JWKS',
        `Bearer ${await mintSecurityEvent(strangerKey, { sub: user.fxaUid, audience: WEBHOOK_AUDIENCE, events: lockout })}`,
        401,
        'invalid-credentials',
      ],
      [
        'an access token carrying events',
        `Bearer ${await mintAccessToken(flows.stack.oauthKey, { claims: { sub: user.fxaUid, aud: WEBHOOK_AUDIENCE, events: lockout } })}`,
        401,
        'invalid-credentials',
      ],
      [
        'a password change without changeTime',
        `Bearer ${await event(user, { [PASSWORD_CHANGE]: {} })}`,
        401,
        'invalid-credentials',
      ],
    ];
    for (const [what, authorization, http, status] of cases) {
      const answer = await flows.postEvent(authorization);
      expect(errorOf(answer), what).to.include({ http, status });
      expect(answer.headers.get('www-authenticate'), what).to.equal('Bearer');
    }
    // A key id the workers have not cached makes them fetch the JWKS, which is down.
    const newKey = await createSigningKey('key-2');
    flows.stack.jwks.mode = 'down';
    const unavailable = await flows.postEvent(
      `Bearer ${await mintSecurityEvent(newKey, { sub: user.fxaUid, audience: WEBHOOK_AUDIENCE, events: lockout })}`,
    );
    expect(unavailable.status, unavailable.text).to.equal(503);
    await expectToken(user, 200);
    const get = await fetch(`${flows.stack.url}/1.0/webhooks/fxa/events`);
    expect(get.status).to.equal(405);
  });
});
