import { sleep } from '../support/processes.js';
import { noFailures, onlyFastUnavailable, recoveredWithin } from './fault-checks.js';
import { at, JOB_TIMEOUT_MS, loadDuringFault, startLoadtestStack } from './fault-load.js';
import { type FaultReport, reportFrom } from './fault-report.js';

// kill -9 the broker, start a new one on the same endpoints after a gap: the gap is answered 503 with Retry-After
// (a job in flight at the kill waits at most its deadline), and service is back within 5 s, with no manual step.

const RECOVERY_LIMIT_MS = 5000;
/** The job deadline, plus the web front's own work and scheduling on a loaded machine. */
const LATENCY_LIMIT_MS = JOB_TIMEOUT_MS + 1500;

export async function brokerRestart(durationS: number): Promise<FaultReport> {
  const stack = await startLoadtestStack();
  try {
    let killedAt = Number.POSITIVE_INFINITY;
    let restartedAt = Number.POSITIVE_INFINITY;
    const log = await loadDuringFault({ url: stack.url, runDir: stack.cluster.runDir }, durationS, async () => {
      const startedAt = performance.now();
      await at(startedAt, durationS * 0.25);
      killedAt = performance.now();
      await stack.stopBroker();
      await sleep(Math.min(3000, durationS * 200));
      await stack.startBroker();
      restartedAt = performance.now();
    });
    const recoverMs = log.recoveryMs(restartedAt);
    const violations = [
      ...noFailures(
        log.failures().filter((answer) => answer.answeredAt < killedAt),
        'before the kill',
      ),
      ...onlyFastUnavailable(log.failures(), LATENCY_LIMIT_MS),
      ...recoveredWithin(recoverMs, RECOVERY_LIMIT_MS),
    ];
    return reportFrom('kill -9 the broker, restart it', log, recoverMs, violations);
  } finally {
    await stack.stop();
  }
}
