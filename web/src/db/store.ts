import { CodedError } from '@tokenserver/shared';

// The user/node store: one interface, a SQLite and a MySQL/MariaDB implementation (see sql-store.ts).

/**
 * Generation written on retired (deleted) accounts. Mozilla uses 2^63-1; JavaScript numbers are exact
 * only up to 2^53-1, so any stored generation at or above this value (including a legacy 2^63-1) reads as retired.
 */
export const MAX_GENERATION = Number.MAX_SAFE_INTEGER;

/** How many rows of a user's history are read per lookup (old client states, first-seen time). */
export const USER_HISTORY_LIMIT = 20;

export interface ServiceRecord {
  id: number;
  name: string;
  /** api_endpoint pattern, e.g. `{node}/1.5/{uid}`. */
  pattern: string;
}

export interface NodeRecord {
  id: number;
  service: string;
  url: string;
  /** Free slots released for new assignments. */
  available: number;
  /** User rows (live or replaced-but-not-purged) pointing at this node. */
  currentLoad: number;
  capacity: number;
  /** Out of service: no assignments, no purge (unless forced). */
  downed: boolean;
  /** No new assignments. */
  backoff: boolean;
}

export interface NewNode {
  service: string;
  url: string;
  capacity: number;
  /** Default: ceil(capacity × capacity_release_rate), so a new node fills gradually. */
  available?: number;
  currentLoad?: number;
  downed?: boolean;
  backoff?: boolean;
}

export type NodeChanges = Partial<Pick<NodeRecord, 'capacity' | 'available' | 'currentLoad' | 'downed' | 'backoff'>>;

/** The identity-related fields copied onto every new row of a user. */
export interface UserSeed {
  generation: number;
  keysChangedAt: number | null;
  clientState: string;
}

/** The current row of a (service, email) account, with what its history contributes. */
export interface UserRecord extends UserSeed {
  uid: number;
  service: string;
  email: string;
  createdAt: number;
  replacedAt: number | null;
  nodeId: number | null;
  /** null when the row has no node or its node was removed. */
  nodeUrl: string | null;
  /** Client states of older rows, newest first, without the current one. */
  oldClientStates: string[];
  /** created_at of the oldest row read. */
  firstSeenAt: number;
}

export interface UserUpdate {
  generation?: number;
  keysChangedAt?: number;
}

export interface PurgeCandidate {
  uid: number;
  service: string;
  email: string;
  generation: number;
  keysChangedAt: number | null;
  clientState: string;
  replacedAt: number;
  nodeId: number | null;
  /** null when the node was removed (or the row never had one). */
  nodeUrl: string | null;
  nodeDowned: boolean;
}

export interface PurgeQuery {
  /** Rows replaced before this time (ms) are candidates. */
  replacedBefore: number;
  /** Cursor: only uids above this one. */
  afterUid: number;
  limit: number;
  /** Only this service's rows (default: every service). */
  service?: string;
}

export interface MigrationResult {
  /** Versions applied by this call (empty when the schema was already current). */
  applied: number[];
  version: number;
}

export interface AllocateOptions {
  /** Put the user on this node (any state) instead of the least-loaded one. */
  node?: string;
}

export interface Store {
  readonly kind: 'sqlite' | 'mysql';
  /** Creates or upgrades the schema; safe to run repeatedly and from several processes at once. */
  migrate(): Promise<MigrationResult>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;

  addService(name: string, pattern: string): Promise<ServiceRecord>;
  getService(name: string): Promise<ServiceRecord | undefined>;
  listServices(): Promise<ServiceRecord[]>;

  addNode(node: NewNode): Promise<NodeRecord>;
  getNode(service: string, url: string): Promise<NodeRecord | undefined>;
  listNodes(service?: string): Promise<NodeRecord[]>;
  updateNode(service: string, url: string, changes: NodeChanges): Promise<NodeRecord>;
  /** Marks the node's live users replaced (they are re-assigned on their next request); returns how many. */
  unassignNode(service: string, url: string): Promise<number>;
  /** Unassigns the node's users, then deletes the node row; returns how many users were unassigned. */
  removeNode(service: string, url: string): Promise<number>;

