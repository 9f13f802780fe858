import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { sqlitePath } from '../../web/src/db/open-store.js';

// Reads a test database directly (not through the Store) to check invariants after concurrent work.

export async function rawQuery<Row>(url: string, sql: string, params: Array<string | number> = []): Promise<Row[]> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(sqlitePath(url), { readonly: true });
    try {
      return db.prepare(sql).all(...params) as Row[];
    } finally {
      db.close();
    }
  }
  const conn = await mysql.createConnection({ uri: url });
  try {
    const [rows] = await conn.query(sql, params);
    return rows as Row[];
  } finally {
    await conn.end();
  }
}

export interface StoreInvariants {
  /** (service, email) pairs with more than one live row. */
  duplicateLiveUsers: number;
  /** Nodes whose current_load differs from the number of user rows pointing at them. */
  nodesWithWrongLoad: Array<{ id: number; current_load: number; user_rows: number }>;
  liveUsers: number;
}

/** For one service's nodes and users; assumes its nodes started with current_load 0. */
export async function readInvariants(url: string, service: string): Promise<StoreInvariants> {
  const [serviceRow] = await rawQuery<{ id: number }>(url, 'SELECT id FROM services WHERE service = ?', [service]);
  const serviceId = Number(serviceRow?.id);
  const duplicates = await rawQuery<{ n: number }>(
    url,
    `SELECT COUNT(*) AS n FROM (SELECT email FROM users WHERE replaced_at IS NULL AND service = ?
       GROUP BY email HAVING COUNT(*) > 1) d`,
    [serviceId],
  );
  const loads = await rawQuery<{ id: number; current_load: number; user_rows: number }>(
    url,
    `SELECT n.id, n.current_load, (SELECT COUNT(*) FROM users u WHERE u.nodeid = n.id) AS user_rows
       FROM nodes n WHERE n.service = ?`,
    [serviceId],
  );
  const live = await rawQuery<{ n: number }>(
    url,
    'SELECT COUNT(*) AS n FROM users WHERE replaced_at IS NULL AND service = ?',
    [serviceId],
  );
  return {
    duplicateLiveUsers: Number(duplicates[0]?.n ?? 0),
    nodesWithWrongLoad: loads.filter((row) => Number(row.current_load) !== Number(row.user_rows)),
    liveUsers: Number(live[0]?.n ?? 0),
  };
}
