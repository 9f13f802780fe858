import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { type Store, StoreTimeoutError, StoreUnavailableError } from '../../../web/src/db/store.js';
import { MYSQL_TEST_URL } from '../../support/databases.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import { type ConformanceContext, defineStoreConformance, expectRejection } from './store-conformance.js';

describe('MySQL/MariaDB store', () => {
  // Needs a real server: TOKENSERVER_TEST_MYSQL_URL (set by .ci/run). Without it the whole block is reported
  // as pending — never as passed.
  before(function () {
    if (!MYSQL_TEST_URL) this.skip();
  });
  if (!MYSQL_TEST_URL) {
    it('needs TOKENSERVER_TEST_MYSQL_URL (e.g. mysql://root@127.0.0.1:3306/tokenserver_test)');
    return;
  }

  const context = {} as ConformanceContext;
  defineStoreConformance('mysql', context);

  describe('when the database goes away', () => {
    let proxy: TcpProxy;
    let store: Store;

    beforeEach(async () => {
      const target = new URL(context.database.url);
      proxy = new TcpProxy(target.hostname, Number(target.port || 3306));
      const viaProxy = new URL(context.database.url);
      viaProxy.port = String(await proxy.start());
      store = context.open({ pool_size: 4, connect_timeout_ms: 1000, url: viaProxy.toString() });
      await context.store.addNode({ service: context.service, url: 'https://a', capacity: 100, available: 100 });
    });

    afterEach(() => proxy.cut());

    it('fails with ERR_STORE_UNAVAILABLE while it is down and recovers when it returns', async () => {
      const seed = { generation: 1, keysChangedAt: null, clientState: '' };
      await store.allocateUser(context.service, 'before@x', seed);
      await proxy.cut();
      for (const attempt of [
        () => store.getUser(context.service, 'before@x'),
        () => store.allocateUser(context.service, 'during@x', seed),
      ]) {
        const err = await expectRejection(attempt(), StoreUnavailableError);
        expect((err as StoreUnavailableError).code).to.equal('ERR_STORE_UNAVAILABLE');
      }
      await proxy.restore();
      expect((await store.getUser(context.service, 'before@x'))?.email).to.equal('before@x');
      expect((await store.allocateUser(context.service, 'after@x', seed)).nodeUrl).to.equal('https://a');
      expect(await context.store.getUser(context.service, 'during@x')).to.equal(undefined);
    });
  });

  it('a statement exceeding query_timeout_ms fails with ERR_STORE_TIMEOUT', async () => {
    await context.store.addNode({ service: context.service, url: 'https://a', capacity: 100, available: 100 });
    const impatient = context.open({ query_timeout_ms: 300 });
    const locker = await mysql.createConnection({ uri: context.database.url });
    try {
      await locker.query('START TRANSACTION');
      await locker.query('SELECT * FROM nodes FOR UPDATE');
      const seed = { generation: 1, keysChangedAt: null, clientState: '' };
      const err = await expectRejection(impatient.allocateUser(context.service, 'slow@x', seed), StoreTimeoutError);
      expect((err as StoreTimeoutError).code).to.equal('ERR_STORE_TIMEOUT');
      await locker.query('ROLLBACK');
      expect((await impatient.allocateUser(context.service, 'slow@x', seed)).nodeUrl).to.equal('https://a');
    } finally {
      await locker.end();
    }
  });
});
