import { Agent, createServer, request } from 'node:http';
import { connect } from 'node:net';
import { listenHttp } from '@tokenserver/shared/http-listen';
import { expect } from 'chai';
import { eventually } from '../support/processes.js';

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

describe('HTTP closing with a request on its way', () => {
  it('answers a request sent over an idle kept-alive connection as closing starts, instead of resetting it', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    const listening = await listenHttp(server, 0, '127.0.0.1');
    const socket = connect(Number(new URL(listening.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    const ended = new Promise<string>((resolve) => {
      socket.on('close', () => resolve(received));
      socket.on('error', () => resolve(`${received}<reset>`));
    });
    const request = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
    socket.write(request);
    await eventually(() => received.includes('ok'));
    // The connection is now idle and kept alive; the next request is on its way as the server starts closing.
    const closed = listening.close();
    socket.write(request);
    const answers = await ended;
    await closed;
    expect(answers.match(/HTTP\/1\.1 200/g), answers).to.have.length(2);
    expect(answers.split('HTTP/1.1 200')[2], answers).to.match(/Connection: close/i);
  });
});
