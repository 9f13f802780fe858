import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { type AccountClaims, resolveUser } from '../../../web/src/accounts.js';
import { TokenServerError } from '../../../web/src/api-errors.js';
import { bootstrapStore } from '../../../web/src/db/bootstrap.js';
import { openStore } from '../../../web/src/db/open-store.js';
import {
  AlreadyExistsError,
  isRetired,
  NoNodeError,
  type Store,
  UnknownNodeError,
  UnknownServiceError,
  UserChangedError,
} from '../../../web/src/db/store.js';
import { purgeOldRecords } from '../../../web/src/purge.js';
import type { RaceReport } from '../../support/allocate-worker.js';
import {
  type BackendKind,
  createTestDatabase,
  databaseConfig,
  TestClock,
  type TestDatabase,
  testAssignment,
} from '../../support/databases.js';
import { readInvariants } from '../../support/inspect-db.js';
import { stealReleases } from '../../support/release-thief.js';

// The Store contract, written once and run against every backend (see sqlite-store.test.ts, mysql-store.test.ts).
// One database per backend; every test works in its own service so tests cannot see each other's nodes.

const WORKER = fileURLToPath(new URL('../../support/allocate-worker.ts', import.meta.url));
const claims = (generation: number, keysChangedAt: number, clientState: string): AccountClaims => ({
  generation,
  keysChangedAt,
  clientState,
});
const OPEN = { allowNewUsers: true };

export interface ConformanceContext {
  database: TestDatabase;
  clock: TestClock;
  store: Store;
  /** A service created for the current test, with the default pattern. */
  service: string;
  open(overrides?: Parameters<typeof databaseConfig>[1]): Store;
}

