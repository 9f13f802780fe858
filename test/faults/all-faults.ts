import { MYSQL_TEST_URL } from '../support/databases.js';
import { PrivateMariaDb } from '../support/private-mariadb.js';
import { brokerRestart } from './broker-restart.js';
import { databaseOutage } from './database-outage.js';
import type { FaultReport } from './fault-report.js';
import { idpOutage } from './idp-outage.js';
import { stackSigterm } from './stack-sigterm.js';
import { workerKills } from './worker-kills.js';

// The faults, in the order the table lists them. The database fault needs MariaDB: mariadbd installed (a private
// server to kill and restart), or TOKENSERVER_TEST_MYSQL_URL (the shared one behind a proxy to cut).

/** `npm run test:faults` runs the full form; `npm test` the short one (seconds per fault, cheaper set-ups). */
export type FaultForm = 'full' | 'short';

export interface Fault {
  name: string;
  run(durationS: number, form: FaultForm): Promise<FaultReport>;
  /** Why it cannot run here, if it cannot. */
  unavailable?: string;
}

export const FAULTS: readonly Fault[] = [
  { name: 'worker kills', run: workerKills },
  { name: 'broker restart', run: brokerRestart },
  {
    name: 'database outage',
    // A private server to kill and restart costs ~30 s of set-up on a loaded 2-core machine and needs 10 s+ runs
    // to see the recovery: the short form cuts a proxy to the shared server instead, when there is one.
    run: (durationS, form) => databaseOutage(durationS, form === 'full' || !MYSQL_TEST_URL ? 'restart' : 'proxy cut'),
    ...(MYSQL_TEST_URL || !PrivateMariaDb.unavailable()
      ? {}
      : { unavailable: `TOKENSERVER_TEST_MYSQL_URL is not set and ${PrivateMariaDb.unavailable()}` }),
  },
  { name: 'IdP outage', run: idpOutage },
  { name: 'SIGTERM to tokenserver start', run: (durationS) => stackSigterm(durationS, 'tokenserver start') },
  { name: 'SIGTERM to every process', run: (durationS) => stackSigterm(durationS, 'every process') },
];
