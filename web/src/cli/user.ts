import { type Command, InvalidArgumentError } from 'commander';
import { applyAccountChange } from '../account-events.js';
import { isRetired, MAX_GENERATION, type Store, type UserRecord } from '../db/store.js';
import { positiveNumber, userEmail, wholeNumber } from './arguments.js';
import { CommandError, type ConfigOption, print, runWithStore, withConfigOption } from './store-command.js';

/** `tokenserver user allocate|retire|bump-generation|count`. */
export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('user assignments');

  withConfigOption(user.command('allocate'))
    .description(
      'assign a user: a new user goes to NODE or the best node; an existing user moves to NODE (new uid), or stays',
    )
    .argument('<service>')
    .argument('<email>', 'the user, e.g. FXA_UID@api.accounts.firefox.com', userEmail)
    .argument('[node]')
    .action((service: string, email: string, node: string | undefined, options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        const allocated = await allocate(store, service, email, node);
        print(`${email}\tuid ${allocated.uid}\t${allocated.nodeUrl}`);
      }),
    );

  withConfigOption(user.command('retire'))
    .description('the account was deleted: it can never get a token again (in every service); purge removes its data')
    .argument('<email>', 'the user', userEmail)
    .action((email: string, options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        const count = await applyAccountChange(store, email, { kind: 'retire' });
        if (count === 0) throw new CommandError(`no user ${email}`);
        print(`retired ${email} in ${count} service(s)`);
      }),
    );

  withConfigOption(user.command('bump-generation'))
    .description(
      "the account's generation is now GENERATION (e.g. after a password change; FxA generations are ms timestamps): devices on an older one get 401 invalid-generation",
    )
    .argument('<email>', 'the user', userEmail)
    .argument('<generation>', 'the new generation', generationArgument)
    .action((email: string, generation: number, options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        const count = await applyAccountChange(store, email, { kind: 'generation', generation });
        if (count === 0) throw new CommandError(`no user ${email}`);
        print(`${email}: generations below ${generation} refused in ${count} service(s)`);
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

/** Commander parser: below MAX_GENERATION, which marks retired accounts. */
function generationArgument(value: string): number {
  const generation = positiveNumber(value);
  if (generation >= MAX_GENERATION) throw new InvalidArgumentError(`expected a number below ${MAX_GENERATION}`);
  return generation;
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
