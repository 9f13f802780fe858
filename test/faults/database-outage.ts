import { createTestDatabase } from '../support/databases.js';
import { PrivateMariaDb } from '../support/private-mariadb.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { checkUserRows, noFailures, onlyFastUnavailable, recoveredWithin } from './fault-checks.js';
import { at, loadDuringFault, startLoadtestStack } from './fault-load.js';
import { type FaultReport, reportFrom } from './fault-report.js';

// MariaDB down: either a private mariadbd (own datadir and port) killed with SIGKILL and started again on the same
// datadir (the full run), or — in the short form, or when mariadbd is not installed — the shared server reached through a
// loopback TCP proxy that is cut (every connection reset, new ones refused) and restored. While it is down requests
// are answered 503 with Retry-After; afterwards service recovers by itself and no user row is lost or duplicated.

const RECOVERY_LIMIT_MS = 10_000;
/** A cut connection fails at once; a new one is refused at once; query/connect timeouts bound the rest. */
const LATENCY_LIMIT_MS = 4000;
const STACK_DATABASE = {
  TOKENSERVER_DATABASE__CONNECT_TIMEOUT_MS: '1000',
  TOKENSERVER_DATABASE__QUERY_TIMEOUT_MS: '2000',
};

export type DatabaseOutage = 'restart' | 'proxy cut';

/** How the outage is made down and up again, and the URL the stack and the row check use. */
interface Outage {
  name: string;
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
  notes: string[];
}

export async function databaseOutage(durationS: number, kind: DatabaseOutage): Promise<FaultReport> {
  const outage = kind === 'restart' && !PrivateMariaDb.unavailable() ? await serverRestart() : await proxyCut(kind);
  const stack = await startLoadtestStack({ ...STACK_DATABASE, TOKENSERVER_DATABASE__URL: outage.url }).catch(
    async (err: unknown) => {
      await outage.close();
      throw err;
    },
  );
  try {
    let downAt = Number.POSITIVE_INFINITY;
    let upAt = Number.POSITIVE_INFINITY;
    const log = await loadDuringFault({ url: stack.url, runDir: stack.cluster.runDir }, durationS, async () => {
      const startedAt = performance.now();
      await at(startedAt, durationS * 0.2);
      downAt = performance.now();
      await outage.down();
      // A restarted server takes a few seconds to accept connections: leave the run time to recover.
      await at(startedAt, durationS * 0.45);
      await outage.up();
      upAt = performance.now();
    });
    const recoverMs = log.recoveryMs(upAt);
    const unavailable = log.failures().filter((answer) => answer.answeredAt >= downAt && answer.sentAt < upAt);
    const rows = await checkUserRows(outage.url, log);
    const violations = [
      ...noFailures(
        log.failures().filter((answer) => answer.answeredAt < downAt),
        'before the outage',
      ),
      ...onlyFastUnavailable(log.failures(), LATENCY_LIMIT_MS),
      ...(unavailable.length === 0 ? ['no request was answered 503 while the database was down'] : []),
      ...recoveredWithin(recoverMs, RECOVERY_LIMIT_MS),
      ...rows.violations,
    ];
    return reportFrom(outage.name, log, recoverMs, violations, [...outage.notes, rows.note]);
  } finally {
    await stack.stop();
    await outage.close();
  }
}

/** A private mariadbd, killed and started again: the server itself goes away, with its connections and buffers. */
async function serverRestart(): Promise<Outage> {
  const server = await PrivateMariaDb.create();
  await server.query('CREATE DATABASE tokenserver_faults');
  const notes = [`a private mariadbd on 127.0.0.1:${server.port}, killed with SIGKILL and started on the same datadir`];
  return {
    name: 'MariaDB killed (SIGKILL), restarted',
    url: server.url('tokenserver_faults'),
    down: () => server.kill('SIGKILL'),
    up: async () => {
      const startedAt = performance.now();
      await server.start();
      notes.push(
        `mariadbd accepted connections ${Math.round(performance.now() - startedAt)} ms after it was started again`,
      );
    },
    close: () => server.destroy(),
    notes,
  };
}

/** The shared server behind a loopback proxy that is cut: the server keeps running (other tests use it). */
async function proxyCut(asked: DatabaseOutage): Promise<Outage> {
  const database = await createTestDatabase('mysql');
  const direct = new URL(database.url);
  const proxy = new TcpProxy(direct.hostname, Number(direct.port || 3306));
  await proxy.start();
  const viaProxy = new URL(database.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  return {
    name: 'MariaDB unreachable (proxy cut), back',
    url: viaProxy.toString(),
    down: () => proxy.cut(),
    up: () => proxy.restore(),
    close: async () => {
      await proxy.cut();
      await database.drop();
    },
    notes:
      asked === 'restart'
        ? [`mariadbd is not restartable here (${PrivateMariaDb.unavailable()}): simulated by cutting a TCP proxy`]
        : [],
  };
}
