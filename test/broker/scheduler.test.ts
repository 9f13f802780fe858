import { type Job, Scheduler, type WorkerRecord } from '@tokenserver/broker';
import { createLogger, Status } from '@tokenserver/shared';
import { expect } from 'chai';

interface Reply {
  job: number;
  status: Status;
}

/** A scheduler wired to a sink that records what the broker would send. */
function setup(
  options: Partial<{ maxQueue: number; maxAttempts: number; workerExpiryMs: number; noWorkerGraceMs: number }> = {},
) {
  const dispatched: Array<{ worker: string; job: Job }> = [];
  const replies: Reply[] = [];
  const scheduler = new Scheduler(
    { maxQueue: 10, maxAttempts: 2, workerExpiryMs: 300, noWorkerGraceMs: 0, ...options },
    {
      dispatch: (worker: WorkerRecord, job: Job) => dispatched.push({ worker: worker.key, job }),
      reply: (job: Job, status: Status) => replies.push({ job: job.clientJobId, status }),
    },
    createLogger('broker', { log: { level: 'silent', format: 'json' } }),
  );
  const client = Buffer.from('client');
  const addWorker = (key: string, credit = 1, kinds = ['echo'], now = 0) =>
    scheduler.ready(Buffer.from(key), key, { credit, kinds, name: key }, now);
  const submit = (id: number, { kind = 'echo', deadline = 10_000, now = 0 } = {}) =>
    scheduler.submit(client, 'client', id, kind, deadline, Buffer.from(String(id)), now);
  const jobOf = (clientJobId: number) =>
    dispatched.filter((d) => d.job.clientJobId === clientJobId).at(-1) as { worker: string; job: Job };
  return { scheduler, dispatched, replies, addWorker, submit, jobOf };
}

