import type { Command } from 'commander';
import { type ConfigOption, print, runWithStore, withConfigOption } from './store-command.js';

/** `tokenserver db migrate`: create or upgrade the schema (also done at start-up when database.auto_migrate). */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('database schema');
  withConfigOption(db.command('migrate'))
    .description('apply pending schema migrations (safe to repeat)')
    .action((options: ConfigOption) =>
      runWithStore(
        options,
        async ({ store }) => {
          const result = await store.migrate();
          const applied = result.applied.length === 0 ? 'nothing to apply' : `applied ${result.applied.join(', ')}`;
          print(`schema version ${result.version} (${applied})`);
        },
        { migrate: false },
      ),
    );
}
