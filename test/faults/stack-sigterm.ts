import { IdpServer } from '../support/idp-server.js';
import { JwksServer } from '../support/oauth.js';
import { freePort } from '../support/powerhose.js';
import { RunningProcess } from '../support/processes.js';
import { TestStack, TOKENSERVER_CLI } from '../support/stack.js';
import { outcomeOf } from './answer-log.js';
import { checkUserRows, noFailures } from './fault-checks.js';
import { at, LOADTEST_MODE, loadDuringFault } from './fault-load.js';
import { type FaultReport, reportFrom } from './fault-report.js';

// SIGTERM to `tokenserver start` in the middle of the load: every request sent before the signal completes with
// its expected answer (none reset, none 503), the stack exits 0, and every user that got a token has its row.
// Requests sent after the signal may be refused: the server is going away.

const AFTER_STOP_OUTCOMES = new Set(['503', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

export async function stackSigterm(durationS: number): Promise<FaultReport> {
  const idp = await IdpServer.start();
  const jwks = await JwksServer.start();
  const { cluster, database, port } = await TestStack.environment(idp, jwks, {
    ...LOADTEST_MODE,
    TOKENSERVER_EXAMPLE_NODE__PORT: String(await freePort()),
  });
  const stack = new RunningProcess(process.execPath, [TOKENSERVER_CLI, 'start'], cluster.env);
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
        stack.child.kill('SIGTERM');
        exit = await stack.exit;
        stopLoad();
      },
    );
    const afterSignal = log.failuresSent(signalledAt);
    const rows = await checkUserRows(database.url, log);
    const violations = [
      ...noFailures(log.failuresSent(0, signalledAt), 'among requests sent before SIGTERM'),
      ...noFailures(
        afterSignal.filter((answer) => !AFTER_STOP_OUTCOMES.has(outcomeOf(answer))),
        'after SIGTERM other than refusals',
      ),
      ...(exit?.code === 0 ? [] : [`tokenserver start exited ${JSON.stringify(exit)}`]),
      ...rows.violations,
    ];
    return reportFrom('SIGTERM to tokenserver start', log, undefined, violations, [
      rows.note,
      `${afterSignal.length} requests sent after SIGTERM were refused`,
    ]);
  } finally {
    await stack.stop('SIGKILL');
    await Promise.all([idp.close(), jwks.close(), database.drop()]);
    cluster.cleanup();
  }
}
