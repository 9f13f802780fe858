import { createLogger, ensureRunDir, loadConfigOrExit, onStopSignal } from '@tokenserver/shared';
import type { Command } from 'commander';
import { Stack } from '../stack.js';

/** `tokenserver start`: broker, workers and web front in one command (SQLite and IPC by default). */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the broker, [worker] processes workers, the web front on [web] port and the example node')
    .option('-c, --config <path>', 'config file (default: $TOKENSERVER_CONFIG or config/default.toml)')
    .option('--no-example-node', 'do not run the example storage node ([example_node] port)')
    .action((options: { config?: string; exampleNode: boolean }) => runStack(options.config, options.exampleNode));
}

async function runStack(configPath: string | undefined, exampleNode: boolean): Promise<void> {
  const { config, path } = loadConfigOrExit(configPath);
  const log = createLogger('stack', config);
  if (config.broker.transport === 'ipc') ensureRunDir(config.broker.run_dir);
  const stack = new Stack({ config, configPath: path, log, exampleNode });
  const shutdown = async (signal: string, exitCode: number): Promise<void> => {
    log.info({ signal }, 'stopping the stack');
    await stack.stop();
    process.exit(exitCode);
  };
  stack.onCrash((exit) => {
    log.error(exit, `${exit.role} exited unexpectedly; stopping the stack`);
    void shutdown('child exit', 1);
  });
  onStopSignal((signal) => shutdown(signal, 0));
  try {
    const url = await stack.start();
    log.info({ url, pids: stack.pids, workers: config.worker.processes }, 'stack ready');
    process.stdout.write(`Token server listening on ${url} (try ${url}/1.0/sync/1.5)\n`);
  } catch (err) {
    log.error({ err: (err as Error).message }, 'the stack did not start');
    await shutdown('start failure', 1);
  }
}
