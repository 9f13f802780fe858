import { Agent, createServer, request } from 'node:http';
import { listenHttp } from '@tokenserver/shared/http-listen';
import { expect } from 'chai';

function get(url: string, agent: Agent): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    })
      .on('error', reject)
      .end();
  });
}

describe('HTTP listening and closing', () => {
  it('finishes closing while a kept-alive client keeps sending, and serves nothing after', async () => {
    const server = createServer((_req, res) => setTimeout(() => res.end('ok'), 5));
    const listening = await listenHttp(server, 0, '127.0.0.1');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await get(listening.url, agent); // the connection is now kept alive
    let sending = true;
    const answers: Array<string | undefined> = [];
    const client = (async () => {
      while (sending) {
        try {
          answers.push((await get(listening.url, agent)).connection);
        } catch {
          // refused once the server has closed: expected
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const started = Date.now();
    await listening.close();
    const closedInMs = Date.now() - started;
    const answeredBeforeClosed = answers.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    sending = false;
    await client;
    agent.destroy();
    expect(closedInMs).to.be.below(1000);
    // At most the request that was in flight when closing finished; nothing new is served.
    expect(answers.length - answeredBeforeClosed, 'answers after the server closed').to.be.at.most(1);
  });
});