export function defineStoreConformance(kind: BackendKind, context: ConformanceContext): void {
  let serviceCounter = 0;
  const opened: Store[] = [];

  before(async () => {
    context.database = await createTestDatabase(kind);
    context.clock = new TestClock();
    context.open = (overrides = {}) => {
      const store = openStore(databaseConfig(overrides.url ?? context.database.url, overrides), testAssignment, {
        now: context.clock.now,
      });
      opened.push(store);
      return store;
    };
    context.store = context.open();
    await context.store.migrate();
  });

  after(async () => {
    await Promise.all(opened.map((store) => store.close().catch(() => undefined)));
    await context.database?.drop();
  });

  beforeEach(async () => {
    context.service = `svc-${++serviceCounter}`;
    await context.store.addService(context.service, '{node}/1.5/{uid}');
  });

  const addNode = (
    url: string,
    capacity = 100,
    extra: { available?: number; downed?: boolean; backoff?: boolean } = {},
  ) => context.store.addNode({ service: context.service, url, capacity, available: capacity, ...extra });
  const resolve = (email: string, claim: AccountClaims = claims(1, 1, 'aa')) =>
    resolveUser(context.store, context.service, email, claim, OPEN);
  const node = async (url: string) => (await context.store.getNode(context.service, url))!;

  describe('migrations', () => {
    it('are recorded and applying them again changes nothing', async () => {
      const fresh = await createTestDatabase(kind);
      try {
        const first = openStore(databaseConfig(fresh.url), testAssignment);
        expect(await first.migrate()).to.deep.equal({ applied: [1, 2], version: 2 });
        expect(await first.migrate()).to.deep.equal({ applied: [], version: 2 });
        await first.close();
        const second = openStore(databaseConfig(fresh.url), testAssignment);
        expect(await second.migrate()).to.deep.equal({ applied: [], version: 2 });
        await second.close();
      } finally {
        await fresh.drop();
      }
    });

    it('run once when several stores migrate the same database at the same time', async () => {
      const fresh = await createTestDatabase(kind);
      const stores = [1, 2, 3].map(() => openStore(databaseConfig(fresh.url), testAssignment));
      try {
        const results = await Promise.all(stores.map((store) => store.migrate()));
        expect(results.flatMap((result) => result.applied).sort()).to.deep.equal([1, 2]);
        expect(results.every((result) => result.version === 2)).to.equal(true);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
        await fresh.drop();
      }
    });
  });

  describe('services and nodes', () => {
    it('adds, finds and lists services; a duplicate is AlreadyExistsError', async () => {
      expect(await context.store.getService(context.service)).to.include({
        name: context.service,
        pattern: '{node}/1.5/{uid}',
      });
      expect(await context.store.getService('no-such-service')).to.equal(undefined);
      const names = (await context.store.listServices()).map((service) => service.name);
      expect(names).to.include(context.service);
      await expectRejection(context.store.addService(context.service, 'x'), AlreadyExistsError);
    });

    it('adds a node with available = ceil(capacity × release rate) by default', async () => {
      const added = await context.store.addNode({ service: context.service, url: 'https://a', capacity: 95 });
      expect(added).to.include({ url: 'https://a', capacity: 95, available: 10, currentLoad: 0 });
      expect(added).to.include({ downed: false, backoff: false, service: context.service });
      await expectRejection(
        context.store.addNode({ service: context.service, url: 'https://a', capacity: 5 }),
        AlreadyExistsError,
      );
      await expectRejection(
        context.store.addNode({ service: 'nope', url: 'https://a', capacity: 5 }),
        UnknownServiceError,
      );
    });

    it('updates listed fields only and reports unknown nodes', async () => {
      await addNode('https://a', 100);
      const updated = await context.store.updateNode(context.service, 'https://a', { downed: true, capacity: 7 });
      expect(updated).to.include({ downed: true, capacity: 7, available: 100, backoff: false });
      expect((await context.store.listNodes(context.service)).map((n) => n.url)).to.deep.equal(['https://a']);
      await expectRejection(
        context.store.updateNode(context.service, 'https://zz', { downed: true }),
        UnknownNodeError,
      );
      await expectRejection(context.store.unassignNode(context.service, 'https://zz'), UnknownNodeError);
      await expectRejection(context.store.removeNode(context.service, 'https://zz'), UnknownNodeError);
    });

    it('bootstrap creates what is missing and leaves existing rows alone', async () => {
      await addNode('https://a', 100);
      await context.store.updateNode(context.service, 'https://a', { downed: true });
      const config = {
        services: [
          { name: context.service, pattern: 'changed' },
          { name: `${context.service}-b`, pattern: '{node}/{uid}' },
        ],
        nodes: [
          { service: context.service, url: 'https://a', capacity: 5, downed: false, backoff: false },
          { service: `${context.service}-b`, url: 'https://b', capacity: 50, downed: false, backoff: false },
        ],
      };
      expect(await bootstrapStore(context.store, config)).to.deep.equal({
        servicesCreated: [`${context.service}-b`],
        nodesCreated: [`${context.service}-b https://b`],
      });
      expect(await bootstrapStore(context.store, config)).to.deep.equal({ servicesCreated: [], nodesCreated: [] });
      expect(await node('https://a')).to.include({ downed: true, capacity: 100 });
      expect((await context.store.getService(context.service))?.pattern).to.equal('{node}/1.5/{uid}');
    });
  });

  describe('allocation', () => {
    it('creates a first user with the claimed state and counts it on the node', async () => {
      await addNode('https://a', 100);
      const user = await resolve('a@x', claims(5, 4, 'abcd'));
      expect(user).to.include({ service: context.service, email: 'a@x', nodeUrl: 'https://a' });
      expect(user).to.include({ generation: 5, keysChangedAt: 4, clientState: 'abcd', replacedAt: null });
      expect(user.oldClientStates).to.deep.equal([]);
      expect(user.firstSeenAt).to.equal(context.clock.ms);
      expect(await node('https://a')).to.include({ currentLoad: 1, available: 99 });
      const again = await resolve('a@x', claims(5, 4, 'abcd'));
      expect(again.uid).to.equal(user.uid);
      expect(await node('https://a')).to.include({ currentLoad: 1, available: 99 });
    });

    it('picks the node with the least relative load', async () => {
      await context.store.addNode({
        service: context.service,
        url: 'https://big',
        capacity: 1000,
        available: 500,
        currentLoad: 300,
      });
      await context.store.addNode({
        service: context.service,
        url: 'https://small',
        capacity: 10,
        available: 5,
        currentLoad: 2,
      });
      expect((await resolve('a@x')).nodeUrl).to.equal('https://small'); // 0.2 < 0.3
      expect((await resolve('b@x')).nodeUrl).to.equal('https://big'); // 0.3 < 0.3 + 0.1
    });

    it('never assigns to downed, backed-off or full nodes', async () => {
      await addNode('https://down', 100, { downed: true });
      await addNode('https://back', 100, { backoff: true });
      await context.store.addNode({
        service: context.service,
        url: 'https://full',
        capacity: 3,
        available: 3,
        currentLoad: 3,
      });
      await expectRejection(resolve('a@x'), NoNodeError);
      await addNode('https://ok', 100);
      expect((await resolve('a@x')).nodeUrl).to.equal('https://ok');
    });

    it('releases capacity × rate (bounded by free room) when no node has released slots', async () => {
      await addNode('https://a', 100, { available: 0 });
      await context.store.addNode({
        service: context.service,
        url: 'https://b',
        capacity: 100,
        available: 0,
        currentLoad: 97,
      });
      expect((await resolve('a@x')).nodeUrl).to.equal('https://a');
      expect(await node('https://a')).to.include({ available: 9, currentLoad: 1 });
      expect(await node('https://b')).to.include({ available: 3, currentLoad: 97 });
    });

    it('gives up with NoNodeError after the release rounds when only backed-off nodes have room', async () => {
      await addNode('https://back', 100, { available: 0, backoff: true });
      await expectRejection(resolve('a@x'), NoNodeError);
      expect(await node('https://back')).to.include({ currentLoad: 0 });
      expect(await context.store.getUser(context.service, 'a@x')).to.equal(undefined);
    });

    it('releases capacity at most release_rounds times per allocation', async () => {
      const rounds = 3;
      const assignment = { ...testAssignment, release_rounds: rounds };
      const store = openStore(databaseConfig(context.database.url), assignment, { now: context.clock.now });
      const seed = { generation: 1, keysChangedAt: null, clientState: '' };
      try {
        await addNode('https://a', 100, { available: 0 });
        const nodeId = (await node('https://a')).id;
        // The slots of every allowed round vanish: one more round would find room, but none is allowed.
        let stopStealing = await stealReleases(kind, context.database.url, nodeId, rounds);
        try {
          await expectRejection(store.allocateUser(context.service, 'a@x', seed), NoNodeError);
        } finally {
          await stopStealing();
        }
        expect(await node('https://a')).to.include({ currentLoad: 0, available: 0 });
        // The last allowed round counts.
        stopStealing = await stealReleases(kind, context.database.url, nodeId, rounds - 1);
        try {
          expect((await store.allocateUser(context.service, 'a@x', seed)).nodeUrl).to.equal('https://a');
        } finally {
          await stopStealing();
        }
      } finally {
        await store.close();
      }
    });

    it('fills a small node exactly to capacity, then fails with NoNodeError', async () => {
      await addNode('https://a', 3, { available: 1 });
      for (const email of ['1@x', '2@x', '3@x']) await resolve(email);
      expect(await node('https://a')).to.include({ currentLoad: 3, available: 0 });
      await expectRejection(resolve('4@x'), NoNodeError);
    });

    it('an unknown service is UnknownServiceError', async () => {
      await expectRejection(context.store.getUser('nope', 'a@x'), UnknownServiceError);
      const seed = { generation: 1, keysChangedAt: null, clientState: '' };
      await expectRejection(context.store.allocateUser('nope', 'a@x', seed), UnknownServiceError);
    });

    it('an explicit node takes the user whatever its state', async () => {
      await addNode('https://a', 100);
      await addNode('https://down', 100, { downed: true });
      const user = await context.store.allocateUser(
        context.service,
        'a@x',
        { generation: 1, keysChangedAt: null, clientState: '' },
        { node: 'https://down' },
      );
      expect(user.nodeUrl).to.equal('https://down');
      await expectRejection(
        context.store.allocateUser(context.service, 'b@x', user, { node: 'https://nope' }),
        UnknownNodeError,
      );
    });
  });

  describe('concurrency', () => {
    it('many parallel first requests for one user, through several pools, make exactly one live row', async () => {
      await addNode('https://a', 1000);
      await addNode('https://b', 1000);
      const stores = [context.store, context.open(), context.open(), context.open()];
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          resolveUser(stores[i % stores.length]!, context.service, 'race@x', claims(3, 3, 'aa'), OPEN),
        ),
      );
      expect(new Set(results.map((user) => user.uid)).size).to.equal(1);
      const invariants = await readInvariants(context.database.url, context.service);
      expect(invariants.duplicateLiveUsers).to.equal(0);
      expect(invariants.nodesWithWrongLoad).to.deep.equal([]);
      const loads = (await context.store.listNodes(context.service)).map((n) => n.currentLoad).sort();
      expect(loads).to.deep.equal([0, 1]);
    });

    it('parallel allocations of distinct users keep node counters exact', async () => {
      await addNode('https://a', 1000, { available: 100 });
      await addNode('https://b', 1000, { available: 100 });
      await addNode('https://c', 1000, { available: 100 });
      const stores = [context.store, context.open(), context.open()];
      await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          resolveUser(stores[i % stores.length]!, context.service, `u${i}@x`, claims(1, 1, 'aa'), OPEN),
        ),
      );
      const nodes = await context.store.listNodes(context.service);
      expect(nodes.reduce((sum, n) => sum + n.currentLoad, 0)).to.equal(150);
      expect(nodes.reduce((sum, n) => sum + n.available, 0)).to.equal(150);
      // Each allocation moves exactly one released slot from `available` to `current_load`.
      for (const n of nodes) expect(n.currentLoad + n.available, n.url).to.equal(100);
      for (const n of nodes) expect(n.currentLoad, 'every node takes a share').to.be.greaterThan(10);
      const invariants = await readInvariants(context.database.url, context.service);
      expect(invariants.nodesWithWrongLoad).to.deep.equal([]);
      expect(invariants.duplicateLiveUsers).to.equal(0);
    });

    it('parallel first requests from several processes, released together, agree on one uid per user', async function () {
      this.timeout(60000);
      await addNode('https://a', 1000);
      await addNode('https://b', 1000);
      // Enough work that a process woken a few ms late still starts before the others finish.
      const emails = Array.from({ length: 400 }, (_, i) => `p${i}@x`);
      const reports = await raceProcesses(4, context.database.url, context.service, emails);
      // The processes really ran at the same time: each one's requests started before any other's finished.
      const lastStart = Math.max(...reports.map((report) => report.startedAt));
      const firstFinish = Math.min(...reports.map((report) => report.finishedAt));
      expect(lastStart, 'the processes overlap').to.be.below(firstFinish);
      for (const email of emails) {
        expect(new Set(reports.map((report) => report.uids[email])).size, email).to.equal(1);
      }
      const invariants = await readInvariants(context.database.url, context.service);
      expect(invariants.duplicateLiveUsers).to.equal(0);
      expect(invariants.nodesWithWrongLoad).to.deep.equal([]);
      const nodes = await context.store.listNodes(context.service);
      expect(nodes.reduce((sum, n) => sum + n.currentLoad, 0)).to.equal(emails.length);
    });

    it('concurrent client-state changes of one user leave one live row', async () => {
      await addNode('https://a', 1000);
      await resolve('cs@x', claims(1, 1, 'aa'));
      const stores = [context.store, context.open(), context.open()];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          resolveUser(stores[i % 3]!, context.service, 'cs@x', claims(2 + (i % 4), 2 + (i % 4), `s${i % 4}`), OPEN),
        ),
      );
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') expect(outcome.reason).to.be.instanceOf(TokenServerError);
      }
      expect(outcomes.some((outcome) => outcome.status === 'fulfilled')).to.equal(true);
      const final = (await context.store.getUser(context.service, 'cs@x'))!;
      expect(final).to.include({ generation: 5, clientState: 's3' });
      const invariants = await readInvariants(context.database.url, context.service);
      expect(invariants.duplicateLiveUsers).to.equal(0);
      expect(invariants.nodesWithWrongLoad).to.deep.equal([]);
    });
  });

  describe('account rules', () => {
    beforeEach(() => addNode('https://a', 1000));

    it('moves generation and keys_changed_at forward in place', async () => {
      const first = await resolve('a@x', claims(10, 5, 'aa'));
      const later = await resolve('a@x', claims(12, 5, 'aa'));
      expect(later).to.include({ uid: first.uid, generation: 12, keysChangedAt: 5 });
      const stored = (await context.store.getUser(context.service, 'a@x'))!;
      expect(stored).to.include({ generation: 12, keysChangedAt: 5 });
    });

    it('takes keysChangedAt as generation when no generation is claimed', async () => {
      await resolve('a@x', claims(0, 0, 'aa'));
      const user = await resolve('a@x', claims(0, 20, 'aa'));
      expect(user).to.include({ generation: 20, keysChangedAt: 20 });
    });

    it('rejects an older generation with invalid-generation', async () => {
      await resolve('a@x', claims(10, 5, 'aa'));
      await expectApiError(resolve('a@x', claims(9, 5, 'aa')), 401, 'invalid-generation');
    });

    it('rejects keysChangedAt going backwards, missing once stored, or beyond the generation', async () => {
      await resolve('a@x', claims(10, 5, 'aa'));
      await expectApiError(resolve('a@x', claims(10, 4, 'aa')), 401, 'invalid-keysChangedAt');
      await expectApiError(resolve('a@x', claims(10, 0, 'aa')), 401, 'invalid-keysChangedAt');
      await expectApiError(resolve('a@x', claims(11, 12, 'aa')), 401, 'invalid-keysChangedAt');
    });

    it('refuses bad client-state changes with the four descriptions', async () => {
      await resolve('a@x', claims(10, 10, 'aa'));
      await resolve('a@x', claims(12, 11, 'bb'));
      const description = (reason: string) => `Unacceptable client-state value ${reason}`;
      await expectApiError(
        resolve('a@x', claims(13, 13, '')),
        401,
        'invalid-client-state',
        description('empty string'),
      );
      await expectApiError(
        resolve('a@x', claims(13, 13, 'aa')),
        401,
        'invalid-client-state',
        description('stale value'),
      );
      await expectApiError(
        resolve('a@x', claims(12, 12, 'cc')),
        401,
        'invalid-client-state',
        description('new value with no generation change'),
      );
      await expectApiError(
        resolve('a@x', claims(13, 11, 'cc')),
        401,
        'invalid-client-state',
        description('new value with no keys_changed_at change'),
      );
      expect(await context.store.getUser(context.service, 'a@x')).to.include({ clientState: 'bb', generation: 12 });
    });

    it('a client-state change makes a new uid on the same node and replaces the old row', async () => {
      await addNode('https://emptier', 1000);
      const first = await resolve('a@x', claims(10, 10, 'aa'));
      const changed = await resolve('a@x', claims(11, 11, 'bb'));
      expect(changed.uid).to.not.equal(first.uid);
      expect(changed).to.include({ nodeUrl: first.nodeUrl, clientState: 'bb', generation: 11, keysChangedAt: 11 });
      expect(changed.oldClientStates).to.deep.equal(['aa']);
      expect(changed.firstSeenAt).to.equal(first.createdAt);
      expect(await context.store.countUsers(context.clock.ms, context.service)).to.equal(1);
      expect((await node(first.nodeUrl)).currentLoad).to.equal(2);
      expect((await readInvariants(context.database.url, context.service)).nodesWithWrongLoad).to.deep.equal([]);
    });

    it('refuses a stale record for replacement and update (UserChangedError)', async () => {
      const first = await resolve('a@x', claims(10, 10, 'aa'));
      await resolve('a@x', claims(11, 11, 'bb'));
      await expectRejection(context.store.replaceUser(first, { ...first, clientState: 'cc' }), UserChangedError);
      await expectRejection(context.store.updateUser(first, { generation: 20 }), UserChangedError);
    });

    it('never lowers stored values, even when told to', async () => {
      const user = await resolve('a@x', claims(10, 10, 'aa'));
      await context.store.updateUser(user, { generation: 3, keysChangedAt: 2 });
      expect(await context.store.getUser(context.service, 'a@x')).to.include({ generation: 10, keysChangedAt: 10 });
    });

    it('refuses unknown users when new users are disabled, serving existing ones', async () => {
      await resolve('old@x');
      const closed = { allowNewUsers: false };
      await expectApiError(
        resolveUser(context.store, context.service, 'new@x', claims(1, 1, 'aa'), closed),
        401,
        'new-users-disabled',
      );
      expect((await resolveUser(context.store, context.service, 'old@x', claims(1, 1, 'aa'), closed)).email).to.equal(
        'old@x',
      );
    });

    it('a retired user can never get a token again, with or without claims', async () => {
      await resolve('gone@x', claims(10, 10, 'aa'));
      expect(await context.store.retireUser('gone@x')).to.equal(1);
      expect(isRetired((await context.store.getUser(context.service, 'gone@x'))!)).to.equal(true);
      await expectApiError(resolve('gone@x', claims(10, 10, 'aa')), 401, 'invalid-generation');
      await expectApiError(resolve('gone@x', claims(0, 0, '')), 401, 'invalid-generation');
      await expectApiError(resolve('gone@x', claims(99, 99, 'zz')), 401, 'invalid-generation');
      expect(await context.store.countUsers(context.clock.ms, context.service)).to.equal(0);
    });

    it('retiring a user whose rows are all replaced still blocks it', async () => {
      await resolve('idle@x', claims(10, 10, 'aa'));
      await context.store.unassignNode(context.service, 'https://a');
      expect(await context.store.retireUser('idle@x')).to.equal(1);
      await expectApiError(resolve('idle@x', claims(10, 10, 'aa')), 401, 'invalid-generation');
    });
  });

  describe('unassign, remove, re-assign', () => {
    it('re-assigns users of an unassigned node on their next request, keeping their state', async () => {
      await addNode('https://a', 100);
      const before = await resolve('a@x', claims(7, 6, 'aa'));
      await addNode('https://b', 100);
      await context.store.updateNode(context.service, 'https://a', { backoff: true });
      expect(await context.store.unassignNode(context.service, 'https://a')).to.equal(1);
      expect((await context.store.getUser(context.service, 'a@x'))?.replacedAt).to.not.equal(null);
      const after = await resolve('a@x', claims(7, 6, 'aa'));
      expect(after.uid).to.not.equal(before.uid);
      expect(after).to.include({ nodeUrl: 'https://b', generation: 7, keysChangedAt: 6, clientState: 'aa' });
      expect(await context.store.unassignNode(context.service, 'https://a')).to.equal(0);
    });

    it('re-assigns users of a removed node', async () => {
      await addNode('https://a', 100);
      const before = await resolve('a@x');
      await addNode('https://b', 100);
      expect(await context.store.removeNode(context.service, 'https://a')).to.equal(1);
      expect(await context.store.getNode(context.service, 'https://a')).to.equal(undefined);
      const after = await resolve('a@x');
      expect(after.uid).to.not.equal(before.uid);
      expect(after.nodeUrl).to.equal('https://b');
    });

    it('concurrent requests after an unassign re-assign once', async () => {
      await addNode('https://a', 100);
      await resolve('a@x');
      await context.store.unassignNode(context.service, 'https://a');
      const users = await Promise.all([1, 2, 3, 4, 5, 6].map(() => resolve('a@x')));
      expect(new Set(users.map((user) => user.uid)).size).to.equal(1);
      expect((await readInvariants(context.database.url, context.service)).duplicateLiveUsers).to.equal(0);
    });
  });

  describe('counting and purging', () => {
    it('counts live users created up to a time', async () => {
      await addNode('https://a', 100);
      await resolve('a@x');
      context.clock.advance(1000);
      await resolve('b@x');
      expect(await context.store.countUsers(context.clock.ms, context.service)).to.equal(2);
      expect(await context.store.countUsers(context.clock.ms - 1, context.service)).to.equal(1);
    });

    it('purges replaced rows past the grace period, frees their slots, keeps retired tombstones', async () => {
      await addNode('https://a', 100);
      await resolve('a@x', claims(1, 1, 'aa'));
      await resolve('a@x', claims(2, 2, 'bb')); // replaces the first row
      await resolve('gone@x', claims(1, 1, 'aa'));
      await context.store.retireUser('gone@x');
      expect(await node('https://a')).to.include({ currentLoad: 3, available: 98 });
      const options = {
        gracePeriodMs: 60_000,
        batchSize: 1,
        maxRecords: 0,
        dryRun: false,
        force: false,
        now: context.clock.now,
        service: context.service,
      };
      expect(await purgeOldRecords(context.store, options)).to.deep.equal({ purged: 0, skippedDowned: 0, failed: 0 });
      context.clock.advance(61_000);
      expect(await purgeOldRecords(context.store, { ...options, dryRun: true })).to.include({ purged: 2 });
      expect(await node('https://a')).to.include({ currentLoad: 3 });
      const deleted: number[] = [];
      const report = await purgeOldRecords(context.store, {
        ...options,
        deleteNodeData: async (candidate) => void deleted.push(candidate.uid),
      });
      expect(report).to.deep.equal({ purged: 2, skippedDowned: 0, failed: 0 });
      expect(deleted).to.have.length(2);
      expect(await node('https://a')).to.include({ currentLoad: 1, available: 99 });
      expect(await purgeOldRecords(context.store, options)).to.include({ purged: 0 });
      await expectApiError(resolve('gone@x', claims(0, 0, '')), 401, 'invalid-generation');
      expect((await readInvariants(context.database.url, context.service)).nodesWithWrongLoad).to.deep.equal([]);
    });

    it('skips rows on downed nodes unless forced, and keeps rows whose node-data deletion failed', async () => {
      await addNode('https://a', 100);
      await resolve('a@x');
      await context.store.unassignNode(context.service, 'https://a');
      await context.store.updateNode(context.service, 'https://a', { downed: true });
      context.clock.advance(10_000);
      const options = {
        gracePeriodMs: 1000,
        batchSize: 10,
        maxRecords: 0,
        dryRun: false,
        force: false,
        now: context.clock.now,
        service: context.service,
      };
      expect(await purgeOldRecords(context.store, options)).to.include({ purged: 0, skippedDowned: 1 });
      await context.store.updateNode(context.service, 'https://a', { downed: false });
      const failing = async () => {
        throw new Error('node said 500');
      };
      expect(await purgeOldRecords(context.store, { ...options, deleteNodeData: failing })).to.include({ failed: 1 });
      await context.store.updateNode(context.service, 'https://a', { downed: true });
      expect(await purgeOldRecords(context.store, { ...options, force: true })).to.include({ purged: 1 });
      expect(await node('https://a')).to.include({ currentLoad: 0 });
    });
  });
}

