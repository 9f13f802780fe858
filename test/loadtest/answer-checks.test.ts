import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DerivedSecrets, toBase64UrlPadded } from '@tokenserver/shared';
import { expect } from 'chai';
import { type AnswerCheck, answerChecker } from '../../loadtest/checks.js';
import { RunRecorder } from '../../loadtest/recorder.js';
import { type LoadOptions, runLoad } from '../../loadtest/run-load.js';
import { type Expectation, expectationFor } from '../../loadtest/scenarios.js';
import { apiErrors } from '../../web/src/api-errors.js';
import { type IssuedToken, type IssueOptions, issueToken } from '../support/hawk.js';
import { answerJson, startLoadtestStandIn } from '../support/loadtest-stand-in.js';
import { MASTER_SECRET, NODE_URL } from '../support/stack.js';

// The load-test tool must reject wrong answers, not only accept right ones: each test serves one kind of wrong
// answer to the checker (or, at the end, to a whole run) and expects it to be named.

const secrets = new DerivedSecrets(MASTER_SECRET);
const GOOD: Expectation = { status: 200 };
const EXPIRED_BROWSERID = expectationFor('invalid:expired', 'browserid');
const BAD_SIGNATURE = expectationFor('invalid:bad-signature', 'browserid');

/** A token server's 200 body for `token`, with `changes` to its fields. */
function tokenAnswer(token: IssuedToken, changes: Record<string, unknown> = {}): string {
  const { id, key, uid, api_endpoint } = token;
  return JSON.stringify({ id, key, uid, api_endpoint, duration: 3600, hashalg: 'sha256', ...changes });
}

const issued = (options: IssueOptions = {}) => issueToken(secrets, NODE_URL, options);
const errorAnswer = (error: { toBody(): unknown }) => JSON.stringify(error.toBody());

describe('load-test tool: answer checks', () => {
  const signed = answerChecker(secrets);
  const structural = answerChecker();
  const bothChecks: Array<[string, AnswerCheck]> = [
    ['signature', signed.check],
    ['structure', structural.check],
  ];

  it('says which check it runs, and accepts the right answers', () => {
    expect(signed.tokenCheck).to.equal('signature');
    expect(structural.tokenCheck).to.equal('structure');
    for (const [name, check] of bothChecks) {
      expect(check(GOOD, 200, tokenAnswer(issued())), name).to.equal(undefined);
      expect(check(BAD_SIGNATURE, 401, errorAnswer(apiErrors.invalidCredentials())), name).to.equal(undefined);
      expect(check(EXPIRED_BROWSERID, 401, errorAnswer(apiErrors.invalidTimestamp())), name).to.equal(undefined);
    }
  });

  it('rejects a 200 whose token is garbled', () => {
    const token = issued();
    for (const [name, check] of bothChecks) {
      expect(check(GOOD, 200, tokenAnswer(token, { id: 'garbage' })), name).to.equal('token is too short');
      expect(check(GOOD, 200, tokenAnswer(token, { id: token.id.slice(8) })), name).to.equal(
        'token payload is not JSON',
      );
      expect(check(GOOD, 200, tokenAnswer(token, { id: 42 })), name).to.equal('200 without a string "id"');
      expect(check(GOOD, 200, tokenAnswer(token, { uid: '42' })), name).to.equal('200 without a numeric uid/duration');
      expect(check(GOOD, 200, tokenAnswer(token, { uid: 43 })), name).to.equal('token uid differs from the answer uid');
      expect(check(GOOD, 200, 'OK'), name).to.equal('200 without a JSON object body');
    }
    // A changed MAC: only the token secrets can tell.
    const raw = Buffer.from(token.id, 'base64url');
    raw[raw.length - 1] ^= 1;
    const badMac = tokenAnswer(token, { id: toBase64UrlPadded(raw) });
    expect(signed.check(GOOD, 200, badMac)).to.equal('token rejected: ERR_TOKEN_BAD_SIGNATURE');
    expect(structural.check(GOOD, 200, badMac)).to.equal(undefined);
  });

  it('rejects, with the token secrets, a token signed with another secret, expired, or for another node', () => {
    const wrongSecret = tokenAnswer(issued({ secret: 'not the node secret' }));
    expect(signed.check(GOOD, 200, wrongSecret)).to.equal('token rejected: ERR_TOKEN_BAD_SIGNATURE');
    // Without them, such a token is well-formed: that is what `tokenCheck: structure` tells the reader.
    expect(structural.check(GOOD, 200, wrongSecret)).to.equal(undefined);

    const expired = tokenAnswer(issued({ now: Date.now() - 7200_000 }));
    expect(signed.check(GOOD, 200, expired)).to.equal('token rejected: ERR_TOKEN_EXPIRED');
    expect(structural.check(GOOD, 200, expired)).to.equal('token already expired');

    const otherNode = issued({ claimedNode: 'https://other.example.com', secret: secrets.get(NODE_URL)[0] });
    expect(signed.check(GOOD, 200, tokenAnswer(otherNode))).to.equal('token rejected: ERR_TOKEN_BAD_SIGNATURE');

    const otherKey = tokenAnswer(issued(), { key: issued().key });
    expect(signed.check(GOOD, 200, otherKey)).to.equal('token key does not match the derived key');
  });

  it('rejects a 200 where a 401 was expected', () => {
    for (const [name, check] of bothChecks) {
      expect(check(EXPIRED_BROWSERID, 200, tokenAnswer(issued())), name).to.equal('expected 401, got 200');
      expect(check(BAD_SIGNATURE, 200, tokenAnswer(issued())), name).to.equal('expected 401, got 200');
    }
  });

  it('rejects a 401 whose error status is not the one of the invalid kind sent', () => {
    const { check } = signed;
    expect(EXPIRED_BROWSERID).to.deep.equal({ status: 401, error: 'invalid-timestamp' });
    expect(check(EXPIRED_BROWSERID, 401, errorAnswer(apiErrors.invalidCredentials()))).to.equal(
      'expected 401 invalid-timestamp, got 401 invalid-credentials',
    );
    expect(check(BAD_SIGNATURE, 401, errorAnswer(apiErrors.invalidTimestamp()))).to.equal(
      'expected 401 invalid-credentials, got 401 invalid-timestamp',
    );
    expect(check(BAD_SIGNATURE, 401, errorAnswer(apiErrors.unauthorized()))).to.equal(
      'expected 401 invalid-credentials, got 401 error',
    );
    expect(check(BAD_SIGNATURE, 401, 'Unauthorized')).to.equal('401 without a JSON object body');
    expect(check(BAD_SIGNATURE, 400, errorAnswer(apiErrors.invalidClientStateValue()))).to.equal(
      'expected 401, got 400 error',
    );
  });

  it('rejects a 503 (or any other status) for a valid credential, naming its error status', () => {
    const { check } = signed;
    expect(check(GOOD, 503, errorAnswer(apiErrors.unavailable(3)))).to.equal('expected 200, got 503 error');
    expect(check(GOOD, 503, errorAnswer(apiErrors.backendUnavailable(3)))).to.equal(
      'expected 200, got 503 internal-error',
    );
    expect(check(GOOD, 502, '<html>Bad Gateway</html>')).to.equal('expected 200, got 502');
    expect(check(GOOD, 401, errorAnswer(apiErrors.invalidCredentials()))).to.equal(
      'expected 200, got 401 invalid-credentials',
    );
  });
});

