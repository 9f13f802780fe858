import { expect } from 'chai';
import { freePort } from '../../support/powerhose.js';
import { runToExit } from '../../support/processes.js';
import { TestStack, WEB_MAIN } from '../../support/stack.js';

// [web] metrics_port: the web front's Prometheus metrics on a listener of their own, off the (public) web port.

describe('web front metrics on a port of their own ([web] metrics_port)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let metricsPort: number;

  before(async () => {
    metricsPort = await freePort();
    stack = await TestStack.start({ TOKENSERVER_WEB__METRICS_PORT: String(metricsPort) });
  });

  after(async () => {
    await stack?.stop();
  });

  it('serves /metrics there, counting the web port requests, and answers 404 for /metrics on the web port', async () => {
    expect((await stack.get('/__heartbeat__')).status).to.equal(200);
    const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scraped.status).to.equal(200);
    const text = await scraped.text();
    expect(text).to.match(/^tokenserver_http_requests_total\{[^}]*route="\/__heartbeat__"[^}]*\} [1-9]/m);
    expect(text, 'the stack runs on a SQLite file').to.match(/^tokenserver_sqlite_wal_bytes [1-9]/m);

    const onWebPort = await stack.get('/metrics');
    expect(onWebPort.status).to.equal(404);
    expect(onWebPort.body).to.deep.equal({
      status: 'error',
      errors: [{ location: 'url', name: 'path', description: 'Not found' }],
    });
  });

  it('stops at start-up with a message and exit code 1 when the metrics port is taken', async () => {
    const env = { ...stack.webEnv, TOKENSERVER_WEB__PORT: String(await freePort()) };
    const result = await runToExit(process.execPath, [WEB_MAIN], env);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(`cannot listen on 127.0.0.1:${metricsPort} for metrics`);
  });
});
