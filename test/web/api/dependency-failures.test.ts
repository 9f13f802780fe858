import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { keyPair, makeBackedAssertion } from '../../support/browserid.js';
import { createTestDatabase, MYSQL_TEST_URL, type TestDatabase } from '../../support/databases.js';
import { descendantsOf, eventually } from '../../support/processes.js';
import { type ApiAnswer, errorOf, TestStack } from '../../support/stack.js';
import { stackForSuite } from '../../support/suite-stack.js';

// The error catalogue's dependency rows, each produced by the real dependency misbehaving under a real stack
// (app-failures.test.ts covers the same rows with in-process stand-ins).

function browserId(email = `${randomBytes(16).toString('hex')}@idp.test`, generation?: number): Record<string, string> {
  const idpClaims = generation === undefined ? {} : { 'fxa-generation': generation };
  return {
    Authorization: `BrowserID ${makeBackedAssertion({ email, idpClaims, issuerKey: keyPair('RS256', 'issuer') })}`,
  };
}

/** A 503 with Retry-After: `error` for the crypto tier, `internal-error` (location internal) for the database. */
function expectUnavailable(answer: ApiAnswer, status = 'error', location = 'body'): void {
  expect(errorOf(answer), answer.text).to.deep.include({ http: 503, status });
  expect((answer.body?.errors as Array<{ location: string }> | undefined)?.[0]?.location).to.equal(location);
  expect(answer.headers.get('retry-after')).to.equal('7');
  expect(answer.headers.get('x-timestamp')).to.match(/^\d+$/);
}

describe('dependency failures through the real stack', function () {
  this.timeout(60_000);

  describe('broker queue full (BUSY)', () => {
    // Stopped workers hold 2 jobs each and count as live during the burst (slow heartbeats); 4 more queue.
    const suiteStack = stackForSuite({
      TOKENSERVER_WORKER__CONCURRENCY: '2',
      TOKENSERVER_BROKER__MAX_QUEUE: '4',
      TOKENSERVER_BROKER__HEARTBEAT_INTERVAL_MS: '1000',
      TOKENSERVER_WEB__JOB_TIMEOUT_MS: '2000',
    });

    it('answers the requests the broker cannot queue 503 at once, and serves again when workers return', async () => {
      const stack = suiteStack();
      expect((await stack.token(browserId())).status).to.equal(200);
      const credentials = Array.from({ length: 40 }, () => browserId());
      const workers = descendantsOf(stack.workers.pid);
      expect(workers).to.not.be.empty;
      for (const pid of workers) process.kill(pid, 'SIGSTOP');
      try {
        const started = Date.now();
        const answers = await Promise.all(
          credentials.map(async (credential) => ({ answer: await stack.token(credential), ms: Date.now() - started })),
        );
        for (const { answer } of answers) expectUnavailable(answer);
        // Nothing waits past its job deadline (2 s); all but the 8 held or queued jobs were refused BUSY.
        expect(Math.max(...answers.map(({ ms }) => ms))).to.be.below(3000);
        const metrics = (await stack.get('/metrics')).text;
        const busy = Number(/tokenserver_job_errors_total\{code="ERR_BROKER_BUSY"\} (\d+)/.exec(metrics)?.[1] ?? 0);
        expect(busy).to.be.at.least(30);
      } finally {
        for (const pid of workers) process.kill(pid, 'SIGCONT');
      }
      // Resumed workers may first have to notice that the broker dropped them, and register again.
      await eventually(async () => (await stack.token(browserId())).status === 200, 10_000);
    });
  });

  describe('SQLite locked by another writer', () => {
    const suiteStack = stackForSuite({ TOKENSERVER_DATABASE__SQLITE_BUSY_TIMEOUT_MS: '200' });

    it('answers 503 for a new user while the lock is held, and allocates once it is released', async () => {
      const stack = suiteStack();
      const email = `${randomBytes(16).toString('hex')}@idp.test`;
      const holder = new Database(stack.database.url.replace(/^sqlite:/, ''));
      try {
        holder.exec('BEGIN EXCLUSIVE');
        expectUnavailable(await stack.token(browserId(email)), 'internal-error', 'internal');
        holder.exec('ROLLBACK');
        const answer = await stack.token(browserId(email));
        expect(answer.status, answer.text).to.equal(200);
      } finally {
        holder.close();
      }
    });

    it('answers 503 naming the service whose api_endpoint pattern is empty', async () => {
      const stack = suiteStack();
      const db = new Database(stack.database.url.replace(/^sqlite:/, ''));
      try {
        const { lastInsertRowid } = db.prepare("INSERT INTO services (service, pattern) VALUES ('bare-1.0', '')").run();
        db.prepare(
          "INSERT INTO nodes (service, node, available, current_load, capacity) VALUES (?, 'https://bare.example', 10, 0, 10)",
        ).run(lastInsertRowid);
      } finally {
        db.close();
      }
      // A service added while the web front runs is seen within a second, not after the cache's 10 s TTL.
      const answer = await eventually(async () => {
        const candidate = await stack.get('/1.0/bare/1.0', browserId());
        return candidate.status !== 404 && candidate;
      }, 3000);
      expectUnavailable(answer);
      expect(errorOf(answer).description).to.equal("The api_endpoint pattern for 'bare-1.0' is not known");
    });
  });

  describe('MariaDB row lock held past the query timeout', () => {
    let stack: TestStack | undefined;
    let database: TestDatabase | undefined;
    before(async function () {
      if (!MYSQL_TEST_URL) this.skip();
      database = await createTestDatabase('mysql');
      stack = await TestStack.start({
        TOKENSERVER_DATABASE__URL: database.url,
        TOKENSERVER_DATABASE__QUERY_TIMEOUT_MS: '500',
      });
      stack.trustIssuer('idp.test');
    });
    after(async () => {
      await stack?.stop();
      await database?.drop();
    });

    it('answers 504 elapsed when an update waits too long, and 200 once the lock is gone', async () => {
      const running = stack as TestStack;
      const email = `${randomBytes(16).toString('hex')}@idp.test`;
      expect((await running.token(browserId(email, 1))).status).to.equal(200);
      const holder = await mysql.createConnection({ uri: (database as TestDatabase).url });
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT uid FROM users WHERE email = ? FOR UPDATE', [email]);
        const answer = await running.token(browserId(email, 2));
        expect(errorOf(answer), answer.text).to.deep.equal({ http: 504, status: 'elapsed', description: 'Elapsed' });
        await holder.query('ROLLBACK');
      } finally {
        await holder.end();
      }
      const after = await running.token(browserId(email, 3));
      expect(after.status, after.text).to.equal(200);
    });
  });
});
