import { expect } from 'chai';
import { createTestDatabase, type TestDatabase } from '../../support/databases.js';
import { ClusterEnv, freePort } from '../../support/powerhose.js';
import { RunningProcess } from '../../support/processes.js';
import { WEB_MAIN } from '../../support/stack.js';

// [log] format = "pretty": the web front (and every process, through the same logger factory) prints
// human-readable lines instead of JSON.

describe('pretty logs', function () {
  this.timeout(30_000);
  let database: TestDatabase;
  let cluster: ClusterEnv;
  let web: RunningProcess | undefined;

  before(async () => {
    database = await createTestDatabase('sqlite');
    cluster = await ClusterEnv.create('ipc', {
      TOKENSERVER_LOG__FORMAT: 'pretty',
      TOKENSERVER_DATABASE__URL: database.url,
      TOKENSERVER_WEB__PORT: String(await freePort()),
    });
  });
  after(async () => {
    await web?.stop();
    await database.drop();
    cluster.cleanup();
  });

  it('prints a readable line per event, the request line included', async () => {
    web = new RunningProcess(process.execPath, [WEB_MAIN], cluster.env);
    await web.waitForOutput(/web listening/);
    const url = `http://127.0.0.1:${cluster.env.TOKENSERVER_WEB__PORT}`;
    const res = await fetch(`${url}/__lbheartbeat__`, { headers: { 'X-Request-Id': 'pretty-1' } });
    expect(res.status).to.equal(200);
    await web.waitForOutput(/pretty-1/);
    const lines = web.stdout.split('\n').filter((line) => line !== '');
    expect(
      lines.filter((line) => line.startsWith('{')),
      'JSON lines',
    ).to.deep.equal([]);
    expect(lines.some((line) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): web: web listening/.test(line))).to.equal(
      true,
    );
    const request = lines.find((line) => line.includes('pretty-1'));
    expect(request).to.match(/INFO \(\d+\): web: request /);
    expect(request).to.include('"route":"/__lbheartbeat__"').and.include('"status":200');
  });
});
