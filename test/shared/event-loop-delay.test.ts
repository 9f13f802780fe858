import { registerEventLoopDelay } from '@tokenserver/shared/event-loop-delay';
import { Registry } from '@tokenserver/shared/metrics';
import { expect } from 'chai';

// tokenserver_event_loop_delay_seconds: how late a due timer fires, which is what "event-loop lag" should mean.

describe('event-loop delay gauge', () => {
  const registry = new Registry();
  registerEventLoopDelay(registry);

  async function quantiles(): Promise<Record<string, number>> {
    const text = await registry.metrics();
    const out: Record<string, number> = {};
    for (const [, quantile, value] of text.matchAll(
      /^tokenserver_event_loop_delay_seconds\{quantile="([^"]+)"\} (\S+)$/gm,
    ))
      out[quantile as string] = Number(value) * 1000;
    return out;
  }

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
    const until = performance.now() + 40;
    while (performance.now() < until) {
      // the loop is blocked
    }
    await sleep(20);
    expect((await quantiles())['1']).to.be.within(30, 1000);
    await sleep(50);
    expect((await quantiles())['1']).to.be.below(30);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
