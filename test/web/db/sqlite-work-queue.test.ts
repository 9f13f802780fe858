import { expect } from 'chai';
import { SqliteWorkQueue } from '../../../web/src/db/sqlite-work-queue.js';

/** Keeps the thread busy for `ms`, as a synchronous better-sqlite3 statement does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('SQLite work queue', () => {
  it('runs work one item at a time, in order, each with its own result or rejection', async () => {
    const queue = new SqliteWorkQueue();
    const order: number[] = [];
    let running = 0;
    const item = (n: number) =>
      queue.run(async () => {
        running++;
        expect(running).to.equal(1);
        await new Promise((resolve) => setTimeout(resolve, n % 3));
        order.push(n);
        running--;
        if (n === 2) throw new Error('item 2 failed');
        return n * 10;
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map(item));
    expect(order).to.deep.equal([0, 1, 2, 3, 4]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).to.deep.equal([
      0,
      10,
      'item 2 failed',
      30,
      40,
    ]);
  });

  it('lets the event loop turn during a long run of back-to-back work', async () => {
    const queue = new SqliteWorkQueue(2);
    let done = 0;
    let doneWhenTimerFired = -1;
    setTimeout(() => {
      doneWhenTimerFired = done;
    }, 0);
    // 40 ms of synchronous work: without a turn, the timer would fire only after all of it.
    await Promise.all(
      Array.from({ length: 80 }, () =>
        queue.run(async () => {
          busy(0.5);
          done++;
        }),
      ),
    );
    expect(doneWhenTimerFired).to.be.within(1, 10);
  });

  it('does not delay a short burst', async () => {
    const queue = new SqliteWorkQueue(2);
    let done = 0;
    const burst = Promise.all(Array.from({ length: 20 }, () => queue.run(async () => void done++)));
    // Scheduled after the burst: it runs at the loop's next check phase, after the burst if nothing waited.
    const doneAtNextTurn = await new Promise<number>((resolve) => setImmediate(() => resolve(done)));
    await burst;
    expect(doneAtNextTurn).to.equal(20);
  });
});
