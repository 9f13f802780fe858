import { existsSync, readFileSync } from 'node:fs';
import { descendantsOf, procStat } from '../test/support/processes.js';

// CPU time of a process and all its descendants, summed by role, read from /proc (Linux only): where a design under
// test spends its time, per process, over exactly the run that was measured. A process that exits during the run
// takes its time with it.

/** CPU seconds (user + system, every thread) by role. */
export type CpuByRole = Record<string, number>;

/** The tree under `rootPid`, or undefined where there is no /proc (not Linux). */
export function processTreeCpu(rootPid: number, roleOf: (cmdline: string) => string): CpuByRole | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const byRole: CpuByRole = {};
  for (const pid of [rootPid, ...descendantsOf(rootPid)]) {
    const stat = procStat(pid);
    if (!stat) continue; // exited meanwhile
    const role = roleOf(readCmdline(pid));
    byRole[role] = (byRole[role] ?? 0) + stat.cpuSeconds;
  }
  return byRole;
}

/** `after - before`, per role, as cores over `seconds` (a role that appeared during the run counts from zero). */
export function coresUsed(before: CpuByRole, after: CpuByRole, seconds: number): CpuByRole {
  const cores: CpuByRole = {};
  for (const [role, cpuSeconds] of Object.entries(after)) {
    cores[role] = Math.max(0, cpuSeconds - (before[role] ?? 0)) / seconds;
  }
  return cores;
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