describe('Scheduler', () => {
  it('dispatches to the least recently used worker with free credit', () => {
    const { dispatched, addWorker, submit } = setup();
    addWorker('a', 2);
    addWorker('b', 2);
    for (let id = 1; id <= 4; id++) submit(id);
    expect(dispatched.map((d) => d.worker)).to.deep.equal(['a', 'b', 'a', 'b']);
  });

  it('never queues behind a busy worker while another has credit', () => {
    const { dispatched, addWorker, submit } = setup();
    addWorker('a', 1);
    addWorker('b', 5);
    for (let id = 1; id <= 4; id++) submit(id);
    expect(dispatched.map((d) => d.worker)).to.deep.equal(['a', 'b', 'b', 'b']);
  });

  it('routes by kind and answers NO_WORKER when no live worker serves the kind', () => {
    const { dispatched, replies, addWorker, submit } = setup();
    addWorker('a', 1, ['sign']);
    submit(1, { kind: 'sign' });
    submit(2, { kind: 'verify' });
    expect(dispatched.map((d) => d.worker)).to.deep.equal(['a']);
    expect(replies).to.deep.equal([{ job: 2, status: Status.NoWorker }]);
  });

  it('queues when every worker is full, answers BUSY past max_queue, and serves the queue as credit frees', () => {
    const { scheduler, dispatched, replies, addWorker, submit, jobOf } = setup({ maxQueue: 2 });
    addWorker('a', 1);
    for (let id = 1; id <= 4; id++) submit(id);
    expect(replies).to.deep.equal([{ job: 4, status: Status.Busy }]);
    scheduler.done('a', jobOf(1).job.id, Status.Ok, Buffer.alloc(0), 1);
    scheduler.refill('a', 1);
    expect(dispatched.map((d) => d.job.clientJobId)).to.deep.equal([1, 2]);
    expect(replies.at(-1)).to.deep.equal({ job: 1, status: Status.Ok });
  });

  it('answers EXPIRED for a job already past its deadline, and for queued jobs when their deadline passes', () => {
    const { scheduler, replies, addWorker, submit } = setup();
    addWorker('a', 1);
    submit(1, { deadline: 0, now: 5 });
    submit(2, { deadline: 1000 });
    submit(3, { deadline: 50 });
    scheduler.touch('a', 100);
    scheduler.expire(100);
    expect(replies).to.deep.equal([
      { job: 1, status: Status.Expired },
      { job: 3, status: Status.Expired },
    ]);
  });

  it('gives the jobs of a dropped worker to another worker, at most max_attempts times, one reply each', () => {
    const { scheduler, dispatched, replies, addWorker, submit, jobOf } = setup({ maxAttempts: 2 });
    addWorker('a', 1);
    addWorker('b', 1);
    submit(1);
    const first = jobOf(1).worker;
    const second = first === 'a' ? 'b' : 'a';
    scheduler.dropWorker(first, 10);
    expect(jobOf(1).worker).to.equal(second);
    addWorker('c', 1, ['echo'], 10);
    scheduler.dropWorker(second, 20);
    expect(dispatched).to.have.length(2);
    expect(replies).to.deep.equal([{ job: 1, status: Status.WorkerLost }]);
  });

  it('drops silent workers on expire and requeues their jobs', () => {
    const { scheduler, addWorker, submit, jobOf } = setup({ workerExpiryMs: 300 });
    addWorker('a', 1, ['echo'], 0);
    addWorker('b', 1, ['echo'], 0);
    submit(1);
    const holder = jobOf(1).worker;
    const other = holder === 'a' ? 'b' : 'a';
    scheduler.touch(other, 250);
    expect(scheduler.expire(400)).to.deep.equal([holder]);
    expect(jobOf(1).worker).to.equal(other);
  });

  it('drops a late reply from a worker that no longer holds the job', () => {
    const { scheduler, replies, addWorker, submit, jobOf } = setup();
    addWorker('a', 1);
    addWorker('b', 1);
    submit(1);
    const { worker: first, job } = jobOf(1);
    scheduler.dropWorker(first, 1);
    addWorker(first, 1, ['echo'], 1); // comes back and answers the old job
    scheduler.done(first, job.id, Status.Ok, Buffer.from('late'), 2);
    expect(replies).to.deep.equal([]);
    scheduler.done(jobOf(1).worker, job.id, Status.Ok, Buffer.from('on time'), 3);
    expect(replies).to.deep.equal([{ job: 1, status: Status.Ok }]);
  });

  it('skips a leaving worker and answers BUSY to everything once shutdown began', () => {
    const { scheduler, dispatched, replies, addWorker, submit } = setup();
    addWorker('a', 5);
    addWorker('b', 5);
    scheduler.leaving('a');
    submit(1);
    scheduler.accepting = false;
    submit(2);
    expect(dispatched.map((d) => d.worker)).to.deep.equal(['b']);
    expect(replies).to.deep.equal([{ job: 2, status: Status.Busy }]);
    expect(scheduler.stats()).to.deep.equal({ liveWorkers: 1, pausedWorkers: 0, queued: 0, inFlight: 1 });
  });

  it('holds jobs while the last worker of their kind restarts, and answers NO_WORKER once the grace period is over', () => {
    const { scheduler, dispatched, replies, addWorker, submit } = setup({ noWorkerGraceMs: 1000 });
    addWorker('a', 1, ['echo'], 0);
    scheduler.dropWorker('a', 100); // killed
    submit(1, { now: 200 });
    expect(replies).to.deep.equal([]);
    addWorker('b', 1, ['echo'], 300); // its replacement registers
    expect(dispatched.map((d) => [d.worker, d.job.clientJobId])).to.deep.equal([['b', 1]]);
    scheduler.dropWorker('b', 400);
    submit(2, { now: 500 });
    scheduler.expire(1300); // still within 1 s of losing 'b'
    expect(replies.map((r) => r.job)).to.deep.equal([]);
    scheduler.expire(1500);
    expect(replies).to.deep.equal([
      { job: 1, status: Status.NoWorker },
      { job: 2, status: Status.NoWorker },
    ]);
    submit(3, { now: 1600 });
    expect(replies.at(-1)).to.deep.equal({ job: 3, status: Status.NoWorker });
  });

  it('skips a paused worker but still counts it live: jobs queue instead of failing, and run when it resumes', () => {
    const { scheduler, dispatched, replies, addWorker, submit } = setup();
    addWorker('a', 5);
    scheduler.pause('a');
    submit(1);
    expect(dispatched).to.deep.equal([]);
    expect(replies).to.deep.equal([]);
    expect(scheduler.stats()).to.include({ liveWorkers: 1, pausedWorkers: 1, queued: 1 });
    addWorker('a', 5, ['echo'], 1); // READY again: resumed
    expect(dispatched.map((d) => d.worker)).to.deep.equal(['a']);
  });
});
