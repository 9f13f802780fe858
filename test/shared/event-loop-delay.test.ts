import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { registerEventLoopDelay } from '@tokenserver/shared/event-loop-delay';
import { Registry } from '@tokenserver/shared/metrics';
import { expect } from 'chai';

// tokenserver_event_loop_delay_seconds: how late a due timer fires, which is what "event-loop lag" should mean.
// tokenserver_event_loop_cpu_wait_seconds (Linux): how long the loop's thread waited for a CPU in those intervals.

describe('event-loop delay gauge', () => {
  const registry = new Registry();
  registerEventLoopDelay(registry);

  /** One scrape (which resets both gauges): each gauge's quantiles, in ms. */
  async function scrape(): Promise<Record<string, Record<string, number>>> {
    const text = await registry.metrics();
    const out: Record<string, Record<string, number>> = {};
    for (const [, metric, quantile, value] of text.matchAll(/^(\w+)\{quantile="([^"]+)"\} (\S+)$/gm)) {
      out[metric as string] = { ...out[metric as string], [quantile as string]: Number(value) * 1000 };
    }
    return out;
  }
  const DELAY = 'tokenserver_event_loop_delay_seconds';
  const quantiles = async () => (await scrape())[DELAY] ?? {};

  it('reads near zero for a loop that is not blocked, not the sampling period', async () => {
    await quantiles();
    await sleep(300);
    const idle = await quantiles();
    expect(Object.keys(idle)).to.have.members(['0.5', '0.9', '0.99', '1']);
    expect(idle['0.5']).to.be.below(4);
  });

  it('sees a synchronous block as a delay of about its length, then resets on scrape', async () => {
    await quantiles();
    await sleep(20);
    blockLoop(40);
    await sleep(20);
    expect((await quantiles())['1']).to.be.within(30, 1000);
    await sleep(50);
    expect((await quantiles())['1']).to.be.below(30);
  });

  describe('CPU wait', () => {
    const WAIT = 'tokenserver_event_loop_cpu_wait_seconds';
    let hogs: ChildProcess[] = [];

    before(function () {
      if (!existsSync('/proc/thread-self/schedstat')) this.skip();
    });

    afterEach(() => {
      for (const hog of hogs) hog.kill('SIGKILL');
      hogs = [];
    });

    it('a loop blocked on a machine with CPUs to spare waited for none: its delay was its own work', async () => {
      await scrape();
      await sleep(20);
      blockLoop(200);
      await sleep(20);
      const gauges = await scrape();
      expect(gauges[DELAY]?.['1']).to.be.within(150, 2000);
      expect(gauges[WAIT]?.['1']).to.be.below(100);
    });

    it('a loop blocked while other processes fill every CPU shows the time it waited for one', async () => {
      // Twice as many busy processes as CPUs: this thread gets about a third of one and waits the rest.
      hogs = Array.from({ length: 2 * availableParallelism() }, () =>
        spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
      );
      await sleep(300);
      await scrape();
      await sleep(20);
      blockLoop(300);
      await sleep(20);
      expect((await scrape())[WAIT]?.['1']).to.be.within(60, 2000);
    });
  });
});

function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the loop is blocked
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
