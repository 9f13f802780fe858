import { existsSync, statSync } from 'node:fs';
import { expect } from 'chai';
// The built modules: the checkpoint thread is started from its compiled file (web/dist), as in production.
import { openStore, sqlitePath } from '../../../web/dist/db/open-store.js';
import { SqliteCheckpointer } from '../../../web/dist/db/sqlite-checkpointer.js';
import { createTestDatabase, databaseConfig, type TestDatabase, testAssignment } from '../../support/databases.js';
import { eventually } from '../../support/processes.js';

const fileSize = (path: string) => (existsSync(path) ? statSync(path).size : 0);

describe('SQLite checkpoint thread', () => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
  });

  afterEach(async () => {
    await database.drop();
  });

  it("a server's store copies its WAL back into the database file without waiting for SQLite's auto-checkpoint", async () => {
    const path = sqlitePath(database.url);
    const store = openStore(databaseConfig(database.url), testAssignment, { backgroundCheckpoint: true });
    try {
      await store.migrate();
      // Far fewer pages than the 1,000 after which SQLite's own auto-checkpoint would copy them.
      await store.addService('sync-1.5', '{node}/1.5/{uid}');
      await store.addNode({ service: 'sync-1.5', url: 'https://node', capacity: 100, available: 100 });
      const sizeBefore = fileSize(path);
      expect(fileSize(`${path}-wal`)).to.be.greaterThan(0);
      await eventually(() => fileSize(path) > sizeBefore); // the database file grows as pages are copied back
    } finally {
      await store.close();
    }
  });

  it('reports a thread that cannot run, so the caller checkpoints again itself', async () => {
    const failures: Error[] = [];
    const checkpointer = new SqliteCheckpointer('/nonexistent-directory/for-this-test/ts.db', {
      busyTimeoutMs: 100,
      onFailure: (err) => failures.push(err),
    });
    try {
      await eventually(() => failures.length > 0);
      expect(failures).to.have.length(1);
      expect(failures[0]?.message).to.match(/directory|open/i);
    } finally {
      await checkpointer.close();
    }
  });
});
