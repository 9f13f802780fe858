// What a shed request (503 + Retry-After, `[web] max_in_flight` reached) costs the web front, in CPU per request of
// the serving process, against the floor: a bare node:http server that answers the same 503 (same headers, same
// body) and does nothing else. At twice the saturating rate most requests are shed, and every microsecond spent on
// them is taken from the requests being served on the same cores.
//
// The web front is the real one (createWebFront behind the request observer and its metrics, as web-main composes
// them) with max_in_flight = 1; one request is held in flight by a job client that never answers, so every other
// request is shed. Each server runs in a child process; rounds alternate them; figures are medians.
//
//   npm run bench:shedding [-- --rounds 5 --seconds 2] [--cpu-prof DIR]
//
// --cpu-prof DIR: both servers write a V8 CPU profile into DIR when they exit (figures from such a run are slower).

import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, loadConfigOrExit } from '@tokenserver/shared';
import { createMetricsRegistry } from '@tokenserver/shared/metrics';
import { apiErrors } from '@tokenserver/web/api-errors';
import { createWebFront } from '@tokenserver/web/app';
import { prepareStore } from '@tokenserver/web/db/bootstrap';
import { observeRequests } from '@tokenserver/web/observability/request-observer';
import { WebMetrics } from '@tokenserver/web/observability/web-metrics';
import { httpLimits, listen } from '@tokenserver/web/server';
import { alternatedRounds, type CpuSample, cpuTable } from './alternated-rounds.js';
import { benchArgs, numericOption } from './bench-options.js';
import { HttpTarget } from './http-client.js';

const CONNECTIONS = 64;
/** Shed requests a second: about what the web front turns away at twice its peak in `npm run bench`. */
const RATE = 6000;
const PATH = '/1.0/sync/1.5';
/** About the size of an OAuth JWT in the load test. */
const HEADERS = { Authorization: `Bearer ${'x'.repeat(900)}`, 'X-KeyID': '1700000000000-abcdefghijklmnopqrstuv' };
const RETRY_AFTER_S = 10;
const CPU_PROF = process.argv.indexOf('--cpu-prof');
const CPU_PROF_DIR =
  CPU_PROF > 0 ? resolve(process.env.INIT_CWD ?? process.cwd(), process.argv[CPU_PROF + 1] ?? '.') : undefined;

type ServerKind = 'node:http floor' | 'web front';
type Message = { port: number } | { cpuUs: number };

const serving = process.argv.indexOf('--serve');
if (serving > 0) {
  const kind = process.argv[serving + 1] as ServerKind;
  const port = kind === 'web front' ? await serveWebFront() : await serveFloor();
  process.send?.({ port } satisfies Message);
  process.on('message', () => {
    const cpu = process.cpuUsage();
    process.send?.({ cpuUs: cpu.user + cpu.system } satisfies Message);
  });
  process.once('disconnect', () => process.exit(0));
} else {
  await main();
}

