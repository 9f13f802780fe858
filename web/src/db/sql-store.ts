import { type MigrationDialect, runMigrations } from './migrations.js';
import { DuplicateKeyError, type SqlDatabase, type SqlExecutor, type SqlValue } from './sql-database.js';
import {
  type AllocateOptions,
  AlreadyExistsError,
  isRetired,
  MAX_GENERATION,
  type MigrationResult,
  type NewNode,
  type NodeChanges,
  type NodeRecord,
  NoNodeError,
  type PurgeCandidate,
  type PurgeQuery,
  type ServiceRecord,
  type Store,
  UnknownNodeError,
  UnknownServiceError,
  USER_HISTORY_LIMIT,
  UserChangedError,
  type UserRecord,
  type UserSeed,
  type UserUpdate,
} from './store.js';

// The Store over either SQL backend. Everything that must be atomic runs inside one db.transaction():
// the live-row check, the node claim (a conditional counter UPDATE) and the user INSERT commit or roll back
// together, and the unique index on live rows (see migrations.ts) settles races between processes.

export interface SqlDialect extends MigrationDialect {
  kind: 'sqlite' | 'mysql';
  /** Scalar two-argument minimum/maximum: MIN/MAX in SQLite, LEAST/GREATEST in MySQL. */
  least: string;
  greatest: string;
}

export interface AssignmentOptions {
  /** Share of capacity released when every node is out of released slots (0 < rate ≤ 1). */
  capacityReleaseRate: number;
  /** Release rounds before giving up with NoNodeError. */
  releaseRounds: number;
}

export interface SqlStoreOptions extends AssignmentOptions {
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/** Attempts at claiming a candidate node before giving up (candidates can fill up under concurrent callers). */
const MAX_NODE_CLAIMS = 20;

const NODE_IS_ASSIGNABLE = 'available > 0 AND current_load < capacity AND downed = 0 AND backoff = 0';

interface UserRow {
  uid: number;
  generation: number;
  keys_changed_at: number | null;
  client_state: string;
  created_at: number;
  replaced_at: number | null;
  nodeid: number | null;
  node: string | null;
}

interface NodeRow {
  id: number;
  service_name: string;
  node: string;
  available: number;
  current_load: number;
  capacity: number;
  downed: number;
  backoff: number;
}

interface PurgeRow extends Omit<UserRow, 'created_at' | 'replaced_at'> {
  service_name: string;
  email: string;
  replaced_at: number;
  downed: number | null;
}

const NODE_COLUMNS = `n.id, s.service AS service_name, n.node, n.available, n.current_load, n.capacity,
  n.downed, n.backoff`;

export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'mysql';
  private readonly services = new Map<string, ServiceRecord>();
  private readonly now: () => number;

  constructor(
    private readonly db: SqlDatabase,
    private readonly dialect: SqlDialect,
    private readonly options: SqlStoreOptions,
  ) {
    this.kind = dialect.kind;
    this.now = options.now ?? Date.now;
  }

  async migrate(): Promise<MigrationResult> {
    return runMigrations(this.db, this.dialect, this.now());
  }

