import type { Command } from 'commander';
import { isRetired, type Store, type UserRecord } from '../db/store.js';
import {
  CommandError,
  type ConfigOption,
  print,
  runWithStore,
  wholeNumber,
  withConfigOption,
} from './store-command.js';

/** `tokenserver user allocate|retire|count`. */
export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('user assignments');

  withConfigOption(user.command('allocate <service> <email> [node]'))
    .description(
      'assign a user: a new user goes to NODE or the best node; an existing user moves to NODE (new uid), or stays',
    )
    .action((service: string, email: string, node: string | undefined, options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        const allocated = await allocate(store, service, email, node);
        print(`${email}\tuid ${allocated.uid}\t${allocated.nodeUrl}`);
      }),
    );

  withConfigOption(user.command('retire <email>'))
    .description('the account was deleted: it can never get a token again (in every service); purge removes its data')
    .action((email: string, options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        const count = await store.retireUser(email);
        if (count === 0) throw new CommandError(`no user ${email}`);
        print(`retired ${email} in ${count} service(s)`);
      }),
    );

  withConfigOption(user.command('count'))
    .description('count live users')
    .option('--service <name>', 'only this service')
    .option(
      '--timestamp <ms>',
      'only users created at or before this time (ms since the epoch; default now)',
      wholeNumber,
    )
    .action((options: ConfigOption & { service?: string; timestamp?: number }) =>
      runWithStore(options, async ({ store }) => {
        print(String(await store.countUsers(options.timestamp ?? Date.now(), options.service)));
      }),
    );
}

async function allocate(store: Store, service: string, email: string, node: string | undefined): Promise<UserRecord> {
  const existing = await store.getUser(service, email);
  if (!existing) {
    const seed = { generation: 0, keysChangedAt: null, clientState: '' };
    return store.allocateUser(service, email, seed, node === undefined ? {} : { node });
  }
  if (isRetired(existing)) throw new CommandError(`user ${email} is retired`);
  if (existing.replacedAt !== null || existing.nodeUrl === null) {
    if (node === undefined) return store.reassignUser(existing);
    return store.allocateUser(service, email, existing, { node });
  }
  if (node === undefined || node === existing.nodeUrl) return existing;
  return store.replaceUser(existing, existing, { node });
}
