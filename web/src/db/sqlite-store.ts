import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteMigrations } from './migrations.js';
import {
  DuplicateKeyError,
  type RunResult,
  type SqlDatabase,
  type SqlExecutor,
  type SqlValue,
} from './sql-database.js';
import { type SqlDialect, SqlStore, type SqlStoreOptions } from './sql-store.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { SqliteWorkQueue } from './sqlite-work-queue.js';
import { StoreUnavailableError } from './store.js';

export interface SqliteOptions extends SqlStoreOptions {
  /** How long a statement waits for another process's write lock before failing as unavailable. */
  busyTimeoutMs: number;
  /** Run WAL checkpoints on a thread of their own (for a long-running server; see sqlite-checkpointer.ts). */
  backgroundCheckpoint?: boolean;
}

const sqliteDialect: SqlDialect = {
  kind: 'sqlite',
  least: 'MIN',
  greatest: 'MAX',
  migrations: sqliteMigrations,
  // BEGIN IMMEDIATE takes the database write lock, so concurrent migrators queue behind each other.
  withMigrationLock: (db, fn) => db.transaction(fn),
};

/** Opens (creating if needed) the SQLite file at `path`, or an in-memory database for ":memory:". */
export function openSqliteStore(path: string, options: SqliteOptions): SqlStore {
  return new SqlStore(new SqliteDatabase(path, options), sqliteDialect, options);
}

/**
 * Work queues shared by every connection of this process to the same file. better-sqlite3 is synchronous: a
 * second connection's BEGIN IMMEDIATE would block the event loop waiting for a lock that the first connection's
 * (async, mid-flight) transaction can then never release. Other processes have their own event loop, so for
 * them the file lock and busy timeout are enough.
 */
const fileQueues = new Map<string, SqliteWorkQueue>();

/** Serialises all work on one file within this process, so async transactions never interleave. */
class SqliteDatabase implements SqlDatabase {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly direct: SqlExecutor;
  private readonly queue: SqliteWorkQueue;
  private readonly checkpointer: SqliteCheckpointer | undefined;

  constructor(path: string, options: Pick<SqliteOptions, 'busyTimeoutMs' | 'backgroundCheckpoint'>) {
    this.db = guard(() => openDatabase(path, options.busyTimeoutMs));
    this.queue = queueFor(path);
    this.checkpointer =
      options.backgroundCheckpoint && path !== ':memory:' ? this.checkpointInBackground(path, options) : undefined;
    this.direct = {
      all: async <Row>(sql: string, params: readonly SqlValue[] = []) =>
        guard(() => this.prepare(sql).all(...params) as Row[]),
      run: async (sql: string, params: readonly SqlValue[] = []): Promise<RunResult> =>
        guard(() => {
          const result = this.prepare(sql).run(...params);
          return { changes: result.changes, lastInsertId: Number(result.lastInsertRowid) };
        }),
    };
  }

  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.queue.run(() => this.direct.all<Row>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.queue.run(() => this.direct.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      await this.direct.run('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        await this.direct.run('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  session<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T> {
    return this.queue.run(() => fn(this.direct));
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      await this.checkpointer?.close();
      this.db.close();
    });
  }

  private checkpointInBackground(path: string, options: Pick<SqliteOptions, 'busyTimeoutMs'>): SqliteCheckpointer {
    // The backstop: the thread's checkpoints copy the WAL back, this one (rarely due) lets it start over.
    this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
    return new SqliteCheckpointer(path, {
      busyTimeoutMs: options.busyTimeoutMs,
      onFailure: (err) => {
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES}`);
        process.emitWarning(`${err.message}; checkpoints run on the serving thread again`, 'SqliteCheckpointWarning');
      },
    });
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

function queueFor(path: string): SqliteWorkQueue {
  if (path === ':memory:') return new SqliteWorkQueue();
  let queue = fileQueues.get(path);
  if (!queue) {
    queue = new SqliteWorkQueue();
    fileQueues.set(path, queue);
  }
  return queue;
}

function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  if (path !== ':memory:') {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new StoreUnavailableError(`cannot create the directory of ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const db = new Database(path, { timeout: busyTimeoutMs });
  enableWal(db, busyTimeoutMs);
  // In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits, which only means
  // a user is allocated again on the next request.
  db.pragma('synchronous = NORMAL');
  return db;
}

/**
 * Switches the connection to WAL. Processes opening a fresh file at once (web fronts starting together) each read
 * it, then need it alone to switch: SQLite answers the loser SQLITE_BUSY at once, without waiting (waiting while
 * holding its read lock could deadlock). Trying the statement again, within the busy timeout, succeeds.
 */
export function enableWal(db: Pick<Database.Database, 'pragma'>, busyTimeoutMs: number, retryMs = 10): void {
  const giveUpAt = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= giveUpAt) throw err;
      pauseThread(retryMs);
    }
  }
}

/** Only while a store opens (a synchronous constructor): nothing else is waiting on this thread yet. */
function pauseThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
// 16,384 pages of 4 KiB: the WAL file grows to about 64 MiB at most; under a steady stream of new users (2,500/s)
// the serving thread then checkpoints once every few seconds instead of several times a second.
const BACKSTOP_AUTOCHECKPOINT_PAGES = 16_384;

const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|CORRUPT|NOTADB|PROTOCOL)/;

/** Runs a driver call, turning SQLite failures into the store's typed errors. */
function guard<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw mapSqliteError(err);
  }
}

function mapSqliteError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new DuplicateKeyError(message, { cause: err });
  }
  if ((typeof code === 'string' && UNAVAILABLE_CODES.test(code)) || /connection is not open/.test(message)) {
    return new StoreUnavailableError(`database unavailable: ${message}`, { cause: err });
  }
  return err;
}
