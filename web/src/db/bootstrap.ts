import type { AssignmentConfig, BootstrapConfig, Config } from '@tokenserver/shared';
import { openStore } from './open-store.js';
import { AlreadyExistsError, type Store } from './store.js';

export interface BootstrapResult {
  servicesCreated: string[];
  /** "service url" of every node created. */
  nodesCreated: string[];
}

/**
 * Creates the configured services and nodes that do not exist yet. Existing rows are never changed, so an
 * operator's later `node update` survives restarts; concurrent start-ups are harmless.
 */
export async function bootstrapStore(store: Store, bootstrap: BootstrapConfig): Promise<BootstrapResult> {
  const result: BootstrapResult = { servicesCreated: [], nodesCreated: [] };
  for (const service of bootstrap.services) {
    if (await store.getService(service.name)) continue;
    if (await ignoreExisting(store.addService(service.name, service.pattern))) {
      result.servicesCreated.push(service.name);
    }
  }
  for (const node of bootstrap.nodes) {
    if (await store.getNode(node.service, node.url)) continue;
    const created = store.addNode({
      service: node.service,
      url: node.url,
      capacity: node.capacity,
      downed: node.downed,
      backoff: node.backoff,
      ...(node.available === undefined ? {} : { available: node.available }),
    });
    if (await ignoreExisting(created)) result.nodesCreated.push(`${node.service} ${node.url}`);
  }
  return result;
}

/** True when the row was created, false when another process created it first. */
async function ignoreExisting(creation: Promise<unknown>): Promise<boolean> {
  try {
    await creation;
    return true;
  } catch (err) {
    if (err instanceof AlreadyExistsError) return false;
    throw err;
  }
}

export interface PreparedStore {
  store: Store;
  migrations: number[];
  bootstrap: BootstrapResult;
}

/** What a server start needs: open the configured store, migrate it (if `auto_migrate`), bootstrap it. */
export async function prepareStore(
  config: Pick<Config, 'database' | 'bootstrap'> & { assignment: AssignmentConfig },
): Promise<PreparedStore> {
  const store = openStore(config.database, config.assignment, { backgroundCheckpoint: true });
  try {
    const migrations = config.database.auto_migrate ? (await store.migrate()).applied : [];
    const bootstrap = await bootstrapStore(store, config.bootstrap);
    return { store, migrations, bootstrap };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}
