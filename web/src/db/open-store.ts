import { resolve } from 'node:path';
import type { AssignmentConfig, DatabaseConfig } from '@tokenserver/shared';
import { openMysqlStore } from './mysql-store.js';
import { openSqliteStore } from './sqlite-store.js';
import { type Store, StoreConfigError } from './store.js';

export interface OpenStoreOptions {
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** SQLite only: run WAL checkpoints on a thread of their own (a long-running server wants this). */
  backgroundCheckpoint?: boolean;
}

/** Picks the implementation from `[database] url`: `sqlite:PATH` or `mysql://…` (`mariadb://` accepted). */
export function openStore(
  database: DatabaseConfig,
  assignment: Pick<AssignmentConfig, 'capacity_release_rate' | 'release_rounds'>,
  options: OpenStoreOptions = {},
): Store {
  const common = {
    capacityReleaseRate: assignment.capacity_release_rate,
    releaseRounds: assignment.release_rounds,
    ...(options.now ? { now: options.now } : {}),
  };
  const url = database.url;
  if (url.startsWith('sqlite:')) {
    return openSqliteStore(sqlitePath(url), {
      ...common,
      busyTimeoutMs: database.sqlite_busy_timeout_ms,
      backgroundCheckpoint: options.backgroundCheckpoint,
    });
  }
  if (/^(mysql|mariadb):\/\//.test(url)) {
    return openMysqlStore(url, {
      ...common,
      poolSize: database.pool_size,
      queryTimeoutMs: database.query_timeout_ms,
      connectTimeoutMs: database.connect_timeout_ms,
    });
  }
  throw new StoreConfigError(`database.url: expected sqlite:PATH or mysql://…, got ${redactUrl(url)}`);
}

/** `sqlite:./var/ts.db`, `sqlite:/abs/ts.db`, `sqlite:///abs/ts.db` and `sqlite::memory:`. */
export function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  if (rest === ':memory:') return rest;
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  if (path === '') throw new StoreConfigError('database.url: sqlite: needs a file path');
  return resolve(path);
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1:***@');
}