describe('load-test tool: counting unexpected answers', () => {
  it('the recorder counts them per kind and per second, and groups them by reason with a sample', () => {
    const recorder = new RunRecorder();
    const longBody = `{"status":"error","padding":"${'x'.repeat(400)}"}`;
    recorder.record({ kind: 'existing', status: 200, body: '{}', latencyMs: 5, atMs: 100 });
    recorder.record({ kind: 'existing', status: 200, body: '{}', latencyMs: 6, atMs: 900 });
    recorder.record({
      kind: 'new',
      status: 503,
      body: longBody,
      problem: 'expected 200, got 503 error',
      latencyMs: 7,
      atMs: 1100,
    });
    recorder.record({
      kind: 'new',
      status: 503,
      body: '{}',
      problem: 'expected 200, got 503 error',
      latencyMs: 8,
      atMs: 1200,
    });
    recorder.record({
      kind: 'existing',
      status: 200,
      body: 'x',
      problem: 'token is too short',
      latencyMs: 9,
      atMs: 1300,
    });
    recorder.record({ kind: 'invalid:expired', error: 'ECONNRESET', latencyMs: 1, atMs: 2500 });
    recorder.record({ kind: 'new', error: 'ETIMEDOUT', latencyMs: 10_000, atMs: 2600 });

    expect(recorder).to.include({ requests: 7, expected: 2, unexpected: 3, errors: 2 });
    expect(recorder.byStatus).to.deep.equal({ '200': 3, '503': 2 });
    expect(recorder.byKind).to.deep.equal({
      existing: { requests: 3, expected: 2, unexpected: 1, errors: 0 },
      new: { requests: 3, expected: 0, unexpected: 2, errors: 1 },
      'invalid:expired': { requests: 1, expected: 0, unexpected: 0, errors: 1 },
    });
    expect(recorder.unexpectedAnswers()).to.deep.equal([
      { kind: 'new', problem: 'expected 200, got 503 error', count: 2, sample: longBody.slice(0, 300) },
      { kind: 'existing', problem: 'token is too short', count: 1, sample: 'x' },
    ]);
    expect(recorder.connectionErrors()).to.have.deep.members([
      { kind: 'invalid:expired', problem: 'ECONNRESET', count: 1 },
      { kind: 'new', problem: 'ETIMEDOUT', count: 1 },
    ]);
    const perSecond = recorder
      .timeline()
      .map(({ t, requests, unexpected, errors, timeouts }) => ({ t, requests, unexpected, errors, timeouts }));
    expect(perSecond).to.deep.equal([
      { t: 1, requests: 2, unexpected: 0, errors: 0, timeouts: 0 },
      { t: 2, requests: 3, unexpected: 3, errors: 0, timeouts: 0 },
      { t: 3, requests: 2, unexpected: 0, errors: 2, timeouts: 1 },
    ]);
  });

  describe('a whole run against a server that answers wrongly', function () {
    this.timeout(30_000);
    let runDir: string;
    before(() => {
      runDir = mkdtempSync(join(tmpdir(), 'loadtest-checks-'));
    });
    after(() => rmSync(runDir, { recursive: true, force: true }));
    const thirtyNewUsers = (url: string, options: Partial<LoadOptions> = {}) =>
      runLoad({ url, scenario: 'new-users', auth: 'oauth', requests: 30, connections: 3, runDir, ...options });

    it('counts and lists every unexpected answer and connection error in the result, and warns', async () => {
      // Every third request: a 503, a 200 with a garbled token, a connection closed without an answer.
      const server = await startLoadtestStandIn((_req, res, n) => {
        if (n % 3 === 0) answerJson(res, 503, apiErrors.unavailable(3).toBody());
        else if (n % 3 === 1) answerJson(res, 200, JSON.parse(tokenAnswer(issued(), { id: 'garbage' })));
        else res.socket?.destroy();
      });
      try {
        const result = await thirtyNewUsers(server.url);
        expect(result.totals).to.include({ requests: 30, expected: 0, unexpected: 20, errors: 10 });
        expect(result.totals.byStatus).to.deep.equal({ '200': 10, '503': 10 });
        expect(result.unexpected.map(({ kind, problem, count }) => ({ kind, problem, count }))).to.have.deep.members([
          { kind: 'new', problem: 'expected 200, got 503 error', count: 10 },
          { kind: 'new', problem: 'token is too short', count: 10 },
        ]);
        expect(result.errors.map(({ problem, count }) => ({ problem, count }))).to.deep.equal([
          { problem: 'ECONNRESET', count: 10 },
        ]);
        expect(result.timeline.reduce((sum, p) => sum + p.unexpected, 0)).to.equal(20);
        expect(result.timeline.reduce((sum, p) => sum + p.errors, 0)).to.equal(10);
        expect(result.warnings).to.include('20 unexpected answers');
      } finally {
        await server.close();
      }
    });

    it('with acceptShedding, a 503 with a valid Retry-After is expected and one without is not', async () => {
      // Alternately: 503 with Retry-After 3, 503 with none, 503 with Retry-After 0.
      const server = await startLoadtestStandIn((_req, res, n) => {
        if (n % 3 === 0) res.setHeader('Retry-After', '3');
        else if (n % 3 === 2) res.setHeader('Retry-After', '0');
        answerJson(res, 503, apiErrors.unavailable(3).toBody());
      });
      try {
        const result = await thirtyNewUsers(server.url, { acceptShedding: true });
        expect(result.totals).to.include({ requests: 30, expected: 10, unexpected: 20, errors: 0 });
        expect(result.unexpected.map(({ problem, count }) => ({ problem, count }))).to.deep.equal([
          { problem: '503 without a valid Retry-After', count: 20 },
        ]);
      } finally {
        await server.close();
      }
    });

    it('warns when the generator had to sign credentials during the run, and not when it did not', async () => {
      const server = await startLoadtestStandIn((_req, res) => answerJson(res, 503, apiErrors.unavailable(3).toBody()));
      try {
        const short = await thirtyNewUsers(server.url, { newUserPool: 10 });
        expect(short.generator.signedDuringRun).to.equal(20);
        expect(short.warnings.filter((w) => /signed 20 credentials during the run/.test(w))).to.have.length(1);
        const enough = await thirtyNewUsers(server.url);
        expect(enough.generator.signedDuringRun).to.equal(0);
        expect(enough.warnings.filter((w) => /during the run/.test(w))).to.deep.equal([]);
      } finally {
        await server.close();
      }
    });
  });
});
