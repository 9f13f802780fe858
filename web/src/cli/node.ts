import { loadConfigOrExit, type TokensConfig } from '@tokenserver/shared';
import type { Command } from 'commander';
import type { NodeChanges, NodeRecord } from '../db/store.js';
import { type RotationResult, rotateNodeSecret, UnknownSecretsNodeError } from '../rotate-node-secret.js';
import { nodeCapacity, nodeCount, nodeUrl } from './arguments.js';
import {
  CommandError,
  type ConfigOption,
  print,
  reportFailure,
  runWithStore,
  type StoreContext,
  withConfigOption,
} from './store-command.js';

interface NodeFieldOptions extends ConfigOption {
  capacity?: number;
  available?: number;
  currentLoad?: number;
  downed?: boolean;
  backoff?: boolean;
}

/** `tokenserver node add|update|remove|unassign|list|rotate-secret`. */
export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('storage nodes: capacity, state, assignment');

  withConfigOption(node.command('add'))
    .description('add a node; by default capacity × capacity_release_rate slots are released at once')
    .argument('<service>')
    .argument('<url>', 'http:// or https:// URL of the node (at most 255 characters)', nodeUrl)
    .requiredOption('--capacity <n>', 'most users the node takes', nodeCapacity)
    .option('--available <n>', 'slots released now (at most the capacity)', nodeCount)
    .option('--current-load <n>', 'users already on the node (at most the capacity)', nodeCount)
    .option('--downed', 'out of service')
    .option('--backoff', 'take no new users')
    .action((service: string, url: string, options: NodeFieldOptions & { capacity: number }, command: Command) => {
      const tooHigh = firstAbove(
        options.capacity,
        ['--available', options.available],
        ['--current-load', options.currentLoad],
      );
      if (tooHigh) command.error(`error: ${tooHigh} is above --capacity ${options.capacity}`);
      return runWithStore(options, async ({ store }) => {
        const added = await store.addNode({ ...nodeChanges(options), service, url, capacity: options.capacity });
        print(`added node ${describeNode(added)}`);
      });
    });

  withConfigOption(node.command('update <service> <url>'))
    .description('change only the given fields of a node')
    .option('--capacity <n>', 'most users the node takes (below current_load drains the node)', nodeCapacity)
    .option('--available <n>', 'slots released now (at most the capacity)', nodeCount)
    .option('--current-load <n>', 'users on the node', nodeCount)
    .option('--downed', 'mark out of service')
    .option('--no-downed', 'mark in service')
    .option('--backoff', 'take no new users')
    .option('--no-backoff', 'take new users again')
    .action((service: string, url: string, options: NodeFieldOptions, command: Command) => {
      const changes = nodeChanges(options);
      if (Object.keys(changes).length === 0) command.error('error: nothing to update (give at least one field option)');
      const tooHigh = changes.capacity && firstAbove(changes.capacity, ['--available', changes.available]);
      if (tooHigh) command.error(`error: ${tooHigh} is above --capacity ${changes.capacity}`);
      return runWithStore(options, async (context) => {
        print(`updated node ${describeNode(await updateNode(context, service, url, changes))}`);
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

  withConfigOption(node.command('rotate-secret'))
    .description(
      'give the node a new token secret in [tokens] secrets_file: tokens signed with the old ones stop working at once (workers and nodes re-read the file); with --keep-old they stay valid',
    )
    .argument('<url>', 'the node, exactly as written in the secrets file', nodeUrl)
    .option('--keep-old', 'keep the current secrets valid (graceful rotation, not a compromise)')
    .option('--add', 'the node has no line in the secrets file yet: add it with a first secret')
    .action((url: string, options: ConfigOption & { keepOld?: boolean; add?: boolean }) => {
      try {
        const { config } = loadConfigOrExit(options.config);
        const path = secretsFileOrExplain(config.tokens);
        const result = rotateNodeSecret(path, url, { keepOld: options.keepOld === true, add: options.add === true });
        print(describeRotation(url, path, result));
      } catch (err) {
        if (err instanceof UnknownSecretsNodeError) {
          reportFailure(new CommandError(`${err.message}; check the URL, or give --add to add the node`));
        } else reportFailure(err);
      }
    });

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

/** Only a secrets file holds one node's secret apart from the others. */
function secretsFileOrExplain(tokens: TokensConfig): string {
  if (tokens.secrets_file !== undefined) return tokens.secrets_file;
  throw new CommandError(
    'node secrets come from [tokens] master_secret (or the generated one in run_dir), so one node cannot get a ' +
      'new secret alone. Either revoke the tokens of every node by replacing master_secret with a new value and ' +
      'restarting the workers and the nodes, or move to [tokens] secrets_file (README, "Revoking a node\'s ' +
      'tokens") and run this command again.',
  );
}

/** "--option value" of the first given count above `capacity`. */
function firstAbove(capacity: number, ...counts: Array<[string, number | undefined]>): string | undefined {
  const above = counts.find(([, value]) => value !== undefined && value > capacity);
  return above && `${above[0]} ${above[1]}`;
}

function describeRotation(url: string, path: string, result: RotationResult): string {
  if (result.addedNode) return `added node ${url} to ${path} with a new secret`;
  const kept = result.validSecrets - 1;
  const older = kept > 0 ? `${kept} older secret(s) still valid` : 'older secrets revoked';
  return `rotated the secret of ${url} in ${path} (${older})`;
}

/** --available is checked against the capacity the node will have; a lower capacity alone drains the node. */
async function updateNode(
  { store }: StoreContext,
  service: string,
  url: string,
  changes: NodeChanges,
): Promise<NodeRecord> {
  if (changes.available !== undefined && changes.capacity === undefined) {
    const current = await store.getNode(service, url);
    if (current && changes.available > current.capacity) {
      throw new CommandError(`--available ${changes.available} is above the capacity ${current.capacity} of ${url}`);
    }
  }
  return store.updateNode(service, url, changes);
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
