import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { openStore, sqlitePath } from '../../../web/src/db/open-store.js';
import { enableWal } from '../../../web/src/db/sqlite-store.js';
import { StoreUnavailableError } from '../../../web/src/db/store.js';
import { databaseConfig, testAssignment } from '../../support/databases.js';
import { type ConformanceContext, defineStoreConformance, expectRejection } from './store-conformance.js';

describe('SQLite store', () => {
  const context = {} as ConformanceContext;
  defineStoreConformance('sqlite', context);

  describe('when the database is unavailable', () => {
    it("a write blocked by another process's lock fails as ERR_STORE_UNAVAILABLE, then recovers", async () => {
      await context.store.addNode({ service: context.service, url: 'https://a', capacity: 10, available: 10 });
      const impatient = context.open({ sqlite_busy_timeout_ms: 50 });
      const locker = new Database(sqlitePath(context.database.url));
      locker.exec('BEGIN IMMEDIATE');
      try {
        const seed = { generation: 1, keysChangedAt: null, clientState: '' };
        const err = await expectRejection(impatient.allocateUser(context.service, 'a@x', seed), StoreUnavailableError);
        expect((err as StoreUnavailableError).code).to.equal('ERR_STORE_UNAVAILABLE');
        locker.exec('ROLLBACK');
        const user = await impatient.allocateUser(context.service, 'a@x', seed);
        expect(user.nodeUrl).to.equal('https://a');
      } finally {
        locker.close();
      }
    });

    it('switching to WAL tries again while another process answers SQLITE_BUSY, within the busy timeout', () => {
      // SQLite answers BUSY at once, without its busy handler, to the second of two processes opening a fresh file.
      const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      let calls = 0;
      const racing = {
        pragma: () =>
          ++calls < 4
            ? (() => {
                throw busy();
              })()
            : 'wal',
      };
      enableWal(racing, 1000, 1);
      expect(calls).to.equal(4);

      const startedAt = Date.now();
      const stuck = {
        pragma: () => {
          throw busy();
        },
      };
      expect(() => enableWal(stuck, 50, 5)).to.throw('database is locked');
      expect(Date.now() - startedAt).to.be.within(45, 1000);

      let otherCalls = 0;
      const broken = {
        pragma: () => {
          otherCalls++;
          throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
        },
      };
      expect(() => enableWal(broken, 1000, 1)).to.throw('disk I/O error');
      expect(otherCalls).to.equal(1, 'only BUSY is worth another try');
    });

    it('an unopenable file fails as ERR_STORE_UNAVAILABLE instead of crashing', async () => {
      const notADirectory = join(dirname(sqlitePath(context.database.url)), 'plain-file');
      writeFileSync(notADirectory, '');
      const err = await expectRejection(
        (async () => openStore(databaseConfig(`sqlite:${notADirectory}/ts.db`), testAssignment))(),
        StoreUnavailableError,
      );
      expect((err as StoreUnavailableError).code).to.equal('ERR_STORE_UNAVAILABLE');
    });
  });
});
