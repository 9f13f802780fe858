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