  async ping(): Promise<void> {
    await this.db.all('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  // ---- services

  async addService(name: string, pattern: string): Promise<ServiceRecord> {
    try {
      const { lastInsertId } = await this.db.run('INSERT INTO services (service, pattern) VALUES (?, ?)', [
        name,
        pattern,
      ]);
      return { id: lastInsertId, name, pattern };
    } catch (err) {
      if (err instanceof DuplicateKeyError) throw new AlreadyExistsError(`service ${name} already exists`);
      throw err;
    }
  }

  async getService(name: string): Promise<ServiceRecord | undefined> {
    const cached = this.services.get(name);
    if (cached) return cached;
    const rows = await this.db.all<{ id: number; pattern: string }>(
      'SELECT id, pattern FROM services WHERE service = ?',
      [name],
    );
    const row = rows[0];
    if (!row) return undefined;
    // Services are never deleted or renamed, so a found one can be cached for the life of the process.
    const service = { id: Number(row.id), name, pattern: row.pattern };
    this.services.set(name, service);
    return service;
  }

  async listServices(): Promise<ServiceRecord[]> {
    const rows = await this.db.all<{ id: number; service: string; pattern: string }>(
      'SELECT id, service, pattern FROM services ORDER BY service',
    );
    return rows.map((row) => ({ id: Number(row.id), name: row.service, pattern: row.pattern }));
  }

  private async requireService(name: string): Promise<ServiceRecord> {
    const service = await this.getService(name);
    if (!service) throw new UnknownServiceError(`unknown service ${name}`);
    return service;
  }

  // ---- nodes

  async addNode(node: NewNode): Promise<NodeRecord> {
    const service = await this.requireService(node.service);
    const available = node.available ?? Math.min(node.capacity, this.releaseSize(node.capacity));
    try {
      await this.db.run(
        `INSERT INTO nodes (service, node, available, current_load, capacity, downed, backoff)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          service.id,
          node.url,
          available,
          node.currentLoad ?? 0,
          node.capacity,
          Number(node.downed ?? false),
          Number(node.backoff ?? false),
        ],
      );
    } catch (err) {
      if (err instanceof DuplicateKeyError) {
        throw new AlreadyExistsError(`node ${node.url} already exists for service ${node.service}`);
      }
      throw err;
    }
    return this.requireNode(node.service, node.url);
  }

  async getNode(service: string, url: string): Promise<NodeRecord | undefined> {
    const serviceRecord = await this.requireService(service);
    const rows = await this.db.all<NodeRow>(
      `SELECT ${NODE_COLUMNS} FROM nodes n JOIN services s ON s.id = n.service WHERE n.service = ? AND n.node = ?`,
      [serviceRecord.id, url],
    );
    return rows[0] && toNodeRecord(rows[0]);
  }

  async listNodes(service?: string): Promise<NodeRecord[]> {
    const filter = service === undefined ? '' : 'WHERE n.service = ?';
    const params = service === undefined ? [] : [(await this.requireService(service)).id];
    const rows = await this.db.all<NodeRow>(
      `SELECT ${NODE_COLUMNS} FROM nodes n JOIN services s ON s.id = n.service ${filter} ORDER BY s.service, n.node`,
      params,
    );
    return rows.map(toNodeRecord);
  }

  async updateNode(service: string, url: string, changes: NodeChanges): Promise<NodeRecord> {
    const node = await this.requireNode(service, url);
    const columns: Array<[string, SqlValue | undefined]> = [
      ['capacity', changes.capacity],
      ['available', changes.available],
      ['current_load', changes.currentLoad],
      ['downed', changes.downed === undefined ? undefined : Number(changes.downed)],
      ['backoff', changes.backoff === undefined ? undefined : Number(changes.backoff)],
    ];
    const set = columns.filter(([, value]) => value !== undefined);
    if (set.length > 0) {
      await this.db.run(`UPDATE nodes SET ${set.map(([column]) => `${column} = ?`).join(', ')} WHERE id = ?`, [
        ...set.map(([, value]) => value as SqlValue),
        node.id,
      ]);
    }
    return this.requireNode(service, url);
  }

  async unassignNode(service: string, url: string): Promise<number> {
    const node = await this.requireNode(service, url);
    return this.db.transaction((tx) => this.unassignNodeIn(tx, node.id));
  }

  async removeNode(service: string, url: string): Promise<number> {
    const node = await this.requireNode(service, url);
    return this.db.transaction(async (tx) => {
      const unassigned = await this.unassignNodeIn(tx, node.id);
      await tx.run('DELETE FROM nodes WHERE id = ?', [node.id]);
      return unassigned;
    });
  }

  private async unassignNodeIn(tx: SqlExecutor, nodeId: number): Promise<number> {
    const { changes } = await tx.run('UPDATE users SET replaced_at = ? WHERE nodeid = ? AND replaced_at IS NULL', [
      this.now(),
      nodeId,
    ]);
    return changes;
  }

  private async requireNode(service: string, url: string): Promise<NodeRecord> {
    const node = await this.getNode(service, url);
    if (!node) throw new UnknownNodeError(`unknown node ${url} for service ${service}`);
    return node;
  }

  // ---- users

  async getUser(service: string, email: string): Promise<UserRecord | undefined> {
    const serviceRecord = await this.requireService(service);
    const rows = await this.db.all<UserRow>(
      `SELECT u.uid, u.generation, u.keys_changed_at, u.client_state, u.created_at, u.replaced_at, u.nodeid, n.node
         FROM users u LEFT JOIN nodes n ON n.id = u.nodeid
        WHERE u.email = ? AND u.service = ?
        ORDER BY u.created_at DESC, u.uid DESC
        LIMIT ${USER_HISTORY_LIMIT}`,
      [email, serviceRecord.id],
    );
    return toUserRecord(service, email, rows);
  }

  async allocateUser(
    service: string,
    email: string,
    seed: UserSeed,
    options: AllocateOptions = {},
  ): Promise<UserRecord> {
    const serviceRecord = await this.requireService(service);
    await this.insertLiveRowUnlessPresent(serviceRecord, email, seed, options.node);
    return this.requireUser(service, email);
  }

  async reassignUser(user: UserRecord): Promise<UserRecord> {
    const serviceRecord = await this.requireService(user.service);
    await this.insertLiveRowUnlessPresent(serviceRecord, user.email, user, undefined, user.uid);
    return this.requireUser(user.service, user.email);
  }

  async updateUser(user: UserRecord, update: UserUpdate): Promise<UserRecord> {
    const set: string[] = [];
    const params: SqlValue[] = [];
    if (update.generation !== undefined) {
      set.push(`generation = ${this.dialect.greatest}(generation, ?)`);
      params.push(update.generation);
    }
    if (update.keysChangedAt !== undefined) {
      set.push(`keys_changed_at = ${this.dialect.greatest}(COALESCE(keys_changed_at, 0), ?)`);
      params.push(update.keysChangedAt);
    }
    if (set.length === 0) return user;
    const { changes } = await this.db.run(`UPDATE users SET ${set.join(', ')} WHERE uid = ? AND replaced_at IS NULL`, [
      ...params,
      user.uid,
    ]);
    if (changes === 0) throw new UserChangedError(`user row ${user.uid} is no longer live`);
    return {
      ...user,
      generation: Math.max(user.generation, update.generation ?? 0),
      keysChangedAt:
        update.keysChangedAt === undefined
          ? user.keysChangedAt
          : Math.max(user.keysChangedAt ?? 0, update.keysChangedAt),
    };
  }

  async replaceUser(user: UserRecord, next: UserSeed, options: AllocateOptions = {}): Promise<UserRecord> {
    const serviceRecord = await this.requireService(user.service);
    try {
      await this.db.transaction(async (tx) => {
        const replaced = await this.markReplaced(tx, user.uid);
        if (!replaced) throw new UserChangedError(`user row ${user.uid} is no longer live`);
        const nodeId =
          options.node !== undefined
            ? await this.claimNamedNode(tx, serviceRecord, options.node)
            : await this.claimSameOrBestNode(tx, serviceRecord, user.nodeUrl === null ? null : user.nodeId);
        await this.insertUserRow(tx, serviceRecord.id, user.email, next, nodeId);
      });
    } catch (err) {
      if (err instanceof DuplicateKeyError) throw new UserChangedError(`user ${user.email} changed concurrently`);
      throw err;
    }
    return this.requireUser(user.service, user.email);
  }

  async raiseGeneration(email: string, generation: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const services = await tx.all<{ n: number }>('SELECT COUNT(DISTINCT service) AS n FROM users WHERE email = ?', [
        email,
      ]);
      // Every row, not only the live one: a user moved off its node (unassign) is re-seeded from its last row.
      await tx.run(`UPDATE users SET generation = ${this.dialect.greatest}(generation, ?) WHERE email = ?`, [
        generation,
        email,
      ]);
      return Number(services[0]?.n ?? 0);
    });
  }

  async retireUser(email: string): Promise<number> {
    const now = this.now();
    return this.db.transaction(async (tx) => {
      const newest = await tx.all<{ uid: number }>(
        'SELECT MAX(uid) AS uid FROM users WHERE email = ? GROUP BY service',
        [email],
      );
      // The newest row of each service becomes the tombstone: as the highest generation it is always "current".
      for (const row of newest) {
        await tx.run('UPDATE users SET generation = ?, replaced_at = COALESCE(replaced_at, ?) WHERE uid = ?', [
          MAX_GENERATION,
          now,
          row.uid,
        ]);
      }
      await tx.run('UPDATE users SET replaced_at = ? WHERE email = ? AND replaced_at IS NULL', [now, email]);
      return newest.length;
    });
  }

  async countUsers(asOf: number, service?: string): Promise<number> {
    const params: SqlValue[] = [asOf];
    let filter = '';
    if (service !== undefined) {
      filter = 'AND service = ?';
      params.push((await this.requireService(service)).id);
    }
    const rows = await this.db.all<{ n: number }>(
      `SELECT COUNT(*) AS n FROM users WHERE replaced_at IS NULL AND created_at <= ? ${filter}`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async listPurgeCandidates(query: PurgeQuery): Promise<PurgeCandidate[]> {
    const params: SqlValue[] = [query.replacedBefore, query.afterUid, MAX_GENERATION];
    let filter = '';
    if (query.service !== undefined) {
      filter = 'AND u.service = ?';
      params.push((await this.requireService(query.service)).id);
    }
    const rows = await this.db.all<PurgeRow>(
      `SELECT u.uid, s.service AS service_name, u.email, u.generation, u.keys_changed_at, u.client_state,
              u.replaced_at, u.nodeid, n.node, n.downed
         FROM users u JOIN services s ON s.id = u.service LEFT JOIN nodes n ON n.id = u.nodeid
        WHERE u.replaced_at IS NOT NULL AND u.replaced_at < ? AND u.uid > ?
          AND NOT (u.generation >= ? AND u.nodeid IS NULL) ${filter}
        ORDER BY u.uid
        LIMIT ?`,
      [...params, query.limit],
    );
    return rows.map(toPurgeCandidate);
  }

  async purgeUserRecord(candidate: PurgeCandidate): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const { changes } = isRetired(candidate)
        ? await tx.run('UPDATE users SET nodeid = NULL WHERE uid = ? AND nodeid IS NOT NULL', [candidate.uid])
        : await tx.run('DELETE FROM users WHERE uid = ? AND replaced_at IS NOT NULL', [candidate.uid]);
      if (changes === 0) return false;
      if (candidate.nodeId !== null) await this.freeSlot(tx, candidate.nodeId);
      return true;
    });
  }

  private async requireUser(service: string, email: string): Promise<UserRecord> {
    const user = await this.getUser(service, email);
    if (!user) throw new UserChangedError(`user ${email} vanished while being allocated`);
    return user;
  }

  // ---- allocation internals

  /**
   * One transaction: optionally retire row `replaceUid`, then, if no live row exists, claim a node and insert
   * one. A concurrent caller that inserted first makes our INSERT hit the live-row unique index; the whole
   * transaction (node counters included) rolls back and the caller reads the winner's row.
   */
  private async insertLiveRowUnlessPresent(
    service: ServiceRecord,
    email: string,
    seed: UserSeed,
    nodeUrl: string | undefined,
    replaceUid?: number,
  ): Promise<void> {
    try {
      await this.db.transaction(async (tx) => {
        if (replaceUid !== undefined) await this.markReplaced(tx, replaceUid);
        const live = await tx.all<{ uid: number }>(
          'SELECT uid FROM users WHERE service = ? AND email = ? AND replaced_at IS NULL LIMIT 1',
          [service.id, email],
        );
        if (live.length > 0) return;
        const nodeId =
          nodeUrl === undefined
            ? await this.claimBestNode(tx, service)
            : await this.claimNamedNode(tx, service, nodeUrl);
        await this.insertUserRow(tx, service.id, email, seed, nodeId);
      });
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
  }

  private async markReplaced(tx: SqlExecutor, uid: number): Promise<boolean> {
    const { changes } = await tx.run('UPDATE users SET replaced_at = ? WHERE uid = ? AND replaced_at IS NULL', [
      this.now(),
      uid,
    ]);
    return changes > 0;
  }

  private async insertUserRow(
    tx: SqlExecutor,
    serviceId: number,
    email: string,
    seed: UserSeed,
    nodeId: number,
  ): Promise<void> {
    await tx.run(
      `INSERT INTO users (service, email, generation, client_state, keys_changed_at, created_at, replaced_at, nodeid)
       VALUES (?, ?, ?, ?, ?, ?, NULL, ?)`,
      [serviceId, email, seed.generation, seed.clientState, seed.keysChangedAt, this.now(), nodeId],
    );
  }

  /** Least relative load among assignable nodes; releases capacity when none is left (reference §3.3). */
  private async claimBestNode(tx: SqlExecutor, service: ServiceRecord): Promise<number> {
    let releases = 0;
    for (let attempt = 0; attempt < MAX_NODE_CLAIMS; attempt++) {
      const candidates = await tx.all<{ id: number }>(
        `SELECT id FROM nodes WHERE service = ? AND ${NODE_IS_ASSIGNABLE}
          ORDER BY current_load * 1.0 / capacity, id LIMIT 3`,
        [service.id],
      );
      for (const candidate of candidates) {
        // The condition is re-checked under the row lock: a node filled by a concurrent caller is skipped.
        const { changes } = await tx.run(
          `UPDATE nodes SET current_load = current_load + 1, available = available - 1
            WHERE id = ? AND ${NODE_IS_ASSIGNABLE}`,
          [candidate.id],
        );
        if (changes > 0) return Number(candidate.id);
      }
      if (candidates.length > 0) continue;
      if (releases >= this.options.releaseRounds || (await this.releaseCapacity(tx, service.id)) === 0) break;
      releases++;
    }
    throw new NoNodeError(`unable to get a node for service ${service.name}`);
  }

  /** Gives every live, exhausted node of the service a new batch of capacity × rate slots. */
  private async releaseCapacity(tx: SqlExecutor, serviceId: number): Promise<number> {
    const exhausted = await tx.all<{ id: number; capacity: number; current_load: number }>(
      'SELECT id, capacity, current_load FROM nodes WHERE service = ? AND downed = 0 AND available <= 0 AND current_load < capacity',
      [serviceId],
    );
    let released = 0;
    for (const node of exhausted) {
      const slots = Math.min(this.releaseSize(node.capacity), node.capacity - node.current_load);
      const { changes } = await tx.run('UPDATE nodes SET available = ? WHERE id = ? AND available <= 0', [
        slots,
        node.id,
      ]);
      released += changes;
    }
    return released;
  }

  private releaseSize(capacity: number): number {
    return Math.max(1, Math.ceil(capacity * this.options.capacityReleaseRate));
  }

  /** An operator-chosen node takes the user whatever its state or load. */
  private async claimNamedNode(tx: SqlExecutor, service: ServiceRecord, url: string): Promise<number> {
    const rows = await tx.all<{ id: number }>('SELECT id FROM nodes WHERE service = ? AND node = ?', [service.id, url]);
    const node = rows[0];
    if (!node) throw new UnknownNodeError(`unknown node ${url} for service ${service.name}`);
    await tx.run(
      `UPDATE nodes SET current_load = current_load + 1, available = ${this.dialect.greatest}(available - 1, 0)
        WHERE id = ?`,
      [node.id],
    );
    return Number(node.id);
  }

  /** A user changing keys stays on its node (a new row, one more slot used); the best node if it is gone. */
  private async claimSameOrBestNode(tx: SqlExecutor, service: ServiceRecord, nodeId: number | null): Promise<number> {
    if (nodeId !== null) {
      const { changes } = await tx.run('UPDATE nodes SET current_load = current_load + 1 WHERE id = ?', [nodeId]);
      if (changes > 0) return nodeId;
    }
    return this.claimBestNode(tx, service);
  }

  private async freeSlot(tx: SqlExecutor, nodeId: number): Promise<void> {
    const { least, greatest } = this.dialect;
    // `available` is computed first: MySQL applies SET assignments left to right, SQLite from the old row.
    await tx.run(
      `UPDATE nodes
          SET available = ${greatest}(${least}(available + 1, capacity - current_load + 1), 0),
              current_load = ${greatest}(current_load - 1, 0)
        WHERE id = ?`,
      [nodeId],
    );
  }
}

function toNodeRecord(row: NodeRow): NodeRecord {
  return {
    id: Number(row.id),
    service: row.service_name,
    url: row.node,
    available: Number(row.available),
    currentLoad: Number(row.current_load),
    capacity: Number(row.capacity),
    downed: Number(row.downed) !== 0,
    backoff: Number(row.backoff) !== 0,
  };
}

/** The current row is the highest (generation, created_at, uid); older rows give history (reference §3.2). */
export function toUserRecord(service: string, email: string, rows: readonly UserRow[]): UserRecord | undefined {
  if (rows.length === 0) return undefined;
  const sorted = [...rows].sort((a, b) => b.generation - a.generation || b.created_at - a.created_at || b.uid - a.uid);
  const current = sorted[0]!;
  const oldClientStates: string[] = [];
  for (const row of sorted.slice(1)) {
    if (row.client_state !== current.client_state && !oldClientStates.includes(row.client_state)) {
      oldClientStates.push(row.client_state);
    }
  }
  return {
    uid: Number(current.uid),
    service,
    email,
    generation: Number(current.generation),
    keysChangedAt: current.keys_changed_at === null ? null : Number(current.keys_changed_at),
    clientState: current.client_state,
    createdAt: Number(current.created_at),
    replacedAt: current.replaced_at === null ? null : Number(current.replaced_at),
    nodeId: current.nodeid === null ? null : Number(current.nodeid),
    nodeUrl: current.node,
    oldClientStates,
    firstSeenAt: Math.min(...rows.map((row) => Number(row.created_at))),
  };
}

function toPurgeCandidate(row: PurgeRow): PurgeCandidate {
  return {
    uid: Number(row.uid),
    service: row.service_name,
    email: row.email,
    generation: Number(row.generation),
    keysChangedAt: row.keys_changed_at === null ? null : Number(row.keys_changed_at),
    clientState: row.client_state,
    replacedAt: Number(row.replaced_at),
    nodeId: row.nodeid === null ? null : Number(row.nodeid),
    nodeUrl: row.node,
    nodeDowned: Number(row.downed ?? 0) !== 0,
  };
}
