import { statSync } from 'node:fs';
import { Gauge, type Registry } from '@tokenserver/shared/metrics';
import { sqlitePath } from '../db/open-store.js';

/**
 * `tokenserver_sqlite_wal_bytes`, for a SQLite store in a file: the size of its write-ahead log, read when scraped.
 * SQLite reuses the file rather than shrinking it, so this is its high-water mark: under about 64 MiB while
 * checkpoints keep up (the backstop auto-checkpoint lets the log start over there, see sqlite-store.ts). Growth past
 * that means checkpoints cannot complete: a long-lived reader in another process, or a failed checkpoint thread
 * (its `SqliteCheckpointWarning` is on stderr).
 */
export function registerSqliteWalGauge(registry: Registry, databaseUrl: string): void {
  if (!databaseUrl.startsWith('sqlite:')) return;
  const path = sqlitePath(databaseUrl);
  if (path === ':memory:') return;
  new Gauge({
    name: 'tokenserver_sqlite_wal_bytes',
    help: "Size of the SQLite store's write-ahead log file, its high-water mark (0 when there is none)",
    registers: [registry],
    collect() {
      this.set(fileSize(`${path}-wal`));
    },
  });
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
