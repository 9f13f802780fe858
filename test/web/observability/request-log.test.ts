import { BrokerBusyError } from '@tokenserver/shared';
import { expect } from 'chai';
import { HASHED_FXA_UID, ObservedApp } from './observed-app.js';

// One JSON log line per request, with what an operator needs and nothing that identifies or authenticates a user.

describe('request log', () => {
  let app: ObservedApp;

  beforeEach(async () => {
    app = await ObservedApp.start();
  });
  afterEach(() => app.close());

  it('logs one line for a token request: id, method, route, status, stage timings, hashed uid, agent', async () => {
    const res = await app.token({ 'User-Agent': 'Firefox/140.0 FxSync/1.140.0.desktop' });
    expect(res.status).to.equal(200);
    const [line, ...more] = await app.requestLines(1);
    expect(more).to.have.length(0);
    expect(line).to.include({
      msg: 'request',
      role: 'web',
      method: 'GET',
      route: '/1.0/:application/:version',
      status: 200,
      hashedFxaUid: HASHED_FXA_UID,
      agent: 'Firefox/140.0 FxSync/1.140.0.desktop',
    });
    expect(line?.requestId).to.match(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-request-id')).to.equal(line?.requestId);
    for (const timing of ['ms', 'verifyMs', 'dbMs', 'signMs']) expect(line?.[timing], timing).to.be.a('number');
    expect(line).not.to.have.any.keys('errorStatus', 'jobError', 'path', 'url');
  });

  it('keeps a sane incoming X-Request-Id and replaces anything else', async () => {
    const kept = await app.token({ 'X-Request-Id': 'lb-7f3a.9:abc_DEF' });
    expect(kept.headers.get('x-request-id')).to.equal('lb-7f3a.9:abc_DEF');
    for (const insane of ['has space', 'x'.repeat(129), 'quote"d', 'é']) {
      const replaced = await app.fetch('/__lbheartbeat__', { headers: { 'X-Request-Id': encodeURI(insane) } });
      const id = replaced.headers.get('x-request-id');
      expect(id, insane).to.match(/^[0-9a-f-]{36}$/);
    }
    const lines = await app.requestLines(5);
    expect(lines[0]?.requestId).to.equal('lb-7f3a.9:abc_DEF');
  });

  it('names the API error status string of an error answer', async () => {
    app.jobs.rejection = { status: 'invalid-credentials' };
    const res = await app.token();
    expect(res.status).to.equal(401);
    const [line] = await app.requestLines(1);
    expect(line).to.include({ status: 401, errorStatus: 'invalid-credentials', route: '/1.0/:application/:version' });
    expect(line?.verifyMs).to.be.a('number');
    expect(line).not.to.have.any.keys('signMs', 'hashedFxaUid');
  });

  it('names the job error behind a 503', async () => {
    app.jobs.failure = new BrokerBusyError('busy');
    expect((await app.token()).status).to.equal(503);
    const [line] = await app.requestLines(1);
    expect(line).to.include({ status: 503, errorStatus: 'error', jobError: 'ERR_BROKER_BUSY' });
  });

  it('labels requests by route pattern, never by raw path', async () => {
    await app.fetch('/1.5/12345/storage/secret-collection');
    await app.fetch('/1.0/sync/1.5', { method: 'POST' });
    await app.fetch('/__heartbeat__');
    const lines = await app.requestLines(3);
    expect(lines.map((line) => [line.method, line.route, line.status, line.errorStatus])).to.deep.equal([
      ['GET', 'unmatched', 404, 'error'],
      ['POST', '/1.0/:application/:version', 405, 'error'],
      ['GET', '/__heartbeat__', 200, undefined],
    ]);
    expect(JSON.stringify(lines)).not.to.include('12345');
  });

  it('uses the same request id for the internal-error line and the answer', async () => {
    app.jobs.failure = new Error('a bug');
    const res = await app.token({ 'X-Request-Id': 'trace-1' });
    expect(res.status).to.equal(500);
    expect(res.headers.get('x-request-id')).to.equal('trace-1');
    await app.requestLines(1);
    const internal = app.logged.find((line) => line.msg === 'internal error');
    expect(internal?.requestId).to.equal('trace-1');
  });
});
