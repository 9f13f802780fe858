// Child process for the multi-process race test. Start-up (tsx, the store's connections) takes far longer
// than the work, so the child warms up, prints "ready", and waits for "go" on stdin: the parent sends it to all
// siblings at once, and they then resolve first requests for the same emails at the same time. The last line
// printed is a JSON RaceReport.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { resolveUser } from '../../web/src/accounts.js';
import { openStore } from '../../web/src/db/open-store.js';
import { databaseConfig, testAssignment } from './databases.js';

export interface RaceReport {
  /** The uid this process got for each email. */
  uids: Record<string, number>;
  /** When its requests started and when the last one finished (ms since the epoch), to prove the overlap. */
  startedAt: number;
  finishedAt: number;
}

const POOL_SIZE = 8;

const [url, service, emailList] = process.argv.slice(2);
if (!url || !service || !emailList) throw new Error('usage: allocate-worker URL SERVICE EMAIL,EMAIL,...');
const store = openStore(databaseConfig(url, { pool_size: POOL_SIZE }), testAssignment);
const claims = { generation: 10, keysChangedAt: 10, clientState: 'aaaa' };
const emails = emailList.split(',');

await store.getService(service);
await Promise.all(Array.from({ length: POOL_SIZE }, () => store.ping()));
process.stdout.write('ready\n');
const stdin = createInterface({ input: process.stdin });
const [line] = (await once(stdin, 'line')) as [string];
stdin.close();
if (line !== 'go') throw new Error(`expected "go" on stdin, got ${JSON.stringify(line)}`);

const report: RaceReport = { uids: {}, startedAt: Date.now(), finishedAt: 0 };
await Promise.all(
  emails.map(async (email) => {
    const user = await resolveUser(store, service, email, claims, { allowNewUsers: true });
    report.uids[email] = user.uid;
  }),
);
report.finishedAt = Date.now();
await store.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
