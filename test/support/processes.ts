import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A child process whose stdout and stderr are collected for assertions. */
export class RunningProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /**
   * `detached`: the child leads a new process group (its pid is the group id), as a service manager starts it.
   * `input`, when given, is written to the process's stdin, which is then closed.
   */
  constructor(
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    options: { detached?: boolean; input?: string } = {},
  ) {
    const input = options.input;
    this.child = spawn(command, args, {
      cwd: REPO_ROOT,
      detached: options.detached ?? false,
      env: { ...process.env, ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (input !== undefined) this.child.stdin?.end(input);
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exit = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the combined output matches `pattern`, or fails after `timeoutMs`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout + this.stderr)) {
      if (!this.running) throw new Error(`process exited before printing ${pattern}:\n${this.stdout}${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${this.stdout}${this.stderr}`);
      await sleep(20);
    }
  }

  /** JSON log lines printed so far (pino). */
  logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    return this.exit;
  }
}

/** Runs a command to completion, with `input` on its stdin when given. */
export async function runToExit(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = new RunningProcess(command, args, env, input === undefined ? {} : { input });
  const { code } = await proc.exit;
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** Every process below `pid` in the process tree (Linux /proc). */
export function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) parents.set(Number(entry), stat.ppid);
  }
  const found: number[] = [];
  for (let frontier = [pid]; frontier.length > 0; ) {
    frontier = [...parents].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    found.push(...frontier);
  }
  return found;
}

/** Alive and not a zombie waiting for whoever adopted it to reap it. */
export function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

export interface ProcStat {
  state: string;
  ppid: number;
  /** User and system CPU time of every thread so far (of the one thread, for a thread's stat). */
  cpuSeconds: number;
  /** Nice value (of the main thread, for a process: Linux keeps one per thread). */
  nice: number;
}

/** Linux reports utime and stime in USER_HZ ticks, 100 a second on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** What /proc/PID/stat (or, with `tid`, one thread's /proc/PID/task/TID/stat) says (Linux); undefined once gone. */
export function procStat(pid: number, tid?: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so the fields are counted after the last ')'.
  // Fields 3 (state), 4 (ppid), 14 (utime), 15 (stime) and 19 (nice) of proc(5), here 0-based from field 3.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    state: fields[0] as string,
    ppid: Number(fields[1]),
    cpuSeconds: ticks / TICKS_PER_SECOND,
    nice: Number(fields[16]),
  };
}
