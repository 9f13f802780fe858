import { ProtocolError } from '@tokenserver/shared';
import {
  Command,
  decodePong,
  decodeReady,
  encodePong,
  encodeReady,
  JobBatch,
  ResultBatch,
  readCommand,
  readJobs,
  readResults,
  Status,
} from '@tokenserver/shared/protocol';
import { expect } from 'chai';
import fc from 'fast-check';
import { byteMutation, fuzz, mutateBytes, typedOutcome } from '../support/fuzz.js';

// The frame decoder against random and corrupted frames: only ProtocolError escapes, nothing hangs, and whatever
// it accepts is self-consistent (every record inside the frame, as many visits as it reports).

const job = fc.record({
  id: fc.nat({ max: 0xffffffff }),
  deadline: fc.double(),
  kind: fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme-ascii' }),
  body: fc.uint8Array({ maxLength: 48 }),
});
const result = fc.record({
  id: fc.nat({ max: 0xffffffff }),
  status: fc.constantFrom(...Object.values(Status)),
  body: fc.uint8Array({ maxLength: 48 }),
});

const jobFrame = fc.array(job, { maxLength: 6 }).map((jobs) => {
  const batch = new JobBatch();
  for (const j of jobs) batch.push(j.id, j.deadline, j.kind, Buffer.from(j.body));
  return batch.take(Command.Jobs);
});
const resultFrame = fc.array(result, { maxLength: 6 }).map((results) => {
  const batch = new ResultBatch();
  for (const r of results) batch.push(r.id, r.status, Buffer.from(r.body));
  return batch.take(Command.Done);
});
const readyFrame = fc
  .record({
    credit: fc.integer({ min: 1, max: 0xffff }),
    kinds: fc.array(fc.string({ minLength: 1, maxLength: 10, unit: 'grapheme-ascii' }), { minLength: 1, maxLength: 5 }),
    name: fc.string({ maxLength: 20 }),
  })
  .map(encodeReady);
const pongFrame = fc
  .record({
    liveWorkers: fc.nat({ max: 0xffffffff }),
    pausedWorkers: fc.nat({ max: 0xffffffff }),
    queued: fc.nat({ max: 0xffffffff }),
    inFlight: fc.nat({ max: 0xffffffff }),
  })
  .map(encodePong);

const randomFrame = fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes));
/** A valid version and a real command in front of random bytes: past the header check. */
const headedFrame = fc
  .tuple(fc.constantFrom(...Object.values(Command)), fc.uint8Array({ maxLength: 200 }))
  .map(([command, bytes]) => Buffer.concat([Buffer.from([1, command]), bytes]));

function corrupted(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(valid, fc.array(byteMutation, { minLength: 1, maxLength: 3 }))
    .map(([frame, mutations]) => mutations.reduce(mutateBytes, frame));
}

const anyFrame = fc.oneof(
  randomFrame,
  headedFrame,
  corrupted(jobFrame),
  corrupted(resultFrame),
  corrupted(readyFrame),
  corrupted(pongFrame),
);

function decodeEverything(frame: Buffer): void {
  typedOutcome([ProtocolError], () => readCommand(frame));
  typedOutcome([ProtocolError], () => {
    let visits = 0;
    const count = readJobs(frame, (_id, _deadline, kind, body) => {
      visits++;
      expect(kind.length).to.be.greaterThan(0);
      expect(body.buffer === frame.buffer || body.length === 0).to.equal(true);
    });
    expect(visits).to.equal(count);
  });
  typedOutcome([ProtocolError], () => {
    let visits = 0;
    const count = readResults(frame, (_id, status) => {
      visits++;
      expect(status).to.be.at.most(Status.Retry);
    });
    expect(visits).to.equal(count);
  });
  typedOutcome([ProtocolError], () => {
    const ready = decodeReady(frame);
    expect(ready.credit).to.be.greaterThan(0);
    expect(ready.kinds.length).to.be.greaterThan(0);
  });
  typedOutcome([ProtocolError], () => decodePong(frame));
}

describe('fuzz: Powerhose frame decoder', function () {
  this.timeout(0);

  it('only ProtocolError escapes from random, headed and corrupted frames', () => {
    fuzz(anyFrame, decodeEverything, 3);
  });

  it('decodes every valid frame it encodes (mutation-free control)', () => {
    fuzz(
      fc.tuple(jobFrame, resultFrame),
      ([jobs, results]) => {
        expect(readCommand(jobs)).to.equal(Command.Jobs);
        readJobs(jobs, () => undefined);
        readResults(results, () => undefined);
      },
      0.2,
    );
  });
});
