import type { TimedAnswer } from '../../loadtest/run-load.js';
import { IdpServer } from '../support/idp-server.js';
import { JwksServer } from '../support/oauth.js';
import { freePort } from '../support/powerhose.js';
import { eventually, RunningProcess } from '../support/processes.js';
import { TestStack, TOKENSERVER_CLI } from '../support/stack.js';
import { outcomeOf } from './answer-log.js';
import { checkUserRows, noFailures } from './fault-checks.js';
import { at, LOADTEST_MODE, loadDuringFault } from './fault-load.js';
import { type FaultReport, reportFrom } from './fault-report.js';

// SIGTERM in the middle of the load, either to `tokenserver start` alone (it stops its children in order) or to
// every process of the stack at the same moment (the whole process group, as Ctrl-C or a service manager would):
// every request sent before the signal completes with its expected answer (none reset, none 503), the stack exits
// 0 with no process left behind, and every user that got a token has its row. Requests sent after the signal may
// be refused: the server is going away. So may requests due before the signal that the load tool could only send
// after it (all its connections were busy; latency counts from the due time): a refused connection shows that
// the request never reached the server.

const AFTER_STOP_OUTCOMES = new Set(['503', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

export type SigtermTarget = 'tokenserver start' | 'every process';

export async function stackSigterm(durationS: number, target: SigtermTarget): Promise<FaultReport> {
  const idp = await IdpServer.start();
  const jwks = await JwksServer.start();
  const { cluster, database, port } = await TestStack.environment(idp, jwks, {
    ...LOADTEST_MODE,
    TOKENSERVER_EXAMPLE_NODE__PORT: String(await freePort()),
  });
  // Detached: the stack leads its own process group, which holds every process it starts.
  const stack = new RunningProcess(process.execPath, [TOKENSERVER_CLI, 'start'], cluster.env, { detached: true });
  try {
    await stack.waitForOutput(/Token server listening on/, 30_000);
    let signalledAt = Number.POSITIVE_INFINITY;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const log = await loadDuringFault(
      { url: `http://127.0.0.1:${port}`, runDir: cluster.runDir },
      durationS,
      async (stopLoad) => {
        await at(performance.now(), durationS * 0.5);
        signalledAt = performance.now();
        process.kill(target === 'every process' ? -stack.pid : stack.pid, 'SIGTERM');
        exit = await stack.exit;
        stopLoad();
      },
    );
    const afterSignal = log.failuresSent(signalledAt);
    const neverReached = (answer: TimedAnswer) =>
      outcomeOf(answer) === 'ECONNREFUSED' && answer.answeredAt > signalledAt;
    const dueBefore = log.failuresSent(0, signalledAt);
    const rows = await checkUserRows(database.url, log);
    const violations = [
      ...noFailures(
        dueBefore.filter((answer) => !neverReached(answer)),
        'among requests sent before SIGTERM',
      ),
      ...noFailures(
        afterSignal.filter((answer) => !AFTER_STOP_OUTCOMES.has(outcomeOf(answer))),
        'after SIGTERM other than refusals',
      ),
      ...(exit?.code === 0 ? [] : [`tokenserver start exited ${JSON.stringify(exit)}`]),
      ...(await leftBehind(stack.pid)),
      ...rows.violations,
    ];
    return reportFrom(`SIGTERM to ${target}`, log, undefined, violations, [
      rows.note,
      `${afterSignal.length} requests sent after SIGTERM were refused`,
      `${dueBefore.filter(neverReached).length} requests due before SIGTERM were sent after it and refused`,
    ]);
  } finally {
    signalGroup(stack.pid, 'SIGKILL');
    await stack.stop('SIGKILL');
    await Promise.all([idp.close(), jwks.close(), database.drop()]);
    cluster.cleanup();
  }
}

/** A violation when a process of the stack's group outlives `tokenserver start` by more than a second. */
async function leftBehind(pgid: number): Promise<string[]> {
  const groupGone = () => !signalGroup(pgid, 0);
  return eventually(groupGone, 1000).then(
    () => [],
    () => ['processes of the stack were still running after tokenserver start exited'],
  );
}

/** Sends `signal` to the process group; false when no process is left in it. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
