import { StoreError } from './store.js';

// The small SQL surface SqlStore needs; each backend adapts its driver to it and maps driver errors to
// StoreUnavailableError / StoreTimeoutError / DuplicateKeyError.

export type SqlValue = string | number | null;

export interface RunResult {
  /** Rows matched by an UPDATE/DELETE (MySQL is opened with FOUND_ROWS), rows inserted by an INSERT. */
  changes: number;
  lastInsertId: number;
}

export interface SqlExecutor {
  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. SQLite takes the write
   * lock up front (BEGIN IMMEDIATE); MySQL runs READ COMMITTED and retries deadlocks a bounded number of times,
   * so `fn` must be safe to re-run.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs `fn` on one connection without a transaction (for session-scoped locks). */
  session<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A unique key was violated; SqlStore turns it into AlreadyExistsError or "another request won". */
export class DuplicateKeyError extends StoreError {
  override readonly code = 'ERR_STORE_DUPLICATE';
}
