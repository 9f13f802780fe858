import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { HttpTarget } from '../../loadtest/http-client.js';
import { drive } from '../../loadtest/runner.js';

// The request driver at a target rate against a real node:http server on loopback: many connections share one
// pacer, and every scheduled send must happen, on time, with none early.

describe('load-test driver at a target rate', () => {
  let server: Server;
  let target: HttpTarget;
  const arrivals: number[] = [];

  before(async () => {
    server = createServer((_req, res) => {
      arrivals.push(performance.now());
      res.writeHead(200, { 'Content-Length': 2 }).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    target = new HttpTarget(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), 16);
  });

  after(async () => {
    target.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends 1,000 requests/s over 16 connections for 1 s: all of them, spread evenly, none before its time', async () => {
    const startedAt = performance.now();
    const sends: Array<{ index: number; latencyMs: number; atMs: number }> = [];
    let index = 0;
    const control = drive<number>(
      target,
      { connections: 16, durationMs: 1000, rate: 1000, timeoutMs: 5000 },
      {
        next: () => ({ path: '/', headers: {}, context: index++ }),
        done: (context, outcome, latencyMs, atMs) => {
          expect(outcome).to.include({ status: 200 });
          sends.push({ index: context, latencyMs, atMs });
        },
      },
    );
    await control.finished;
    expect(sends.length).to.be.within(990, 1000);
    // Request i is due at i ms: its arrival at the server is never before that.
    for (const [i, arrival] of arrivals.entries()) expect(arrival - startedAt).to.be.at.least(i - 1);
    const firstHalf = arrivals.filter((at) => at - startedAt < 500).length;
    expect(firstHalf).to.be.within(450, 550);
  });
});