export async function expectRejection(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    return err as Error;
  }
  throw new Error(`expected a rejection with ${type.name}`);
}

export async function expectApiError(
  promise: Promise<unknown>,
  httpStatus: number,
  status: string,
  description?: string,
): Promise<void> {
  const err = (await expectRejection(promise, TokenServerError)) as TokenServerError;
  expect({ httpStatus: err.httpStatus, status: err.status }).to.deep.equal({ httpStatus, status });
  if (description !== undefined) expect(err.description).to.equal(description);
}

/**
 * Starts `count` allocate-worker processes, waits until every one has warmed up, then tells them all to go at
 * once (their start-up takes far longer than their work, so without this barrier they would run one after
 * another) and collects their reports.
 */
async function raceProcesses(count: number, url: string, service: string, emails: string[]): Promise<RaceReport[]> {
  const racers = Array.from({ length: count }, () => startRacer(url, service, emails));
  try {
    await Promise.all(racers.map((racer) => racer.ready));
    for (const racer of racers) racer.child.stdin.write('go\n');
    return await Promise.all(racers.map((racer) => racer.report));
  } finally {
    for (const racer of racers) if (racer.child.exitCode === null) racer.child.kill();
  }
}

function startRacer(url: string, service: string, emails: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url, service, emails.join(',')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`allocate-worker exited ${code}: ${stderr}`));
    });
  });
  const ready = new Promise<void>((resolvePromise, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.startsWith('ready\n')) resolvePromise();
    });
    exited.then(() => reject(new Error('allocate-worker exited before it was ready')), reject);
  });
  const report = exited.then(() => JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as RaceReport);
  report.catch(() => undefined); // awaited only once every racer is ready
  return { child, ready, report };
}
