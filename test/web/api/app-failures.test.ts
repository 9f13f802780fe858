import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BadJobError,
  BrokerBusyError,
  BrokerUnavailableError,
  encodeJobBody,
  JobExpiredError,
  JobFailedError,
  JobTimeoutError,
  NoWorkerError,
  WorkerLostError,
} from '@tokenserver/shared';
import type { BrokerStatus } from '@tokenserver/shared/client';
import { expect } from 'chai';
import { pino } from 'pino';
import { createWebFront } from '../../../web/src/app.js';
import { type Store, StoreUnavailableError } from '../../../web/src/db/store.js';
import type { JobClient } from '../../../web/src/token-jobs-client.js';
import { STAND_IN_CONFIG, STAND_IN_SERVICE, standInUser } from '../../support/web-stand-ins.js';

// The web front in process with stand-in jobs and store: the job and store failures that are hard to provoke
// through real processes (BUSY, a worker bug, a database outage) and what the web front answers for each.

const SERVICE = STAND_IN_SERVICE;
const USER = standInUser('u@api.accounts.firefox.com');
const config = STAND_IN_CONFIG;

class StubJobs implements JobClient {
  failure: Error | undefined;
  /** While set, every job waits for it: requests pile up in flight. */
  gate: Promise<void> | undefined;
  async submit(kind: string): Promise<Buffer> {
    await this.gate;
    if (this.failure) return Promise.reject(this.failure);
    if (kind === 'sign-token') {
      return Promise.resolve(encodeJobBody({ id: 'id', key: 'key', duration: 3600, hashedFxaUid: 'h' }));
    }
    return Promise.resolve(encodeJobBody({ ok: true, identity: { email: USER.email, fxaUid: 'u' } }));
  }
  brokerStatus(): BrokerStatus {
    return { connected: true, last: { liveWorkers: 1, pausedWorkers: 0, queued: 0, inFlight: 0 } };
  }
}

describe('web front failure answers', () => {
  const jobs = new StubJobs();
  let storeDown = false;
  const store = {
    listServices: async () => [SERVICE],
    getUser: async () => {
      if (storeDown) throw new StoreUnavailableError('connection refused');
      return USER;
    },
    ping: async () => {
      if (storeDown) throw new StoreUnavailableError('connection refused');
    },
  } as unknown as Store;
  const logged: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  let server: Server;
  let url: string;

  before(async () => {
    // The handler the web front serves: the token route's fast path, Express for the rest.
    const { handler } = createWebFront({
      config,
      store,
      jobs,
      log,
      version: { source: '', version: '1', commit: '', build: '' },
    });
    server = createServer(handler).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  afterEach(() => {
    jobs.failure = undefined;
    storeDown = false;
  });

  const get = () => fetch(`${url}/1.0/sync/1.5`, { headers: { Authorization: 'Bearer x' } });

  it('answers a token with the stand-ins', async () => {
    const res = await get();
    expect(res.status).to.equal(200);
    expect(await res.json()).to.include({ uid: 7, api_endpoint: 'https://node.example.com/1.5/7' });
  });

  for (const failure of [
    new BrokerBusyError('busy'),
    new NoWorkerError('none'),
    new JobTimeoutError('slow'),
    new JobExpiredError('late'),
    new WorkerLostError('dead'),
    new BrokerUnavailableError('gone'),
  ]) {
    it(`answers 503 with Retry-After for ${failure.code}`, async () => {
      jobs.failure = failure;
      const res = await get();
      expect(res.status).to.equal(503);
      expect(res.headers.get('retry-after')).to.equal('3');
      expect(((await res.json()) as { status: string }).status).to.equal('error');
    });
  }

  for (const failure of [new JobFailedError('TypeError: boom'), new BadJobError('bad body')]) {
    it(`answers 500 for ${failure.code} and logs it with the request id`, async () => {
      jobs.failure = failure;
      const res = await get();
      expect(res.status).to.equal(500);
      expect(await res.json()).to.deep.equal({
        status: 'internal-error',
        errors: [{ location: 'internal', name: '', description: 'Server error' }],
      });
      const requestId = res.headers.get('x-request-id');
      expect(requestId).to.match(/^[0-9a-f-]{36}$/);
      expect(logged.some((entry) => entry.requestId === requestId && entry.level === 50)).to.equal(true);
    });
  }

  it('sheds requests beyond [web] max_in_flight with an immediate 503, and serves again once they finish', async () => {
    let open = () => {};
    jobs.gate = new Promise((resolve) => {
      open = resolve;
    });
    const held = [get(), get()];
    await new Promise((resolve) => setTimeout(resolve, 50));
    const shed = await Promise.all([get(), get()]);
    expect(shed.map((res) => res.status)).to.deep.equal([503, 503]);
    expect(shed[0]?.headers.get('retry-after')).to.equal('3');
    jobs.gate = undefined;
    open();
    expect((await Promise.all(held)).map((res) => res.status)).to.deep.equal([200, 200]);
    expect((await get()).status).to.equal(200);
  });

  it('answers 503 with Retry-After while the database is unavailable, and says so in __heartbeat__', async () => {
    storeDown = true;
    const res = await get();
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.equal('3');
    const heartbeat = await fetch(`${url}/__heartbeat__`);
    expect(heartbeat.status).to.equal(503);
    expect(await heartbeat.json()).to.deep.include({ database: 'Err', broker: 'Ok' });
  });
});
