import { readdirSync, readFileSync } from 'node:fs';

// CPU time of a process and all its descendants, summed by role, read from /proc (Linux only): where a design under
// test spends its time, per process, over exactly the run that was measured. A process that exits during the run
// takes its time with it.

/** CPU seconds (user + system, every thread) by role. */
export type CpuByRole = Record<string, number>;

/** Linux reports utime and stime in USER_HZ ticks, 100 a second on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

interface ProcessStat {
  ppid: number;
  cpuSeconds: number;
}

/** The tree under `rootPid`, or undefined where there is no /proc (not Linux). */
export function processTreeCpu(rootPid: number, roleOf: (cmdline: string) => string): CpuByRole | undefined {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return undefined;
  }
  const stats = new Map<number, ProcessStat>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat) stats.set(pid, stat);
  }
  const byRole: CpuByRole = {};
  for (const pid of descendants(rootPid, stats)) {
    const stat = stats.get(pid) as ProcessStat;
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

function descendants(rootPid: number, stats: ReadonlyMap<number, ProcessStat>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const tree: number[] = [];
  const pending = stats.has(rootPid) ? [rootPid] : [];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function readStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so the fields are counted after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields 4 (ppid), 14 (utime) and 15 (stime) of proc(5), here 0-based from field 3.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { ppid: Number(fields[1]), cpuSeconds: (utime + stime) / TICKS_PER_SECOND };
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
