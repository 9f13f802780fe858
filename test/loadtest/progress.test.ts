import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { ProgressReporter, type ProgressSnapshot } from '../../loadtest/progress.js';

// The progress bar, driven with a stream that records what it is given: redrawn in place on a terminal, a plain
// line every 5 s (and one at the end) otherwise.

/** A stream that says it is a terminal (or not) and keeps every write. */
function recordingStream(isTTY: boolean | undefined): { stream: Writable & { isTTY?: boolean }; writes: string[] } {
  const writes: string[] = [];
  const stream: Writable & { isTTY?: boolean } = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  if (isTTY !== undefined) stream.isTTY = isTTY;
  return { stream, writes };
}

const snapshot = (changes: Partial<ProgressSnapshot>): ProgressSnapshot => ({
  elapsedMs: 0,
  requests: 0,
  unexpected: 0,
  errors: 0,
  p99Ms: 0,
  ...changes,
});

/** How each redraw on a terminal starts: back to the start of the line, and erase it. */
const ERASE_LINE = '\r\x1b[2K';

describe('load-test tool: progress bar', () => {
  it('on a terminal, redraws one line in place every 250 ms with elapsed, requests, rate, p99 and failures', async () => {
    const { stream, writes } = recordingStream(true);
    // Each look at the run: 500 ms and 100 requests later, of a 2 s run; the last one (at stop) only 10 ms and 50
    // requests later, a burst that the last line must not report as the rate.
    let looks = 0;
    let stopping = false;
    const look = (n: number) => ({ elapsedMs: n * 500, requests: n * 100 });
    const progress = new ProgressReporter(stream, { durationMs: 2000 }, () => {
      looks++;
      const at = stopping
        ? { elapsedMs: look(looks - 1).elapsedMs + 10, requests: look(looks - 1).requests + 50 }
        : look(looks);
      return snapshot({ ...at, unexpected: 1, p99Ms: 12.34 });
    });
    progress.start();
    await sleep(800);
    stopping = true;
    progress.stop();

    expect(writes.length, JSON.stringify(writes)).to.be.at.least(3);
    expect(writes.at(-1)).to.equal('\n');
    const lines = writes.slice(0, -1);
    for (const line of lines) {
      expect(line.startsWith(ERASE_LINE), JSON.stringify(line)).to.equal(true);
      expect(line).to.not.include('\n');
    }
    expect(lines[0]).to.equal(
      `${ERASE_LINE}[########......................]  25% 0.5 s  100 req  200 req/s  p99 12.3 ms  unexpected 1  errors 0`,
    );
    // The last line gives the whole run's rate.
    const last = look(looks - 1);
    const wholeRun = Math.round(((last.requests + 50) * 1000) / (last.elapsedMs + 10));
    expect(lines.at(-1)).to.match(
      new RegExp(` ${last.requests + 50} req  ${wholeRun} req/s  p99 12\\.3 ms  unexpected 1  errors 0$`),
    );
  });

  for (const isTTY of [false, undefined]) {
    it(`elsewhere (isTTY ${isTTY}), writes plain lines every 5 s, not redraws, and a last one at the end`, async () => {
      const { stream, writes } = recordingStream(isTTY);
      const progress = new ProgressReporter(stream, { requests: 200 }, () =>
        snapshot({ elapsedMs: 1000, requests: 100, errors: 2, p99Ms: 7 }),
      );
      progress.start();
      await sleep(600);
      expect(writes, 'nothing before 5 s').to.deep.equal([]);
      progress.stop();
      expect(writes).to.deep.equal([
        'loadtest: [###############...............]  50% 1.0 s  100 req  100 req/s  p99 7.0 ms  unexpected 0  errors 2\n',
      ]);
    });
  }

  it('counts the bound reached first, and stops at 100%', () => {
    const { stream, writes } = recordingStream(false);
    new ProgressReporter(stream, { durationMs: 10_000, requests: 50 }, () =>
      snapshot({ elapsedMs: 2500, requests: 100 }),
    ).stop();
    expect(writes).to.deep.equal([
      `loadtest: [${'#'.repeat(30)}] 100% 2.5 s  100 req  40 req/s  p99 0.0 ms  unexpected 0  errors 0\n`,
    ]);
  });
});
