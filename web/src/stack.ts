import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Config, Logger } from '@tokenserver/shared';
import type { WebListeningMessage } from './web-main.js';

// `tokenserver start`: the broker, the worker supervisor, the web front and (unless disabled) the example
// storage node as child processes sharing one config.
// A child that exits on its own takes the stack down (non-zero exit); SIGTERM/SIGINT stop every child cleanly;
// a child whose stack process died (SIGKILL, crash) stops by itself (exit-with-parent.ts).

const script = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
export const BROKER_SCRIPT = script('../../broker/dist/cli.js');
export const WORKER_SCRIPT = script('../../worker/dist/cli.js');
export const WEB_SCRIPT = script('./web-main.js');
export const EXAMPLE_NODE_SCRIPT = script('./example-node/main.js');
/** Makes a child stop when this process goes away, however it goes. */
const EXIT_WITH_PARENT = pathToFileURL(script('./exit-with-parent.js')).href;

export type StackRole = 'broker' | 'workers' | 'web' | 'node';

export interface StackOptions {
  config: Config;
  configPath?: string;
  log: Logger;
  /** Environment of the children (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** How long `ready()` waits for the heartbeat to report the workers registered. */
  readyTimeoutMs?: number;
  /** Also run the example storage node (the bootstrapped node of config/default.toml). */
  exampleNode?: boolean;
}

export interface ChildExit {
  role: StackRole;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Stack {
  private readonly children = new Map<StackRole, ChildProcess>();
  private stopping = false;
  private crashListener: ((exit: ChildExit) => void) | undefined;

  constructor(private readonly options: StackOptions) {}

  /** Starts the processes; resolves with the web front's URL once a token request can succeed. */
  async start(): Promise<string> {
    const env = this.options.env ?? process.env;
    this.spawn('broker', BROKER_SCRIPT, env);
    this.spawn('workers', WORKER_SCRIPT, env);
    const node = this.options.exampleNode ? this.spawn('node', EXAMPLE_NODE_SCRIPT, env) : undefined;
    const web = this.spawn('web', WEB_SCRIPT, webEnvironment(env));
    const url = await listeningUrl(web, 'web front');
    if (node) await listeningUrl(node, 'example node');
    await this.waitForHeartbeat(url);
    return url;
  }

  /** Called once when a child exits while the stack is not stopping. */
  onCrash(listener: (exit: ChildExit) => void): void {
    this.crashListener = listener;
  }

  get pids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.children].map(([role, child]) => [role, child.pid]));
  }

  /**
   * SIGTERM to every child (each drains), SIGKILL to any still running after the grace period. The web front and
   * the node go first: requests they are still answering need the broker and the workers, which a SIGTERM would
   * make refuse new jobs.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const graceMs = this.options.config.broker.shutdown_grace_ms + 5000;
    const stopRoles = (roles: readonly StackRole[]) =>
      Promise.all(roles.map((role) => this.children.get(role)).map((child) => child && stopChild(child, graceMs)));
    await stopRoles(['web', 'node']);
    await stopRoles(['broker', 'workers']);
  }

  private spawn(role: StackRole, path: string, env: NodeJS.ProcessEnv): ChildProcess {
    const args = this.options.configPath === undefined ? [] : ['--config', this.options.configPath];
    const child = fork(path, args, {
      env,
      execArgv: [...process.execArgv, '--import', EXIT_WITH_PARENT],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.children.set(role, child);
    // `child`: the logger's own role and pid name this process.
    this.options.log.info({ child: { role, pid: child.pid } }, 'started');
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      this.stopping = true;
      this.crashListener?.({ role, code, signal });
    });
    return child;
  }

  private async waitForHeartbeat(url: string): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 30_000);
    let last = '';
    while (Date.now() < deadline) {
      if (this.stopping) throw new Error('the stack stopped while starting');
      try {
        const res = await fetch(`${url}/__heartbeat__`);
        if (res.ok) return;
        last = await res.text();
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the stack did not become healthy: ${last}`);
  }
}

/** The web front gets no token secret, even when the operator exported one for the workers. */
export function webEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('TOKENSERVER_TOKENS__')));
}

/** The URL a child reports with its `{type: 'listening', url}` message. */
function listeningUrl(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onExit = () => reject(new Error(`the ${what} exited before listening`));
    child.once('exit', onExit);
    child.on('message', (message: WebListeningMessage) => {
      if (message?.type !== 'listening') return;
      child.off('exit', onExit);
      resolve(message.url);
    });
  });
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
