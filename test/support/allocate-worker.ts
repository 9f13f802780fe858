// Child process for the multi-process race test: resolves first requests for the same emails as its
// siblings, all at once, and prints the uid it got for each email as JSON.
import { resolveUser } from '../../web/src/accounts.js';
import { openStore } from '../../web/src/db/open-store.js';
import { databaseConfig, testAssignment } from './databases.js';

const [url, service, emailList] = process.argv.slice(2);
if (!url || !service || !emailList) throw new Error('usage: allocate-worker URL SERVICE EMAIL,EMAIL,...');
const store = openStore(databaseConfig(url, { pool_size: 8 }), testAssignment);
const claims = { generation: 10, keysChangedAt: 10, clientState: 'aaaa' };
const emails = emailList.split(',');
const uids: Record<string, number> = {};
await Promise.all(
  emails.map(async (email) => {
    const user = await resolveUser(store, service, email, claims, { allowNewUsers: true });
    uids[email] = user.uid;
  }),
);
await store.close();
process.stdout.write(`${JSON.stringify(uids)}\n`);
