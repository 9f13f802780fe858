import { ConfigError, type LoadedConfig, loadConfig, resolveConfigPath } from './config.js';

/** Exit code for configuration and usage errors of every CLI. */
export const EXIT_CONFIG = 2;

/** Loads the config for a CLI; on error prints the one-line message and exits 2, never a stack trace. */
export function loadConfigOrExit(cliPath?: string): LoadedConfig {
  try {
    return loadConfig(resolveConfigPath(cliPath));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RangeError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}

/**
 * Runs `stop` once, on the first SIGTERM or SIGINT; later ones are ignored instead of killing the process. When a
 * whole process group is signalled (Ctrl-C, systemd), a child also gets a second SIGTERM from its parent: with
 * `process.once` that one would end the drain half-way.
 */
export function onStopSignal(stop: (signal: NodeJS.Signals) => unknown): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    void stop(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
