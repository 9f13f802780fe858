import { DerivedSecrets } from '@tokenserver/shared';
import { answerChecker } from '../../loadtest/checks.js';
import { HttpTarget } from '../../loadtest/http-client.js';
import type { TimedAnswer } from '../../loadtest/run-load.js';
import { drive } from '../../loadtest/runner.js';
import { existingUserId, type RequestKind } from '../../loadtest/scenarios.js';
import { keyPair, makeBackedAssertion } from '../support/browserid.js';
import { eventually } from '../support/processes.js';
import { AUDIENCE, MASTER_SECRET, type TestStack } from '../support/stack.js';
import { AnswerLog } from './answer-log.js';
import { noFailures, onlyFastUnavailable, recoveredWithin } from './fault-checks.js';
import { at, startLoadtestStack } from './fault-load.js';
import { type FaultReport, reportFrom } from './fault-report.js';

// The BrowserID IdP stops answering (connections hang past the workers' fetch timeout), then comes back. Users of
// an issuer whose key the workers cached keep getting tokens; users of an issuer not yet fetched get 503 with
// Retry-After, and tokens again once the IdP is back (after the failed fetch's negative-cache time).
// The realistic scenario's loadtest.local issuer never reaches an IdP, so this fault sends its own requests, signed
// by the test BrowserID signer for two issuers mapped to a loopback IdP, through the load tool's runner and checker.

const CACHED = 'idp.test';
const UNCACHED = 'other.test';
const PROCESSES = 2;
const NEGATIVE_CACHE_TTL_S = 1;
/** The IdP fetch timeout: a hanging IdP costs a request at most this. */
const FETCH_TIMEOUT_MS = 1000;
const USERS_PER_ISSUER = 100;
const RATE = 150;

type Issuer = typeof CACHED | typeof UNCACHED;

export async function idpOutage(durationS: number): Promise<FaultReport> {
  const stack = await startLoadtestStack({
    TOKENSERVER_WORKER__PROCESSES: String(PROCESSES),
    TOKENSERVER_BROWSERID__TIMEOUT_MS: String(FETCH_TIMEOUT_MS),
    TOKENSERVER_BROWSERID__NEGATIVE_CACHE_TTL_S: String(NEGATIVE_CACHE_TTL_S),
  });
  const http = new HttpTarget(new URL(stack.url), 12);
  try {
    const issuerKey = keyPair('RS256', 'issuer');
    for (const domain of [CACHED, UNCACHED]) stack.idp.setKey(domain, issuerKey.publicKey);
    const credentials = { [CACHED]: signUsers(CACHED), [UNCACHED]: signUsers(UNCACHED) };
    await warmCache(stack, http, credentials[CACHED]);

    const { check } = answerChecker(new DerivedSecrets(MASTER_SECRET));
    const log = new AnswerLog();
    const startedAt = performance.now();
    const downAt = startedAt + durationS * 250;
    let upAt = Number.POSITIVE_INFINITY;
    let sent = 0;
    const control = drive<Issuer>(
      http,
      { connections: 12, durationMs: durationS * 1000, rate: RATE, timeoutMs: 8000 },
      {
        next: () => {
          // The uncached issuer is only asked once the IdP is down, so that no worker has its key.
          const issuer = performance.now() >= downAt && sent % 2 === 1 ? UNCACHED : CACHED;
          const pool = credentials[issuer];
          const authorization = pool[sent++ % pool.length] as string;
          return { path: '/1.0/sync/1.5', headers: { Authorization: authorization }, context: issuer };
        },
        done: (issuer, outcome, latencyMs, _atMs, serviceMs) => {
          const answeredAt = performance.now();
          const kind: RequestKind = issuer === CACHED ? 'existing' : 'new';
          const base = {
            kind,
            latencyMs,
            serviceMs,
            atMs: answeredAt - startedAt,
            sentAt: answeredAt - latencyMs,
            answeredAt,
          };
          const answer: TimedAnswer =
            'error' in outcome
              ? { ...base, error: outcome.error }
              : {
                  ...base,
                  status: outcome.status,
                  body: outcome.body,
                  problem: check({ status: 200 }, outcome.status, outcome.body),
                  retryAfter: outcome.retryAfter,
                };
          log.add(answer);
        },
      },
    );
    await at(startedAt, durationS * 0.25);
    stack.idp.mode = 'down';
    stack.idp.delayMs = FETCH_TIMEOUT_MS * 3;
    await at(startedAt, durationS * 0.55);
    stack.idp.mode = 'up';
    stack.idp.delayMs = 0;
    upAt = performance.now();
    await control.finished;

    const recoverMs = log.recoveryMs(upAt);
    const uncachedDuringOutage = log.answers.filter((answer) => answer.kind === 'new' && answer.sentAt < upAt);
    const violations = [
      ...noFailures(
        log.failures().filter((answer) => answer.kind === 'existing'),
        `for the cached issuer ${CACHED}`,
      ),
      ...onlyFastUnavailable(log.failures(), FETCH_TIMEOUT_MS + 1500),
      ...(uncachedDuringOutage.some((answer) => answer.status === 503)
        ? []
        : [`no ${UNCACHED} request was answered 503 while the IdP was down`]),
      ...recoveredWithin(recoverMs, NEGATIVE_CACHE_TTL_S * 1000 + 3000),
    ];
    return reportFrom('BrowserID IdP stops answering, then back', log, recoverMs, violations, [
      `${CACHED} (cached): ${count(log, 'existing')} requests; ${UNCACHED} (not cached): ${count(log, 'new')}`,
    ]);
  } finally {
    http.close();
    await stack.stop();
  }
}

/** Authorization headers for users of `domain`, valid for an hour. */
function signUsers(domain: Issuer): string[] {
  const now = Date.now();
  return Array.from({ length: USERS_PER_ISSUER }, (_, index) => {
    const assertion = makeBackedAssertion({
      email: `${existingUserId(7, domain === CACHED ? index : USERS_PER_ISSUER + index)}@${domain}`,
      issuer: domain,
      audience: AUDIENCE,
      now,
      assertionExp: now + 3600_000,
    });
    return `BrowserID ${assertion}`;
  });
}

/**
 * Sends bursts of cached-issuer requests until every worker process has fetched (and cached) the issuer's key.
 * Bursts, because one request at a time may always land on the same worker (verify and sign jobs alternate).
 */
async function warmCache(stack: TestStack, http: HttpTarget, credentials: readonly string[]): Promise<void> {
  let index = 0;
  await eventually(async () => {
    const burst = Array.from({ length: 8 }, () => credentials[index++ % credentials.length] as string);
    await Promise.all(burst.map((authorization) => http.send('/1.0/sync/1.5', { Authorization: authorization }, 5000)));
    return stack.idp.fetchCount(CACHED) >= PROCESSES;
  }, 15_000);
}

function count(log: AnswerLog, kind: 'existing' | 'new'): number {
  return log.answers.filter((answer) => answer.kind === kind).length;
}
