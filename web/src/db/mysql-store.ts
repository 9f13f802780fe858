import { setTimeout as sleep } from 'node:timers/promises';
import mysql, { type Pool, type PoolConnection, type QueryOptions, type ResultSetHeader } from 'mysql2';
import { mysqlMigrations } from './migrations.js';
import {
  DuplicateKeyError,
  type RunResult,
  type SqlDatabase,
  type SqlExecutor,
  type SqlValue,
} from './sql-database.js';
import { type SqlDialect, SqlStore, type SqlStoreOptions } from './sql-store.js';
import { StoreTimeoutError, StoreUnavailableError } from './store.js';

export interface MysqlOptions extends SqlStoreOptions {
  poolSize: number;
  /** Per-statement deadline; a statement exceeding it fails with StoreTimeoutError. */
  queryTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Deadlocks and lock-wait timeouts are retried this many times before the error reaches the caller. */
const MAX_TRANSACTION_ATTEMPTS = 5;
const MIGRATION_LOCK_WAIT_S = 60;

const mysqlDialect: SqlDialect = {
  kind: 'mysql',
  least: 'LEAST',
  greatest: 'GREATEST',
  migrations: mysqlMigrations,
  // DDL commits implicitly in MySQL, so migrators are serialised by a named server lock held by one connection.
  withMigrationLock: (db, fn) =>
    db.session(async (conn) => {
      const lockName = "CONCAT('tokenserver.migrate.', DATABASE())";
      const [row] = await conn.all<{ locked: number | null }>(`SELECT GET_LOCK(${lockName}, ?) AS locked`, [
        MIGRATION_LOCK_WAIT_S,
      ]);
      if (Number(row?.locked) !== 1) throw new StoreUnavailableError('timed out waiting for the migration lock');
      try {
        return await fn(conn);
      } finally {
        await conn.all(`SELECT RELEASE_LOCK(${lockName}) AS released`);
      }
    }),
};

/** Opens a connection pool for a `mysql://user:pass@host:port/db` URL; connections are made on demand. */
export function openMysqlStore(url: string, options: MysqlOptions): SqlStore {
  const pool = mysql.createPool({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: options.poolSize,
    maxIdle: options.poolSize,
    connectTimeout: options.connectTimeoutMs,
    waitForConnections: true,
    enableKeepAlive: true,
    charset: 'utf8mb4',
    // BIGINT columns hold ms timestamps and generations: numbers, exact up to 2^53.
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  return new SqlStore(new MysqlDatabase(pool, options.queryTimeoutMs), mysqlDialect, options);
}

class MysqlDatabase implements SqlDatabase {
  private readonly readCommitted = new WeakSet<PoolConnection>();

  constructor(
    private readonly pool: Pool,
    private readonly queryTimeoutMs: number,
  ) {}

  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.session((conn) => conn.all<Row>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.session((conn) => conn.run(sql, params));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.session(async (tx, conn) => {
          await this.useReadCommitted(conn, tx);
          await tx.run('START TRANSACTION');
          try {
            const result = await fn(tx);
            await tx.run('COMMIT');
            return result;
          } catch (err) {
            await tx.run('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
      } catch (err) {
        if (!isRetryableLockError(err) || attempt >= MAX_TRANSACTION_ATTEMPTS) throw err;
        await sleep(Math.random() * 10 * attempt);
      }
    }
  }

  async session<T>(fn: (conn: SqlExecutor, raw: PoolConnection) => Promise<T>): Promise<T> {
    let conn: PoolConnection;
    try {
      conn = await getConnection(this.pool);
    } catch (err) {
      throw mapMysqlError(err);
    }
    let broken = false;
    const execute = async (sql: string, params: readonly SqlValue[]) => {
      if (broken) throw new StoreUnavailableError('database connection lost mid-transaction');
      try {
        return await query(conn, { sql, values: params as SqlValue[], timeout: this.queryTimeoutMs });
      } catch (err) {
        if (isFatal(err) || isTimeout(err)) {
          broken = true;
          if (isTimeout(err)) this.killServerThread(conn.threadId);
        }
        throw mapMysqlError(err);
      }
    };
    const executor: SqlExecutor = {
      all: async <Row>(sql: string, params: readonly SqlValue[] = []) => (await execute(sql, params)) as Row[],
      run: async (sql: string, params: readonly SqlValue[] = []) => {
        const header = (await execute(sql, params)) as ResultSetHeader;
        return { changes: header.affectedRows ?? 0, lastInsertId: Number(header.insertId ?? 0) };
      },
    };
    try {
      return await fn(executor, conn);
    } finally {
      // A connection that failed fatally or timed out (its statement may still be running) is not reused.
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.pool.end((err) => (err ? reject(err) : resolve())));
  }

  /** A timed-out statement keeps running (and may hold locks) on the server until its thread is killed. */
  private killServerThread(threadId: number | null): void {
    if (threadId === null) return;
    this.pool.query({ sql: 'KILL ?', values: [threadId], timeout: this.queryTimeoutMs }, () => undefined);
  }

  /** Plain reads inside allocation must see other transactions' commits, and take no gap locks. */
  private async useReadCommitted(conn: PoolConnection, tx: SqlExecutor): Promise<void> {
    if (this.readCommitted.has(conn)) return;
    await tx.run('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    this.readCommitted.add(conn);
  }
}

// mysql2's callback API, wrapped here: its promise wrapper captures a stack trace for every call. In `npm run
// bench:store` this cut the client's CPU by about a quarter per allocation and an eighth per lookup (BENCHMARKS.md).

function getConnection(pool: Pool): Promise<PoolConnection> {
  return new Promise((resolve, reject) => pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))));
}

function query(conn: PoolConnection, options: QueryOptions): Promise<unknown> {
  return new Promise((resolve, reject) => conn.query(options, (err, result) => (err ? reject(err) : resolve(result))));
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
]);

function isFatal(err: unknown): boolean {
  return (err as { fatal?: unknown }).fatal === true;
}

function isTimeout(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'PROTOCOL_SEQUENCE_TIMEOUT';
}

function isRetryableLockError(err: unknown): boolean {
  const cause = err instanceof StoreUnavailableError ? err.cause : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

function mapMysqlError(err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ER_DUP_ENTRY') return new DuplicateKeyError(message, { cause: err });
  if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
    return new StoreTimeoutError(`database query timed out: ${message}`, { cause: err });
  }
  if ((typeof code === 'string' && UNAVAILABLE_CODES.has(code)) || isFatal(err)) {
    return new StoreUnavailableError(`database unavailable: ${typeof code === 'string' ? `${code}: ` : ''}${message}`, {
      cause: err,
    });
  }
  return err;
}
