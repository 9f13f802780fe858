import { loadConfigOrExit, SecretsError } from '@tokenserver/shared';
import type { Command } from 'commander';
import { openStore } from '../db/open-store.js';
import { type Store, StoreError } from '../db/store.js';

// What every database ops command shares: the --config option, opening (and migrating) the store, and
// turning failures into one line on stderr with exit 1 (usage errors exit 2 through commander).

export const EXIT_RUNTIME = 1;

export interface ConfigOption {
  config?: string;
}

export function withConfigOption(command: Command): Command {
  return command.option('-c, --config <path>', 'config file (default: $TOKENSERVER_CONFIG or config/default.toml)');
}

export interface StoreContext {
  store: Store;
  config: ReturnType<typeof loadConfigOrExit>['config'];
}

/**
 * Loads the config (exit 2 on errors), opens the store, applies pending migrations when
 * `database.auto_migrate` is on, runs `work`, closes the store. Store and argument errors exit 1.
 */
export async function runWithStore(
  options: ConfigOption,
  work: (context: StoreContext) => Promise<void>,
  { migrate = true }: { migrate?: boolean } = {},
): Promise<void> {
  const { config } = loadConfigOrExit(options.config);
  let store: Store | undefined;
  try {
    store = openStore(config.database, config.assignment);
    if (migrate && config.database.auto_migrate) await store.migrate();
    await work({ store, config });
  } catch (err) {
    reportFailure(err);
  } finally {
    await store?.close().catch(() => undefined);
  }
}

/** A failure the operator caused or can fix (unknown user, nothing to change): message and exit 1. */
export class CommandError extends Error {}

/** One line on stderr and exit code 1. */
export function reportFailure(err: unknown): void {
  process.exitCode = EXIT_RUNTIME;
  process.stderr.write(`tokenserver: ${describeError(err)}\n`);
}

function describeError(err: unknown): string {
  if (err instanceof StoreError || err instanceof CommandError || err instanceof SecretsError) return err.message;
  return `unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}

export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