/** The same answer as the web front's shed 503, written as cheaply as node:http allows. */
async function serveFloor(): Promise<number> {
  const shed = apiErrors.unavailable(RETRY_AFTER_S);
  const body = JSON.stringify(shed.toBody());
  const server = createServer((_req, res) => {
    res.writeHead(503, {
      'X-Request-Id': '00000000-0000-4000-8000-000000000000',
      'Content-Type': 'application/json',
      'Content-Length': body.length,
      'X-Timestamp': String(Math.floor(Date.now() / 1000)),
      ...shed.headers,
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function serveWebFront(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-shedding-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  Object.assign(process.env, {
    TOKENSERVER_DATABASE__URL: `sqlite:${join(dir, 'shedding.db')}`,
    TOKENSERVER_BROKER__RUN_DIR: join(dir, 'run'),
    TOKENSERVER_WEB__MAX_IN_FLIGHT: '1',
    TOKENSERVER_WEB__RETRY_AFTER_S: String(RETRY_AFTER_S),
    TOKENSERVER_LOG__LEVEL: 'warn',
  });
  const { config } = loadConfigOrExit();
  const log = createLogger('web', config);
  const { store } = await prepareStore(config);
  // Holds the one permitted request in flight for good, so that every other one is shed.
  const jobs = {
    submit: () => new Promise<Buffer>(() => {}),
    brokerStatus: () => ({ connected: true, last: { liveWorkers: 1, pausedWorkers: 0, queued: 0, inFlight: 1 } }),
  };
  const metrics = new WebMetrics(createMetricsRegistry(), jobs);
  const version = { source: 'loadtest/bench-shedding.ts', version: 'bench', commit: '', build: '' };
  const front = createWebFront({ config, store, jobs, log, version, metrics: metrics.registry });
  const server = await listen(observeRequests(front.handler, { log, metrics }), '127.0.0.1', 0, httpLimits(config));
  return Number(new URL(server.url).port);
}

async function main(): Promise<void> {
  const values = benchArgs(['rounds', 'seconds', 'cpu-prof']);
  const rounds = numericOption('rounds', values.rounds, 5);
  const seconds = numericOption('seconds', values.seconds, 2, false);
  if (CPU_PROF_DIR !== undefined) process.stderr.write(`CPU profiles into ${CPU_PROF_DIR}\n`);
  const kinds: ServerKind[] = ['node:http floor', 'web front'];
  const servers = await Promise.all(kinds.map(startServer));
  try {
    // The one request the web front works on; it never completes.
    const holder = new HttpTarget(new URL(servers[1]?.origin as string), 1);
    void holder.send(PATH, HEADERS, seconds * rounds * 4000);
    const medians = await alternatedRounds(rounds, kinds, (kind) =>
      fixedRate(servers[kinds.indexOf(kind)] as RunningServer, seconds * 1000),
    );
    console.log(
      `\nnpm run bench:shedding -- --rounds ${rounds} --seconds ${seconds} (${RATE} requests/s, ${CONNECTIONS} connections)\n`,
    );
    console.log(
      cpuTable({ contender: 'server', cpu: 'CPU per shed request (µs)', ratio: '/ floor' }, medians, 'node:http floor'),
    );
  } finally {
    for (const server of servers) server.child.disconnect();
  }
}

interface RunningServer {
  origin: string;
  child: ChildProcess;
  cpuUs(): Promise<number>;
}

async function startServer(kind: ServerKind): Promise<RunningServer> {
  const profile = CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`];
  const child = fork(new URL(import.meta.url).pathname, ['--serve', kind], {
    execArgv: ['--import', 'tsx', ...profile],
  });
  const next = () => new Promise<Message>((resolve) => child.once('message', (m) => resolve(m as Message)));
  const ready = await next();
  if (!('port' in ready)) throw new Error(`${kind}: no port`);
  return {
    origin: `http://127.0.0.1:${ready.port}`,
    child,
    cpuUs: async () => {
      const answer = next();
      child.send('cpu');
      const message = await answer;
      if (!('cpuUs' in message)) throw new Error(`${kind}: no CPU figure`);
      return message.cpuUs;
    },
  };
}

/**
 * RATE requests a second over CONNECTIONS keep-alive connections, each on its own fixed schedule: both servers see
 * the same load (CPU per request depends on it: a busier loop handles more sockets per turn). Every answer must be
 * the 503.
 */
async function fixedRate(server: RunningServer, ms: number): Promise<CpuSample> {
  const target = new HttpTarget(new URL(server.origin), CONNECTIONS);
  const periodMs = (CONNECTIONS * 1000) / RATE;
  let count = 0;
  const cpuBefore = await server.cpuUs();
  const startedAt = performance.now();
  const connection = async (index: number) => {
    for (let dueAt = startedAt + (index * periodMs) / CONNECTIONS; dueAt < startedAt + ms; dueAt += periodMs) {
      const wait = dueAt - performance.now();
      if (wait > 0) await sleep(wait);
      const outcome = await target.send(PATH, HEADERS, 10_000);
      if (!('status' in outcome) || outcome.status !== 503 || outcome.retryAfter !== String(RETRY_AFTER_S)) {
        throw new Error(`expected a 503 with Retry-After: ${RETRY_AFTER_S}, got ${JSON.stringify(outcome)}`);
      }
      count++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => connection(i)));
  const elapsedS = (performance.now() - startedAt) / 1000;
  const cpuUs = (await server.cpuUs()) - cpuBefore;
  target.close();
  return { cpuUs: cpuUs / count, perSecond: count / elapsedS };
}
