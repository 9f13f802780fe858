import { connect } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { keyPair, makeBackedAssertion } from '../../support/browserid.js';
import { TestStack } from '../../support/stack.js';

// Random paths and headers, sent as raw bytes so that nothing is normalised on the way: every answer must be
// a 200 token or a well-formed 4xx error body with X-Timestamp, never a 500, a hang or a dropped connection.

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function rawGet(port: number, path: string, headers: Array<[string, string]>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const parsed = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, body });
    });
    const lines = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}Connection: close\r\n\r\n`);
  });
}

function expectWellFormed(answer: RawAnswer, context: string): void {
  expect(answer.status, context).to.satisfy((s: number) => s === 200 || (s >= 400 && s < 500));
  expect(answer.headers['x-timestamp'], context).to.match(/^\d+$/);
  const body = JSON.parse(answer.body) as { status?: unknown; errors?: unknown };
  if (answer.status === 200) return;
  expect(body.status, context).to.be.a('string');
  expect(body.errors, context).to.be.an('array').with.length(1);
  const [error] = body.errors as Array<Record<string, unknown>>;
  expect(error, context).to.have.keys('location', 'name', 'description');
}

describe('token API under random input (property)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let port: number;

  before(async () => {
    stack = await TestStack.start();
    stack.trustIssuer('idp.test');
    port = Number(new URL(stack.url).port);
  });
  after(() => stack?.stop());

  it('answers every random path and header set with 200 or a well-formed 4xx', async () => {
    const good = makeBackedAssertion({
      email: '0123456789abcdef0123456789abcdef@idp.test',
      issuerKey: keyPair('RS256', 'issuer'),
    });
    const urlChars = fc.constantFrom(..."abcsync1.05/%-_~?=&+#:@!$'()*,;zZ9".split(''));
    const path = fc.oneof(
      fc.constantFrom('/1.0/sync/1.5', '/1.0/sync/1.5?duration=10', '/', '/__heartbeat__', '/1.0//', '/1.0/%zz/1.5'),
      fc.string({ unit: urlChars, maxLength: 60 }).map((s) => `/${s}`),
      fc.string({ unit: urlChars, maxLength: 30 }).map((s) => `/1.0/sync/1.5${s}`),
    );
    const printable = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 200,
    });
    const value = fc.oneof(
      printable,
      printable.map((s) => `BrowserID ${s}`),
      printable.map((s) => `Bearer ${s}`),
      fc.constant(`BrowserID ${good}`),
      fc.integer({ min: 0, max: 40 }).map((n) => `BrowserID ${good.slice(0, good.length - n)}`),
      fc.constant('x'.repeat(30_000)),
    );
    const name = fc.constantFrom(
      'Authorization',
      'X-Client-State',
      'X-KeyID',
      'X-Timestamp',
      'Accept',
      'Content-Length',
      'X-Junk',
    );
    const headers = fc.array(fc.tuple(name, value), { maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(path, headers, async (p, h) => {
        expectWellFormed(await rawGet(port, p, h), JSON.stringify({ p, h }).slice(0, 300));
      }),
      { numRuns: 150 },
    );
  });
});
