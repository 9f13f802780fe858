import { resolve } from 'node:path';
import { expect } from 'chai';
import { openStore, redactUrl, sqlitePath } from '../../../web/src/db/open-store.js';
import { StoreConfigError } from '../../../web/src/db/store.js';
import { databaseConfig, testAssignment } from '../../support/databases.js';

describe('openStore', () => {
  it('reads sqlite paths in their usual spellings', () => {
    expect(sqlitePath('sqlite:./var/ts.db')).to.equal(resolve('var/ts.db'));
    expect(sqlitePath('sqlite:/tmp/ts.db')).to.equal('/tmp/ts.db');
    expect(sqlitePath('sqlite:///tmp/ts.db')).to.equal('/tmp/ts.db');
    expect(sqlitePath('sqlite::memory:')).to.equal(':memory:');
    expect(() => sqlitePath('sqlite:')).to.throw(StoreConfigError);
  });

  it('rejects a URL that is neither sqlite: nor mysql://, without echoing the password', () => {
    expect(() => openStore(databaseConfig('postgres://u:secret@h/db'), testAssignment))
      .to.throw(StoreConfigError, /database\.url/)
      .and.not.match(/secret/);
    expect(redactUrl('mysql://root:pw@127.0.0.1:3306/db')).to.equal('mysql://root:***@127.0.0.1:3306/db');
  });
});
