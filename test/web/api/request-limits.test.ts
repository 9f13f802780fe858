import { connect } from 'node:net';
import { expect } from 'chai';
import { STAND_IN_CONFIG } from '../../support/web-stand-ins.js';
import { ObservedApp } from '../observability/observed-app.js';

// The web front's request limits over real HTTP: header size (431), body size (413, declared or chunked, on every
// route) and the header timeout (408 in bounded time, not at Node's next 30 s check).

const MAX_BODY_BYTES = 1024;
const HEADERS_TIMEOUT_MS = 400;
const CONFIG = {
  ...STAND_IN_CONFIG,
  web: { ...STAND_IN_CONFIG.web, max_body_bytes: MAX_BODY_BYTES, headers_timeout_ms: HEADERS_TIMEOUT_MS },
};
const AUTH = 'Authorization: Bearer stand-in-token\r\n';

interface RawAnswer {
  status: number;
  body: unknown;
  /** When the server closed the connection, in ms after it was opened (undefined if it did not within 5 s). */
  closedAfterMs: number | undefined;
}

/** Opens a connection, lets `send` write to it, and collects what comes back until the server closes it. */
function exchange(url: string, send: (write: (data: string) => boolean, answered: () => boolean) => void) {
  const { hostname, port } = new URL(url);
  return new Promise<RawAnswer>((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let received = '';
    const finish = (closedAfterMs: number | undefined): void => {
      clearTimeout(giveUp);
      socket.destroy();
      const [head = '', body = ''] = received.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, body: body ? JSON.parse(body) : undefined, closedAfterMs });
    };
    const giveUp = setTimeout(() => finish(undefined), 5000);
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    socket.on('end', () => finish(Date.now() - started));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (received) finish(Date.now() - started);
      else reject(err);
    });
    socket.on('connect', () =>
      send(
        (data) => !socket.destroyed && socket.write(data),
        () => received.length > 0,
      ),
    );
  });
}

async function sendChunksUntilAnswered(write: (data: string) => boolean, answered: () => boolean): Promise<void> {
  const chunk = 'x'.repeat(256);
  for (let sent = 0; sent < 64 && !answered(); sent++) {
    write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('web request limits', () => {
  let app: ObservedApp;

  beforeEach(async () => {
    app = await ObservedApp.start(CONFIG);
  });

  afterEach(() => app.close());

  it('answers 431 with a JSON error to headers larger than the limit', async () => {
    const answer = await exchange(app.url, (write) =>
      write(`GET /1.0/sync/1.5 HTTP/1.1\r\nHost: x\r\n${AUTH}X-Padding: ${'p'.repeat(40_000)}\r\n\r\n`),
    );
    expect(answer.status).to.equal(431);
    expect(answer.body).to.deep.include({ status: 'error' });
  });

  for (const [route, request] of [
    ['the token route', 'GET /1.0/sync/1.5'],
    ['any other route', 'POST /'],
  ]) {
    it(`answers 413 and closes the connection when the Content-Length exceeds the limit (${route})`, async () => {
      const answer = await exchange(app.url, (write) => {
        write(`${request} HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 50000000\r\n\r\n`);
        write('x'.repeat(64 * 1024));
      });
      expect(answer.status).to.equal(413);
      expect(answer.body).to.deep.equal({
        status: 'error',
        errors: [{ location: 'body', name: '', description: 'Request body too large' }],
      });
      expect(answer.closedAfterMs, 'connection closed').to.be.a('number');
    });

    it(`answers 413 and closes the connection when a chunked body grows past the limit (${route})`, async () => {
      const answer = await exchange(app.url, (write, answered) => {
        write(`${request} HTTP/1.1\r\nHost: x\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\n`);
        void sendChunksUntilAnswered(write, answered);
      });
      expect(answer.status).to.equal(413);
      expect(answer.closedAfterMs, 'connection closed').to.be.a('number');
    });
  }

  it('serves a request whose chunked body is within the limit', async () => {
    const body = 'x'.repeat(MAX_BODY_BYTES);
    const answer = await exchange(app.url, (write) => {
      write(`GET /1.0/sync/1.5 HTTP/1.1\r\nHost: x\r\n${AUTH}Connection: close\r\n`);
      write(`Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    });
    expect(answer.status).to.equal(200);
  });

  it('answers 408 and disconnects a client that stalls in the middle of its headers', async () => {
    const answer = await exchange(app.url, (write) => write(`GET /1.0/sync/1.5 HTTP/1.1\r\nHost: x\r\n`));
    expect(answer.status).to.equal(408);
    expect(answer.body).to.deep.include({ status: 'error' });
    expect(answer.closedAfterMs).to.be.within(HEADERS_TIMEOUT_MS, HEADERS_TIMEOUT_MS + 1500);
  });

  it('starts with a header timeout longer than the request timeout the job timeout implies', async () => {
    // Node refuses headersTimeout > requestTimeout; job_timeout_ms 1000 implies a request timeout of 13 s.
    const patient = await ObservedApp.start({ ...CONFIG, web: { ...CONFIG.web, headers_timeout_ms: 60_000 } });
    try {
      const answer = await exchange(patient.url, (write) =>
        write(`GET /1.0/unknown/1.5 HTTP/1.1\r\nHost: x\r\n${AUTH}Connection: close\r\n\r\n`),
      );
      expect(answer.status).to.equal(404);
    } finally {
      await patient.close();
    }
  });
});
