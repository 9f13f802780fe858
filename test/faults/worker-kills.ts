import { execFileSync } from 'node:child_process';
import { sleep } from '../support/processes.js';
import { noFailures } from './fault-checks.js';
import { loadDuringFault, startLoadtestStack } from './fault-load.js';
import { type FaultReport, reportFrom } from './fault-report.js';

// kill -9 one worker process (never the supervisor) every second: the broker re-dispatches the jobs it held and the
// supervisor restarts it, so no request may fail.

const WORKER_PROCESSES = 3;

export async function workerKills(durationS: number): Promise<FaultReport> {
  const stack = await startLoadtestStack({ TOKENSERVER_WORKER__PROCESSES: String(WORKER_PROCESSES) });
  try {
    let kills = 0;
    const log = await loadDuringFault({ url: stack.url, runDir: stack.cluster.runDir }, durationS, async () => {
      const end = performance.now() + durationS * 1000 - 1000;
      while (performance.now() < end) {
        await sleep(1000);
        const workers = childPids(stack.workers.pid);
        const victim = workers[kills % Math.max(1, workers.length)];
        if (victim === undefined) continue;
        process.kill(victim, 'SIGKILL');
        kills++;
      }
    });
    const violations = noFailures(log.failures(), 'while workers were killed');
    if (kills < durationS - 2) violations.push(`only ${kills} workers were killed in ${durationS} s`);
    return reportFrom(`kill -9 a worker every second (${kills} kills)`, log, undefined, violations);
  } finally {
    await stack.stop();
  }
}

/** The worker processes of a supervisor: its children. */
function childPids(parent: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(parent)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => pid > 0);
  } catch {
    return []; // ps exits 1 when there is no child (all restarting)
  }
}
