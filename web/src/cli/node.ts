import type { Command } from 'commander';
import type { NodeChanges, NodeRecord } from '../db/store.js';
import {
  CommandError,
  type ConfigOption,
  isHttpUrl,
  positiveNumber,
  print,
  runWithStore,
  wholeNumber,
  withConfigOption,
} from './store-command.js';

interface NodeFieldOptions extends ConfigOption {
  capacity?: number;
  available?: number;
  currentLoad?: number;
  downed?: boolean;
  backoff?: boolean;
}

/** `tokenserver node add|update|remove|unassign|list`. */
export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('storage nodes: capacity, state, assignment');

  withConfigOption(node.command('add <service> <url>'))
    .description('add a node; by default capacity × capacity_release_rate slots are released at once')
    .requiredOption('--capacity <n>', 'most users the node takes', positiveNumber)
    .option('--available <n>', 'slots released now', wholeNumber)
    .option('--current-load <n>', 'users already on the node', wholeNumber)
    .option('--downed', 'out of service')
    .option('--backoff', 'take no new users')
    .action((service: string, url: string, options: NodeFieldOptions & { capacity: number }, command: Command) => {
      if (!isHttpUrl(url)) command.error(`error: node URL ${url} is not an http:// or https:// URL`);
      return runWithStore(options, async ({ store }) => {
        const added = await store.addNode({ ...nodeChanges(options), service, url, capacity: options.capacity });
        print(`added node ${describeNode(added)}`);
      });
    });

  withConfigOption(node.command('update <service> <url>'))
    .description('change only the given fields of a node')
    .option('--capacity <n>', 'most users the node takes', positiveNumber)
    .option('--available <n>', 'slots released now', wholeNumber)
    .option('--current-load <n>', 'users on the node', wholeNumber)
    .option('--downed', 'mark out of service')
    .option('--no-downed', 'mark in service')
    .option('--backoff', 'take no new users')
    .option('--no-backoff', 'take new users again')
    .action((service: string, url: string, options: NodeFieldOptions, command: Command) => {
      const changes = nodeChanges(options);
      if (Object.keys(changes).length === 0) command.error('error: nothing to update (give at least one field option)');
      return runWithStore(options, async ({ store }) => {
        print(`updated node ${describeNode(await store.updateNode(service, url, changes))}`);
      });
    });

  withConfigOption(node.command('unassign <service> <url>'))
    .description("move the node's users elsewhere: each gets a new node on its next request")
    .action((service: string, url: string, options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        const count = await store.unassignNode(service, url);
        print(`unassigned ${count} user(s) from ${url}`);
      }),
    );

  withConfigOption(node.command('remove <service> <url>'))
    .description('unassign the node, then delete it')
    .action((service: string, url: string, options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        const count = await store.removeNode(service, url);
        print(`removed node ${url} (${count} user(s) unassigned)`);
      }),
    );

  withConfigOption(node.command('list [service]'))
    .description('list nodes, of one service or all')
    .action((service: string | undefined, options: ConfigOption) =>
      runWithStore(options, async ({ store }) => {
        const nodes = await store.listNodes(service);
        if (nodes.length === 0) throw new CommandError(service ? `no nodes for service ${service}` : 'no nodes');
        print(['service', 'url', 'capacity', 'current_load', 'available', 'downed', 'backoff'].join('\t'));
        for (const n of nodes) {
          print([n.service, n.url, n.capacity, n.currentLoad, n.available, n.downed, n.backoff].join('\t'));
        }
      }),
    );
}

function nodeChanges(options: NodeFieldOptions): NodeChanges {
  const changes: NodeChanges = {};
  if (options.capacity !== undefined) changes.capacity = options.capacity;
  if (options.available !== undefined) changes.available = options.available;
  if (options.currentLoad !== undefined) changes.currentLoad = options.currentLoad;
  if (options.downed !== undefined) changes.downed = options.downed;
  if (options.backoff !== undefined) changes.backoff = options.backoff;
  return changes;
}

function describeNode(node: NodeRecord): string {
  const flags = [node.downed ? 'downed' : '', node.backoff ? 'backoff' : ''].filter(Boolean).join(', ');
  return (
    `${node.url} (service ${node.service}, capacity ${node.capacity}, current_load ${node.currentLoad}, ` +
    `available ${node.available}${flags ? `, ${flags}` : ''})`
  );
}
