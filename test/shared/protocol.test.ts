import {
  Command,
  decodePong,
  decodeReady,
  encodePong,
  encodeReady,
  JobBatch,
  ProtocolError,
  ResultBatch,
  readCommand,
  readJobs,
  readResults,
  Status,
} from '@tokenserver/shared';
import { expect } from 'chai';
import fc from 'fast-check';

describe('Powerhose wire format', () => {
  it('round-trips a batch of jobs', () => {
    const batch = new JobBatch();
    batch.push(1, 1_700_000_000_123.5, 'echo', Buffer.from('a'));
    batch.push(0xffffffff, 2, 'verify-browserid', Buffer.alloc(0));
    const frame = batch.take(Command.Submit);
    expect(readCommand(frame)).to.equal(Command.Submit);
    const seen: unknown[] = [];
    readJobs(frame, (id, deadline, kind, body) => seen.push([id, deadline, kind, body.toString()]));
    expect(seen).to.deep.equal([
      [1, 1_700_000_000_123.5, 'echo', 'a'],
      [0xffffffff, 2, 'verify-browserid', ''],
    ]);
    expect(batch.length).to.equal(0);
  });

  it('round-trips results, READY and PONG', () => {
    const results = new ResultBatch();
    results.push(7, Status.Error, Buffer.from('boom'));
    results.push(8, Status.Ok);
    const seen: unknown[] = [];
    readResults(results.take(Command.Done), (id, status, body) => seen.push([id, status, body.toString()]));
    expect(seen).to.deep.equal([
      [7, Status.Error, 'boom'],
      [8, Status.Ok, ''],
    ]);
    const ready = { credit: 64, kinds: ['echo', 'burn'], name: 'host:1' };
    expect(decodeReady(encodeReady(ready))).to.deep.equal(ready);
    const pong = { liveWorkers: 3, pausedWorkers: 1, queued: 4, inFlight: 5 };
    expect(decodePong(encodePong(pong))).to.deep.equal(pong);
  });

  it('rejects wrong versions, unknown commands, truncation and trailing bytes before visiting any record', () => {
    const batch = new JobBatch();
    batch.push(1, 1, 'echo', Buffer.from('abc'));
    const good = batch.take(Command.Submit);
    const broken = [
      Buffer.from([9, Command.Submit, 0, 0]),
      Buffer.from([1, 0x7e]),
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from([0])]),
    ];
    for (const frame of broken) {
      let visited = 0;
      expect(() => {
        readCommand(frame);
        readJobs(frame, () => visited++);
      }).to.throw(ProtocolError);
      expect(visited).to.equal(0);
    }
  });

  it('never throws anything but ProtocolError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const frame = Buffer.from(bytes);
        for (const decode of [
          readCommand,
          (f: Buffer) => readJobs(f, () => {}),
          (f: Buffer) => readResults(f, () => {}),
          decodeReady,
          decodePong,
        ]) {
          try {
            decode(frame);
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
          }
        }
      }),
      { numRuns: 20_000 },
    );
  });
});
