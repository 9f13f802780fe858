import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { expect } from 'chai';
import {
  BAD_RESPONSE_ERROR,
  CLOSED_ERROR,
  HttpTarget,
  INVALID_REQUEST_ERROR,
  TIMEOUT_ERROR,
} from '../../loadtest/http-client.js';
import { sleep } from '../support/processes.js';

// The load generator's own HTTP/1.1 client against real servers on loopback: node:http for what a token server
// sends, and a raw TCP server for what node:http would not send (interim answers, framing by close, garbage).

interface Listening {
  url: URL;
  /** Sockets the server accepted, in order. */
  sockets: Socket[];
  close(): Promise<void>;
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<Listening> {
  const sockets: Socket[] = [];
  server.on('connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return {
    url,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const httpServer = (listener: RequestListener) => listen(createHttpServer(listener));

/** A TCP server that answers every request (each `\r\n\r\n`) with `answer`'s bytes, written as given. */
function rawServer(answer: (socket: Socket, n: number) => void): Promise<Listening> {
  let served = 0;
  return listen(
    createTcpServer((socket) => {
      let seen = '';
      socket.on('data', (chunk) => {
        seen += chunk.toString('latin1');
        while (seen.includes('\r\n\r\n')) {
          seen = seen.slice(seen.indexOf('\r\n\r\n') + 4);
          answer(socket, served++);
        }
      });
      socket.on('error', () => {});
    }),
  );
}

describe('load-test tool: HTTP client', () => {
  const open: Array<Listening | HttpTarget> = [];
  const track = <T extends Listening | HttpTarget>(thing: T): T => {
    open.push(thing);
    return thing;
  };
  afterEach(async () => {
    for (const thing of open.splice(0)) await thing.close();
  });

  it('sends a GET with Host and the given headers, and reads status, body and Retry-After', async () => {
    const seen: Array<{ method?: string; url?: string; host?: string; auth?: string }> = [];
    const server = track(
      await httpServer((req, res) => {
        seen.push({ method: req.method, url: req.url, host: req.headers.host, auth: req.headers.authorization });
        res.writeHead(503, { 'retry-AFTER': '7', 'Content-Type': 'application/json' }).end('{"status":"error","é":1}');
      }),
    );
    const target = track(new HttpTarget(server.url, 1));
    const outcome = await target.send('/1.0/sync/1.5?x=1', { Authorization: 'Bearer abc' }, 1000);
    expect(outcome).to.deep.equal({ status: 503, body: '{"status":"error","é":1}', retryAfter: '7' });
    expect(seen).to.deep.equal([
      { method: 'GET', url: '/1.0/sync/1.5?x=1', host: server.url.host, auth: 'Bearer abc' },
    ]);
  });

  it('reads chunked bodies, trailers included', async () => {
    const server = track(
      await httpServer((req, res) => {
        res.writeHead(200, req.url === '/trailers' ? { Trailer: 'X-Done' } : {});
        res.write('one,');
        setTimeout(() => {
          if (req.url === '/trailers') res.addTrailers({ 'X-Done': 'yes' });
          res.end('two');
        }, 5);
      }),
    );
    const target = track(new HttpTarget(server.url, 1));
    expect(await target.send('/trailers', {}, 1000)).to.deep.equal({ status: 200, body: 'one,two' });
    expect(await target.send('/', {}, 1000)).to.deep.equal({ status: 200, body: 'one,two' });
    // Read to the end of the trailers: the connection is still good for the next request.
    expect(server.sockets).to.have.length(1);
  });

  it('keeps connections alive and opens no more than it is allowed', async () => {
    let inFlight = 0;
    let most = 0;
    const server = track(
      await httpServer((_req, res) => {
        most = Math.max(most, ++inFlight);
        setTimeout(() => {
          inFlight--;
          res.end('ok');
        }, 5);
      }),
    );
    const target = track(new HttpTarget(server.url, 2));
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => target.send('/', {}, 2000)));
    expect(outcomes.every((outcome) => 'status' in outcome && outcome.status === 200)).to.equal(true);
    expect(server.sockets).to.have.length(2);
    expect(most).to.equal(2);
  });

  it('reconnects after the server closed an idle connection or answered Connection: close', async () => {
    const server = track(
      await httpServer((req, res) => {
        if (req.url === '/close') res.setHeader('Connection', 'close');
        res.end('ok');
      }),
    );
    const target = track(new HttpTarget(server.url, 1));
    expect(await target.send('/close', {}, 1000)).to.deep.include({ status: 200 });
    expect(await target.send('/', {}, 1000)).to.deep.include({ status: 200 });
    (server.sockets[1] as Socket).destroy();
    await sleep(50);
    expect(await target.send('/', {}, 1000)).to.deep.include({ status: 200 });
    expect(server.sockets).to.have.length(3);
  });

  it('does not reuse a connection the server may be closing (its Keep-Alive timeout, less a margin)', async () => {
    const server = track(
      await rawServer((socket) =>
        socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2\r\nContent-Length: 2\r\n\r\nok'),
      ),
    );
    const target = track(new HttpTarget(server.url, 1));
    await target.send('/', {}, 1000);
    await target.send('/', {}, 1000);
    expect(server.sockets).to.have.length(1);
    await sleep(1100);
    expect(await target.send('/', {}, 1000)).to.deep.equal({ status: 200, body: 'ok' });
    expect(server.sockets).to.have.length(2);
  });

  it('reports a connection closed before the whole answer, and sends nothing again', async () => {
    const server = track(
      await rawServer((socket, n) => {
        if (n === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else if (n === 1) socket.destroy();
        else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok');
      }),
    );
    const target = track(new HttpTarget(server.url, 1));
    await target.send('/', {}, 1000);
    expect(await target.send('/', {}, 1000)).to.deep.equal({ error: 'ECONNRESET' });
    expect(await target.send('/', {}, 1000)).to.deep.equal({ error: 'ECONNRESET' });
    expect(server.sockets).to.have.length(2);
  });

  it('gives up on a request unanswered within its timeout and closes its connection', async () => {
    const server = track(await rawServer(() => {}));
    const target = track(new HttpTarget(server.url, 1));
    const started = performance.now();
    expect(await target.send('/', {}, 200)).to.deep.equal({ error: TIMEOUT_ERROR });
    const elapsed = performance.now() - started;
    expect(elapsed).to.be.within(195, 1000);
    const socket = server.sockets[0] as Socket;
    await sleep(50);
    expect(socket.readableEnded || socket.destroyed).to.equal(true);
  });

  it('reports a refused connection by its code', async () => {
    const server = await rawServer(() => {});
    const url = server.url;
    await server.close();
    const target = track(new HttpTarget(url, 1));
    expect(await target.send('/', {}, 1000)).to.deep.equal({ error: 'ECONNREFUSED' });
  });

  it('refuses a path or header that would break the request, without sending anything', async () => {
    const server = track(await rawServer(() => {}));
    const target = track(new HttpTarget(server.url, 1));
    expect(await target.send('/a b', {}, 1000)).to.deep.equal({ error: INVALID_REQUEST_ERROR });
    expect(await target.send('no-slash', {}, 1000)).to.deep.equal({ error: INVALID_REQUEST_ERROR });
    expect(await target.send('/', { 'X-A': 'one\r\nX-Injected: two' }, 1000)).to.deep.equal({
      error: INVALID_REQUEST_ERROR,
    });
    expect(await target.send('/', { 'Bad Name': 'x' }, 1000)).to.deep.equal({ error: INVALID_REQUEST_ERROR });
    expect(server.sockets).to.have.length(0);
  });

  it('reads interim 1xx answers, bodies framed by the close, and answers split into many packets', async () => {
    const answers = [
      'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close',
      'HTTP/1.1 401 Unauthorized\r\nContent-Length: 11\r\nRetry-After: 3\r\n\r\n{"é":"ü"}',
    ];
    const server = track(
      await rawServer(async (socket, n) => {
        const bytes = Buffer.from(answers[n] as string);
        if (n === 1) {
          socket.end(bytes);
          return;
        }
        socket.setNoDelay(true);
        // One byte at a time: a multi-byte character and the head's end are split across packets.
        for (let i = 0; i < bytes.length; i++) {
          socket.write(bytes.subarray(i, i + 1));
          await sleep(1);
        }
      }),
    );
    const target = track(new HttpTarget(server.url, 1));
    expect(await target.send('/', {}, 5000)).to.deep.equal({ status: 200, body: 'ok' });
    expect(await target.send('/', {}, 5000)).to.deep.equal({ status: 200, body: 'until the close' });
    expect(await target.send('/', {}, 5000)).to.deep.equal({ status: 401, body: '{"é":"ü"}', retryAfter: '3' });
  });

  it('closes the connection on an answer that is not HTTP/1.1', async () => {
    const server = track(
      await rawServer((socket, n) => {
        if (n === 0) socket.write('SSH-2.0-OpenSSH\r\n\r\n');
        else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }),
    );
    const target = track(new HttpTarget(server.url, 1));
    expect(await target.send('/', {}, 1000)).to.deep.equal({ error: BAD_RESPONSE_ERROR });
    expect(await target.send('/', {}, 1000)).to.deep.equal({ status: 200, body: 'ok' });
    expect(server.sockets).to.have.length(2);
  });

  it('answers requests in flight or waiting when closed, and every later one', async () => {
    const server = track(await rawServer(() => {}));
    const target = new HttpTarget(server.url, 1);
    const inFlight = target.send('/', {}, 5000);
    const waiting = target.send('/', {}, 5000);
    await sleep(20);
    target.close();
    expect(await inFlight).to.deep.equal({ error: CLOSED_ERROR });
    expect(await waiting).to.deep.equal({ error: CLOSED_ERROR });
    expect(await target.send('/', {}, 5000)).to.deep.equal({ error: CLOSED_ERROR });
  });
});
