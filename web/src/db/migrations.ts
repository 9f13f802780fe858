import type { SqlDatabase, SqlExecutor } from './sql-database.js';

// Versioned schema migrations, one list per dialect. Applied versions are recorded in `schema_version`;
// every step is also written to be harmless when repeated (IF NOT EXISTS, guarded ALTERs), so a crash
// between a step and its version row cannot wedge the next start-up.

export type MigrationStep = string | ((db: SqlExecutor, now: number) => Promise<void>);

export interface Migration {
  version: number;
  name: string;
  steps: MigrationStep[];
}

export interface MigrationDialect {
  migrations: readonly Migration[];
  /** Runs `fn` so that concurrent migrators (other processes) wait for each other. */
  withMigrationLock<T>(db: SqlDatabase, fn: (conn: SqlExecutor) => Promise<T>): Promise<T>;
}

const SCHEMA_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  applied_at BIGINT NOT NULL
)`;

/** Older rows of a (service, email) that are live while a newer live row exists: left by racy legacy writers. */
const NEWER_LIVE_ROW = `newer.service = u.service AND newer.email = u.email AND newer.replaced_at IS NULL
  AND newer.uid <> u.uid AND (newer.generation > u.generation OR (newer.generation = u.generation
  AND (newer.created_at > u.created_at OR (newer.created_at = u.created_at AND newer.uid > u.uid))))`;

export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'services, nodes, users',
    steps: [
      `CREATE TABLE IF NOT EXISTS services (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        service VARCHAR(30) NOT NULL UNIQUE,
        pattern VARCHAR(128) NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS nodes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        service INTEGER NOT NULL,
        node VARCHAR(255) NOT NULL,
        available INTEGER NOT NULL DEFAULT 0,
        current_load INTEGER NOT NULL DEFAULT 0,
        capacity INTEGER NOT NULL DEFAULT 0,
        downed INTEGER NOT NULL DEFAULT 0,
        backoff INTEGER NOT NULL DEFAULT 0
      )`,
      'CREATE UNIQUE INDEX IF NOT EXISTS unique_idx ON nodes (service, node)',
      // AUTOINCREMENT: a uid (or node id) must never be handed out twice, even after the newest row is purged.
      `CREATE TABLE IF NOT EXISTS users (
        uid INTEGER PRIMARY KEY AUTOINCREMENT,
        service INTEGER NOT NULL,
        email VARCHAR(255) NOT NULL,
        generation INTEGER NOT NULL,
        client_state VARCHAR(32) NOT NULL,
        created_at INTEGER NOT NULL,
        replaced_at INTEGER,
        nodeid INTEGER,
        keys_changed_at INTEGER
      )`,
      'CREATE INDEX IF NOT EXISTS lookup_idx ON users (email, service, created_at)',
      'CREATE INDEX IF NOT EXISTS replaced_at_idx ON users (service, replaced_at)',
      'CREATE INDEX IF NOT EXISTS node_idx ON users (nodeid)',
    ],
  },
  {
    version: 2,
    name: 'at most one live row per (service, email)',
    steps: [
      async (db, now) => {
        await db.run(
          `UPDATE users SET replaced_at = ? WHERE replaced_at IS NULL AND EXISTS (
             SELECT 1 FROM users newer, users u WHERE u.uid = users.uid AND ${NEWER_LIVE_ROW})`,
          [now],
        );
      },
      'CREATE UNIQUE INDEX IF NOT EXISTS live_user_idx ON users (service, email) WHERE replaced_at IS NULL',
    ],
  },
];

const MYSQL_TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export const mysqlMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'services, nodes, users',
    steps: [
      `CREATE TABLE IF NOT EXISTS services (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        service VARCHAR(30) NOT NULL,
        pattern VARCHAR(128) NOT NULL,
        UNIQUE KEY service_idx (service)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS nodes (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        service INT NOT NULL,
        node VARCHAR(255) NOT NULL,
        available INT NOT NULL DEFAULT 0,
        current_load INT NOT NULL DEFAULT 0,
        capacity INT NOT NULL DEFAULT 0,
        downed INT NOT NULL DEFAULT 0,
        backoff INT NOT NULL DEFAULT 0,
        UNIQUE KEY unique_idx (service, node)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS users (
        uid BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        service INT NOT NULL,
        email VARCHAR(255) NOT NULL,
        generation BIGINT NOT NULL,
        client_state VARCHAR(32) NOT NULL,
        created_at BIGINT NOT NULL,
        replaced_at BIGINT NULL,
        nodeid BIGINT NULL,
        keys_changed_at BIGINT NULL,
        KEY lookup_idx (email, service, created_at),
        KEY replaced_at_idx (service, replaced_at),
        KEY node_idx (nodeid)
      ) ${MYSQL_TABLE_OPTIONS}`,
    ],
  },
  {
    version: 2,
    name: 'at most one live row per (service, email)',
    steps: [
      async (db, now) => {
        await db.run(
          `UPDATE users u JOIN users newer ON ${NEWER_LIVE_ROW} SET u.replaced_at = ? WHERE u.replaced_at IS NULL`,
          [now],
        );
      },
      // MariaDB/MySQL have no partial indexes: a stored column that is the email only while the row is live,
      // NULL otherwise (NULLs never collide in a UNIQUE key).
      async (db) => {
        if (await mysqlColumnExists(db, 'users', 'live_email')) return;
        await db.run(
          `ALTER TABLE users
             ADD COLUMN live_email VARCHAR(255) AS (IF(replaced_at IS NULL, email, NULL)) STORED,
             ADD UNIQUE KEY live_user_idx (service, live_email)`,
        );
      },
    ],
  },
];

async function mysqlColumnExists(db: SqlExecutor, table: string, column: string): Promise<boolean> {
  const rows = await db.all(
    `SELECT 1 FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?`,
    [table, column],
  );
  return rows.length > 0;
}

export interface AppliedMigrations {
  applied: number[];
  version: number;
}

/** Applies the dialect's pending migrations in order; returns what was applied and the resulting version. */
export async function runMigrations(
  db: SqlDatabase,
  dialect: MigrationDialect,
  now: number = Date.now(),
): Promise<AppliedMigrations> {
  return dialect.withMigrationLock(db, async (conn) => {
    await conn.run(SCHEMA_VERSION_TABLE);
    const rows = await conn.all<{ version: number }>('SELECT version FROM schema_version');
    const done = new Set(rows.map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of dialect.migrations) {
      if (done.has(migration.version)) continue;
      for (const step of migration.steps) {
        if (typeof step === 'string') await conn.run(step);
        else await step(conn, now);
      }
      await conn.run('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        now,
      ]);
      applied.push(migration.version);
      done.add(migration.version);
    }
    return { applied, version: Math.max(0, ...done) };
  });
}
