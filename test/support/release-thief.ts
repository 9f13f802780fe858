import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { sqlitePath } from '../../web/src/db/open-store.js';
import type { BackendKind } from './databases.js';

// Capacity release gives up after `release_rounds` rounds. A round can only come up empty-handed when the slots it
// released are gone before the next one, as when concurrent callers take them (the reference's allocation has no
// transaction). Here allocation is one transaction, so the only writer that can take them in between is a
// trigger: it sets the node's `available` back to -1 right after each of its first `count` releases.

const TRIGGER = 'release_thief';
const LOG = 'release_thief_log';

/** Installs the trigger for node `nodeId`; returns a function that removes it. */
export async function stealReleases(
  kind: BackendKind,
  url: string,
  nodeId: number,
  count: number,
): Promise<() => Promise<void>> {
  const stillStealing = `NEW.id = ${Number(nodeId)} AND OLD.available <= 0 AND NEW.available > 0
    AND (SELECT COUNT(*) FROM ${LOG}) < ${Number(count)}`;
  const install =
    kind === 'sqlite'
      ? [
          `CREATE TABLE ${LOG} (node INTEGER NOT NULL)`,
          `CREATE TRIGGER ${TRIGGER} AFTER UPDATE OF available ON nodes WHEN ${stillStealing} BEGIN
             INSERT INTO ${LOG} (node) VALUES (NEW.id);
             UPDATE nodes SET available = -1 WHERE id = NEW.id;
           END`,
        ]
      : [
          `CREATE TABLE ${LOG} (node BIGINT NOT NULL) ENGINE=InnoDB`,
          // MySQL triggers cannot update their own table; a BEFORE trigger changes the row being written instead.
          `CREATE TRIGGER ${TRIGGER} BEFORE UPDATE ON nodes FOR EACH ROW BEGIN
             IF ${stillStealing} THEN
               INSERT INTO ${LOG} (node) VALUES (NEW.id);
               SET NEW.available = -1;
             END IF;
           END`,
        ];
  await execute(kind, url, install);
  return () => execute(kind, url, [`DROP TRIGGER ${TRIGGER}`, `DROP TABLE ${LOG}`]);
}

async function execute(kind: BackendKind, url: string, statements: string[]): Promise<void> {
  if (kind === 'sqlite') {
    const db = new Database(sqlitePath(url));
    try {
      for (const statement of statements) db.exec(statement);
    } finally {
      db.close();
    }
    return;
  }
  const conn = await mysql.createConnection({ uri: url });
  try {
    for (const statement of statements) await conn.query(statement);
  } finally {
    await conn.end();
  }
}