  /** The current row of the account (one indexed read), or undefined for a new user. */
  getUser(service: string, email: string): Promise<UserRecord | undefined>;
  /**
   * Gives (service, email) a live row unless it already has one: concurrent callers, in any process, end up
   * with the same single live row. Throws NoNodeError when no node can take the user.
   */
  allocateUser(service: string, email: string, seed: UserSeed, options?: AllocateOptions): Promise<UserRecord>;
  /** Marks `user`'s row replaced (if still live) and allocates a fresh row with the same seed on the best node. */
  reassignUser(user: UserRecord): Promise<UserRecord>;
  /** Raises generation / keys_changed_at of the live row, never lowering them. Throws UserChangedError. */
  updateUser(user: UserRecord, update: UserUpdate): Promise<UserRecord>;
  /**
   * Replaces the live row by a new uid carrying `next`, on the same node (or `options.node`, or the best node
   * when the old one is gone). Throws UserChangedError when `user` is no longer the live row.
   */
  replaceUser(user: UserRecord, next: UserSeed, options?: AllocateOptions): Promise<UserRecord>;
  /**
   * Raises the generation of every row of the account, in every service, never lowering it (retired tombstones
   * stay retired): credentials claiming an older generation are then refused. Returns in how many services the
   * account exists.
   */
  raiseGeneration(email: string, generation: number): Promise<number>;
  /** Tombstones the account in every service (it can never get a token again); returns rows tombstoned. */
  retireUser(email: string): Promise<number>;
  /** Live users created at or before `asOf` (ms), optionally in one service. */
  countUsers(asOf: number, service?: string): Promise<number>;
  /** Replaced rows past their grace period, by ascending uid; retired tombstones already purged are excluded. */
  listPurgeCandidates(query: PurgeQuery): Promise<PurgeCandidate[]>;
  /**
   * Deletes a replaced row and frees its node slot, in one transaction; a retired tombstone is kept but detached
   * from its node. Returns false if the row was already gone.
   */
  purgeUserRecord(candidate: PurgeCandidate): Promise<boolean>;
}

/** Base of every store error; callers switch on `code`. */
export class StoreError extends CodedError {
  readonly code: string = 'ERR_STORE';
}

/** The database cannot be reached or is not answering (connection refused/lost, locked, pool exhausted). */
export class StoreUnavailableError extends StoreError {
  override readonly code: string = 'ERR_STORE_UNAVAILABLE';
}

/** A query exceeded database.query_timeout_ms. */
export class StoreTimeoutError extends StoreUnavailableError {
  override readonly code = 'ERR_STORE_TIMEOUT';
}

/** No node can take a new user, even after releasing capacity (503 "unable to get a node"). */
export class NoNodeError extends StoreError {
  override readonly code = 'ERR_NO_NODE';
}

export class UnknownServiceError extends StoreError {
  override readonly code = 'ERR_UNKNOWN_SERVICE';
}

export class UnknownNodeError extends StoreError {
  override readonly code = 'ERR_UNKNOWN_NODE';
}

/** A service or node with that name/URL already exists. */
export class AlreadyExistsError extends StoreError {
  override readonly code = 'ERR_ALREADY_EXISTS';
}

/** The user row read earlier is no longer the live one (a concurrent request changed it); re-read and retry. */
export class UserChangedError extends StoreError {
  override readonly code = 'ERR_USER_CHANGED';
}

/** The database URL or store options are not usable. */
export class StoreConfigError extends StoreError {
  override readonly code = 'ERR_STORE_CONFIG';
}

export function isRetired(user: Pick<UserSeed, 'generation'>): boolean {
  return user.generation >= MAX_GENERATION;
}
