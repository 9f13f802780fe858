// The load generator's HTTP client against the alternatives, in CPU per request of the generating process: the CPU
// it takes from a server it shares a machine with. Each client keeps CONNECTIONS keep-alive connections busy
// (closed loop) against a node:http server in a child process that answers every GET with a 503 like the token
// server's shed answer. Rounds alternate the clients so that a noisy machine slows them alike; figures are medians.
//
//   npm run bench:http-client [-- --rounds 5 --seconds 2]

import { spawn } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { alternatedRounds, type CpuSample, cpuTable } from './alternated-rounds.js';
import { benchArgs, numericOption } from './bench-options.js';
import { HttpTarget } from './http-client.js';

const CONNECTIONS = 32;
const PATH = '/1.0/sync/1.5';
/** About the size of an OAuth JWT in the load test. */
const HEADERS = { Authorization: `Bearer ${'x'.repeat(900)}`, 'X-KeyID': '1700000000000-abcdefghijklmnopqrstuv' };

type Send = () => Promise<number>;

if (process.argv.includes('--serve')) {
  const body = JSON.stringify({
    status: 'error',
    errors: [{ location: 'body', name: '', description: 'unavailable' }],
  });
  const server = createServer((_req, res) => {
    res.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': body.length, 'Retry-After': '10' });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
} else {
  await main();
}

async function main(): Promise<void> {
  const values = benchArgs(['rounds', 'seconds']);
  const rounds = numericOption('rounds', values.rounds, 5);
  const seconds = numericOption('seconds', values.seconds, 2, false);
  const server = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve']);
  const port = await new Promise<number>((resolve) => server.stdout.once('data', (d: Buffer) => resolve(Number(d))));
  const origin = `http://127.0.0.1:${port}`;
  try {
    const clients: Record<string, Send> = {
      'node:http': nodeHttpClient(origin),
      'undici request()': undiciClient(origin),
      'loadtest/http-client.ts': ourClient(origin),
    };
    const medians = await alternatedRounds(rounds, Object.keys(clients), (name) =>
      closedLoop(clients[name] as Send, seconds * 1000),
    );
    console.log(`\nnpm run bench:http-client -- --rounds ${rounds} --seconds ${seconds}\n`);
    console.log(
      cpuTable({ contender: 'client', cpu: 'CPU per request (µs)', ratio: '/ node:http' }, medians, 'node:http'),
    );
  } finally {
    server.kill();
  }
}

async function closedLoop(send: Send, ms: number): Promise<CpuSample> {
  let count = 0;
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  const loop = async () => {
    while (performance.now() - startedAt < ms) {
      if ((await send()) !== 503) throw new Error('the server did not answer 503');
      count++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  const cpu = process.cpuUsage(cpuBefore);
  return { cpuUs: (cpu.user + cpu.system) / count, perSecond: count / ((performance.now() - startedAt) / 1000) };
}

function nodeHttpClient(origin: string): Send {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  return () =>
    new Promise((resolve, reject) => {
      const req = request(`${origin}${PATH}`, { agent, headers: HEADERS }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body.length > 0 ? (res.statusCode as number) : 0));
      });
      req.on('error', reject);
      req.end();
    });
}

function undiciClient(origin: string): Send {
  const pool = new Pool(origin, { connections: CONNECTIONS, pipelining: 1 });
  return async () => {
    const res = await pool.request({ path: PATH, method: 'GET', headers: HEADERS });
    const body = await res.body.text();
    return body.length > 0 ? res.statusCode : 0;
  };
}

function ourClient(origin: string): Send {
  const target = new HttpTarget(new URL(origin), CONNECTIONS);
  return async () => {
    const outcome = await target.send(PATH, HEADERS, 10_000);
    return 'status' in outcome && outcome.body.length > 0 ? outcome.status : 0;
  };
}
