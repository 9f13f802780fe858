// npm run bench:store — the store work of token requests, through the account rules, at 32 concurrent requests:
// lookups of existing users (one indexed read each) and first requests of new users (allocation transaction).
// Bounded: fixed-length runs on a temporary SQLite file and a temporary MariaDB database; stops by itself.

import {
  type BackendKind,
  createTestDatabase,
  databaseConfig,
  MYSQL_TEST_URL,
  testAssignment,
} from '../test/support/databases.js';
import { type AccountClaims, resolveUser } from '../web/src/accounts.js';
import { openStore } from '../web/src/db/open-store.js';
import type { Store } from '../web/src/db/store.js';
import { formatNumber, textTable } from './text-table.js';

const CONCURRENCY = 32;
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 3000);
const PRELOADED_USERS = 5000;
const SERVICE = 'sync-1.5';
const CLAIMS: AccountClaims = { generation: 1000, keysChangedAt: 1000, clientState: 'a1b2c3d4' };
const OPEN = { allowNewUsers: true };

interface Measurement {
  perSecond: number;
  p50ms: number;
  p99ms: number;
  /** This process's CPU per operation: all of the store's work for SQLite, the client's side for MariaDB. */
  cpuMicros: number;
}

/** Runs `op(i)` from CONCURRENCY loops for RUN_MS; i counts up across all loops. */
async function measure(op: (i: number) => Promise<unknown>): Promise<Measurement> {
  const latencies: number[] = [];
  let next = 0;
  const deadline = performance.now() + RUN_MS;
  const loop = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      await op(next++);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  const cpuMicros = (cpu.user + cpu.system) / Math.max(1, latencies.length);
  return { perSecond: latencies.length / elapsedS, p50ms: at(0.5), p99ms: at(0.99), cpuMicros };
}

async function prepare(store: Store): Promise<void> {
  await store.migrate();
  await store.addService(SERVICE, '{node}/1.5/{uid}');
  for (const n of [1, 2, 3]) {
    await store.addNode({
      service: SERVICE,
      url: `https://node${n}.example`,
      capacity: 10_000_000,
      available: 10_000_000,
    });
  }
  for (let i = 0; i < PRELOADED_USERS; i += CONCURRENCY) {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, j) =>
        resolveUser(store, SERVICE, `existing-${i + j}@bench`, CLAIMS, OPEN),
      ),
    );
  }
}

async function benchBackend(kind: BackendKind): Promise<string[][]> {
  const database = await createTestDatabase(kind);
  const store = openStore(databaseConfig(database.url, { pool_size: CONCURRENCY }), testAssignment);
  try {
    await prepare(store);
    const lookups = await measure((i) =>
      resolveUser(store, SERVICE, `existing-${i % PRELOADED_USERS}@bench`, CLAIMS, OPEN),
    );
    const allocations = await measure((i) => resolveUser(store, SERVICE, `new-${i}@bench`, CLAIMS, OPEN));
    const row = (name: string, m: Measurement) => [
      `${kind} ${name}`,
      formatNumber(m.perSecond),
      formatNumber(m.p50ms, 2),
      formatNumber(m.p99ms, 2),
      formatNumber(m.cpuMicros),
    ];
    return [row('lookup (existing user)', lookups), row('allocation (new user)', allocations)];
  } finally {
    await store.close();
    await database.drop();
  }
}

const rows = await benchBackend('sqlite');
if (MYSQL_TEST_URL) rows.push(...(await benchBackend('mysql')));
else process.stderr.write('TOKENSERVER_TEST_MYSQL_URL is not set: MariaDB skipped\n');
process.stdout.write(
  `store benchmark: ${CONCURRENCY} concurrent requests, ${RUN_MS} ms per run, ${PRELOADED_USERS} existing users\n`,
);
process.stdout.write(
  `${textTable(['operation', 'per second', 'p50 ms', 'p99 ms', 'CPU µs / op (this process)'], rows)}\n`,
);
