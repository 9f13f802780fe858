import { MYSQL_TEST_URL } from '../support/databases.js';
import { brokerRestart } from './broker-restart.js';
import { databaseOutage } from './database-outage.js';
import type { FaultReport } from './fault-report.js';
import { idpOutage } from './idp-outage.js';
import { stackSigterm } from './stack-sigterm.js';
import { workerKills } from './worker-kills.js';

// The faults, in the order the table lists them. The database fault needs MariaDB (TOKENSERVER_TEST_MYSQL_URL).

export interface Fault {
  name: string;
  run(durationS: number): Promise<FaultReport>;
  /** Why it cannot run here, if it cannot. */
  unavailable?: string;
}

export const FAULTS: readonly Fault[] = [
  { name: 'worker kills', run: workerKills },
  { name: 'broker restart', run: brokerRestart },
  {
    name: 'database outage',
    run: databaseOutage,
    ...(MYSQL_TEST_URL ? {} : { unavailable: 'TOKENSERVER_TEST_MYSQL_URL is not set' }),
  },
  { name: 'IdP outage', run: idpOutage },
  { name: 'SIGTERM to tokenserver start', run: (durationS) => stackSigterm(durationS, 'tokenserver start') },
  { name: 'SIGTERM to every process', run: (durationS) => stackSigterm(durationS, 'every process') },
];
