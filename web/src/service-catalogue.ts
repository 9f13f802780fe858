import { apiErrors } from './api-errors.js';
import type { ServiceRecord, Store } from './db/store.js';

// The services of the database (`sync-1.5` is application `sync`, version `1.5`), cached in the web process:
// they change only through ops commands, and reading them on every request would double the store work.

interface Snapshot {
  loadedAt: number;
  byName: ReadonlyMap<string, ServiceRecord>;
  applications: ReadonlySet<string>;
  /** application → versions, for the discovery document. */
  versions: Readonly<Record<string, string[]>>;
}

export const DEFAULT_SERVICE_CACHE_TTL_MS = 10_000;
/**
 * An unknown name re-reads the services at most this often, so that `service add` shows within a second while junk
 * URLs cost at most one read a second (while the database is down, a failed read does not count: each retries).
 */
const MISS_REFRESH_INTERVAL_MS = 1000;

export class ServiceCatalogue {
  private snapshot: Snapshot | undefined;
  private refreshing: Promise<Snapshot> | undefined;

  constructor(
    private readonly store: Pick<Store, 'listServices'>,
    private readonly ttlMs = DEFAULT_SERVICE_CACHE_TTL_MS,
  ) {}

  /** The service for /1.0/{application}/{version}; throws the 404 TokenServerError for unknown ones. */
  async lookup(application: string, version: string): Promise<ServiceRecord> {
    let snapshot = await this.current(this.ttlMs);
    const name = `${application}-${version}`;
    let service = snapshot.byName.get(name);
    if (!service) {
      snapshot = await this.current(MISS_REFRESH_INTERVAL_MS);
      service = snapshot.byName.get(name);
    }
    if (service) return service;
    if (!snapshot.applications.has(application)) throw apiErrors.unknownApplication();
    throw apiErrors.unknownVersion(version);
  }

  /** application → versions. */
  async versions(): Promise<Readonly<Record<string, string[]>>> {
    return (await this.current(this.ttlMs)).versions;
  }

  /** A snapshot at most `maxAgeMs` old, or an older one while the database cannot be read (else its error). */
  private async current(maxAgeMs: number): Promise<Snapshot> {
    const snapshot = this.snapshot;
    if (snapshot && Date.now() - snapshot.loadedAt < maxAgeMs) return snapshot;
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    try {
      return await this.refreshing;
    } catch (err) {
      if (snapshot) return snapshot;
      throw err;
    }
  }

  private async refresh(): Promise<Snapshot> {
    const services = await this.store.listServices();
    const byName = new Map<string, ServiceRecord>();
    const applications = new Set<string>();
    const versions: Record<string, string[]> = {};
    for (const service of services) {
      byName.set(service.name, service);
      const [application, version] = splitServiceName(service.name);
      applications.add(application);
      versions[application] = [...(versions[application] ?? []), version];
    }
    this.snapshot = { loadedAt: Date.now(), byName, applications, versions };
    return this.snapshot;
  }
}

/** `sync-1.5` → [`sync`, `1.5`]; the application is everything before the last dash. */
export function splitServiceName(name: string): [string, string] {
  const dash = name.lastIndexOf('-');
  return dash > 0 ? [name.slice(0, dash), name.slice(dash + 1)] : [name, ''];
}
