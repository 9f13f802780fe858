import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConfig } from '@tokenserver/shared';
import mysql from 'mysql2/promise';

// Fresh, disposable databases for tests: a temp SQLite file, or a uniquely named MariaDB database on the
// server named by TOKENSERVER_TEST_MYSQL_URL (dropped afterwards).

export type BackendKind = 'sqlite' | 'mysql';

export interface TestDatabase {
  kind: BackendKind;
  url: string;
  drop(): Promise<void>;
}

export const MYSQL_TEST_URL = process.env.TOKENSERVER_TEST_MYSQL_URL;

export async function createTestDatabase(kind: BackendKind): Promise<TestDatabase> {
  return kind === 'sqlite' ? createSqliteDatabase() : createMysqlDatabase();
}

function createSqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'tokenserver-test-'));
  return {
    kind: 'sqlite',
    url: `sqlite:${join(dir, 'tokenserver.db')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function createMysqlDatabase(): Promise<TestDatabase> {
  if (!MYSQL_TEST_URL) throw new Error('TOKENSERVER_TEST_MYSQL_URL is not set');
  const name = `ts_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const server = new URL(MYSQL_TEST_URL);
  server.pathname = '/';
  await withServerConnection(server, (conn) => conn.query(`CREATE DATABASE \`${name}\``));
  const url = new URL(MYSQL_TEST_URL);
  url.pathname = `/${name}`;
  return {
    kind: 'mysql',
    url: url.toString(),
    drop: () => withServerConnection(server, (conn) => conn.query(`DROP DATABASE IF EXISTS \`${name}\``)),
  };
}

async function withServerConnection<T>(server: URL, fn: (conn: mysql.Connection) => Promise<T>): Promise<void> {
  const conn = await mysql.createConnection({ uri: server.toString() });
  try {
    await fn(conn);
  } finally {
    await conn.end();
  }
}

/** A `[database]` section as the config loader would produce it, for `url`. */
export function databaseConfig(url: string, overrides: Partial<DatabaseConfig> = {}): DatabaseConfig {
  return {
    url,
    pool_size: 10,
    query_timeout_ms: 5000,
    connect_timeout_ms: 2000,
    sqlite_busy_timeout_ms: 5000,
    auto_migrate: true,
    ...overrides,
  };
}

export const testAssignment = { capacity_release_rate: 0.1, release_rounds: 5, allow_new_users: true };

/** A manually advanced clock for stores under test. */
export class TestClock {
  constructor(public ms = 1_700_000_000_000) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}
