import { expect } from 'chai';
import { freePort } from '../../support/powerhose.js';
import { runToExit } from '../../support/processes.js';
import { TOKENSERVER_CLI } from '../../support/stack.js';

// Bad input to `tokenserver hawk-request` gets one line on stderr and exit 1 (test/web/api/start.test.ts sends it
// to the example node of a real stack).

describe('tokenserver hawk-request with bad input', () => {
  const run = (args: string[], input?: string) =>
    runToExit(process.execPath, [TOKENSERVER_CLI, 'hawk-request', ...args], {}, input);

  const cases: Array<[string, string[], string | undefined, RegExp]> = [
    ['a token that is not JSON', ['GET', 'storage/x'], '<html>', /the token is not JSON/],
    ['a token without key', ['GET', 'storage/x'], '{"id":"abc"}', /no "id" and "key" strings/],
    ['a token file that does not exist', ['GET', 'storage/x', '--token', '/nonexistent/token.json'], '', /ENOENT/],
    ['a relative URL without api_endpoint', ['GET', 'storage/x'], '{"id":"a","key":"k"}', /needs the token's api/],
  ];
  for (const [what, args, input, message] of cases) {
    it(`refuses ${what}`, async () => {
      const { code, stdout, stderr } = await run(args, input);
      expect(code).to.equal(1);
      expect(stdout).to.equal('');
      expect(stderr).to.match(/^tokenserver hawk-request: [^\n]+\n$/);
      expect(stderr).to.match(message);
    });
  }

  it('reports a node that is not listening', async () => {
    const { code, stderr } = await run(['GET', `http://127.0.0.1:${await freePort()}/x`], '{"id":"a","key":"k"}');
    expect(code).to.equal(1);
    expect(stderr).to.match(/^tokenserver hawk-request: GET http:\S+: ECONNREFUSED\n$/);
  });
});
