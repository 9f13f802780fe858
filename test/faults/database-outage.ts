import { createTestDatabase } from '../support/databases.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { checkUserRows, noFailures, onlyFastUnavailable, recoveredWithin } from './fault-checks.js';
import { at, loadDuringFault, startLoadtestStack } from './fault-load.js';
import { type FaultReport, reportFrom } from './fault-report.js';

// MariaDB unreachable: the stack reaches MariaDB through a loopback TCP proxy that is cut (every connection reset,
// new ones refused) and restored. The machine's MariaDB itself keeps running: other tests share it. While it is
// cut requests are answered 503 with Retry-After; afterwards service recovers by itself and no user row is lost or
// duplicated.

const RECOVERY_LIMIT_MS = 10_000;
/** A cut connection fails at once; a new one is refused at once; query/connect timeouts bound the rest. */
const LATENCY_LIMIT_MS = 4000;

export async function databaseOutage(durationS: number): Promise<FaultReport> {
  const database = await createTestDatabase('mysql');
  const direct = new URL(database.url);
  const proxy = new TcpProxy(direct.hostname, Number(direct.port || 3306));
  await proxy.start();
  const viaProxy = new URL(database.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const stack = await startLoadtestStack({
    TOKENSERVER_DATABASE__URL: viaProxy.toString(),
    TOKENSERVER_DATABASE__CONNECT_TIMEOUT_MS: '1000',
    TOKENSERVER_DATABASE__QUERY_TIMEOUT_MS: '2000',
  });
  try {
    let cutAt = Number.POSITIVE_INFINITY;
    let restoredAt = Number.POSITIVE_INFINITY;
    const log = await loadDuringFault({ url: stack.url, runDir: stack.cluster.runDir }, durationS, async () => {
      const startedAt = performance.now();
      await at(startedAt, durationS * 0.25);
      cutAt = performance.now();
      await proxy.cut();
      await at(startedAt, durationS * 0.55);
      await proxy.restore();
      restoredAt = performance.now();
    });
    const recoverMs = log.recoveryMs(restoredAt);
    const unavailable = log.failures().filter((answer) => answer.answeredAt >= cutAt && answer.sentAt < restoredAt);
    const rows = await checkUserRows(database.url, log);
    const violations = [
      ...noFailures(
        log.failures().filter((answer) => answer.answeredAt < cutAt),
        'before the cut',
      ),
      ...onlyFastUnavailable(log.failures(), LATENCY_LIMIT_MS),
      ...(unavailable.length === 0 ? ['no request was answered 503 while the database was unreachable'] : []),
      ...recoveredWithin(recoverMs, RECOVERY_LIMIT_MS),
      ...rows.violations,
    ];
    return reportFrom('MariaDB unreachable, then back', log, recoverMs, violations, [rows.note]);
  } finally {
    await stack.stop();
    await proxy.cut();
    await database.drop();
  }
}
