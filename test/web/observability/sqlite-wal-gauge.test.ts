import { statSync } from 'node:fs';
import { Registry } from '@tokenserver/shared/metrics';
import { expect } from 'chai';
import { openStore, sqlitePath } from '../../../web/src/db/open-store.js';
import { registerSqliteWalGauge } from '../../../web/src/observability/sqlite-wal-gauge.js';
import { createTestDatabase, databaseConfig, type TestDatabase, testAssignment } from '../../support/databases.js';
import { sampleOf } from '../../support/metrics.js';

describe('tokenserver_sqlite_wal_bytes', () => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
  });

  afterEach(async () => {
    await database.drop();
  });

  it("reads the size of a SQLite store's write-ahead log when scraped, 0 before there is one", async () => {
    const registry = new Registry();
    registerSqliteWalGauge(registry, database.url);
    expect(sampleOf(await registry.metrics(), 'tokenserver_sqlite_wal_bytes')).to.equal(0);

    const store = openStore(databaseConfig(database.url), testAssignment);
    try {
      await store.migrate();
      await store.addService('sync-1.5', '{node}/1.5/{uid}');
      const walBytes = statSync(`${sqlitePath(database.url)}-wal`).size;
      expect(walBytes).to.be.greaterThan(0);
      expect(sampleOf(await registry.metrics(), 'tokenserver_sqlite_wal_bytes')).to.equal(walBytes);
    } finally {
      await store.close();
    }
  });

  it('is left out for MySQL and for an in-memory SQLite store', async () => {
    for (const url of ['mysql://root@127.0.0.1:3306/x', 'sqlite::memory:']) {
      const registry = new Registry();
      registerSqliteWalGauge(registry, url);
      expect(await registry.metrics()).not.to.include('tokenserver_sqlite_wal_bytes');
    }
  });
});
