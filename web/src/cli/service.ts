import type { Command } from 'commander';
import { serviceName, servicePattern } from './arguments.js';
import { type ConfigOption, print, runWithStore, withConfigOption } from './store-command.js';

/** `tokenserver service add|list`. */
export function registerServiceCommands(program: Command): void {
  const service = program.command('service').description('services (e.g. sync-1.5) and their api_endpoint patterns');
  withConfigOption(service.command('add'))
    .description('add a service, e.g. `service add sync-1.5 "{node}/1.5/{uid}"`')
    .argument('<name>', 'APPLICATION-VERSION, e.g. sync-1.5 (letters, digits, ".", "_", "-"; at most 30)', serviceName)
    .argument(
      '<pattern>',
      'api_endpoint pattern; {node}, {uid} and {service} are filled in (at most 128 characters)',
      servicePattern,
    )
    .action((name: string, pattern: string, options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        const added = await store.addService(name, pattern);
        print(`added service ${added.name} (id ${added.id}) with pattern ${added.pattern}`);
      }),
    );
  withConfigOption(service.command('list'))
    .description('list services')
    .action((options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        for (const item of await store.listServices()) print(`${item.name}\t${item.pattern}`);
      }),
    );
}
