import { readdirSync } from 'node:fs';
import { expect } from 'chai';
import { applyNice, NiceNotAppliedError } from '../../web/src/process-nice.js';
import { procStat, runToExit } from '../support/processes.js';
import { TestStack, WEB_MAIN } from '../support/stack.js';

// [web] nice: the web front's threads get the configured scheduling priority, and one that cannot be applied stops
// the web front at start-up with a message.

/** The nice value of every thread of process `pid`. */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => procStat(pid, Number(tid))?.nice ?? Number.NaN);
}

function systemError(code: string): Error {
  return Object.assign(new Error(`uv_os_setpriority returned ${code}`), { info: { code } });
}

describe('applyNice', () => {
  it('leaves the process alone at 0', () => {
    const calls: number[] = [];
    applyNice(0, (tid) => calls.push(tid), [1, 2]);
    expect(calls).to.deep.equal([]);
  });

  it('sets every thread, skipping one that has ended', () => {
    const set: Array<[number, number]> = [];
    applyNice(
      -10,
      (tid, nice) => {
        if (tid === 2) throw systemError('ESRCH');
        set.push([tid, nice]);
      },
      [1, 2, 3],
    );
    expect(set).to.deep.equal([
      [1, -10],
      [3, -10],
    ]);
  });

  it('throws NiceNotAppliedError naming the value and the capability when the kernel refuses', () => {
    const refuse = () => {
      throw systemError('EACCES');
    };
    expect(() => applyNice(-10, refuse, [1]))
      .to.throw(
        NiceNotAppliedError,
        /^cannot set \[web\] nice = -10: .*EACCES.* \(a negative nice needs root or CAP_SYS_NICE\)$/,
      )
      .with.property('code', 'ERR_NICE_NOT_APPLIED');
  });
});

describe('the web front with [web] nice', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await TestStack.start({ TOKENSERVER_WEB__NICE: '5' });
  });

  after(async () => {
    await stack?.stop();
  });

  it('runs every web front thread at that nice value, and the workers at their own', async () => {
    expect((await stack.get('/__heartbeat__')).status).to.equal(200);
    const web = threadNices(stack.web.child.pid as number);
    expect(web.length).to.be.greaterThan(1);
    expect(
      web.every((nice) => nice === 5),
      `web threads' nice values: ${web}`,
    ).to.equal(true);
    const ownNice = threadNices(process.pid)[0];
    expect(threadNices(stack.workers.child.pid as number)).to.include(ownNice);
  });

  it('stops with a message and exit code 1 when it may not raise its priority', async () => {
    const env = { ...stack.webEnv, TOKENSERVER_WEB__NICE: '-5' };
    // As root any nice is allowed: run the web front as nobody, without CAP_SYS_NICE.
    const asRoot = process.getuid?.() === 0;
    const [command, args] = asRoot
      ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, WEB_MAIN]]
      : [process.execPath, [WEB_MAIN]];
    const result = await runToExit(command as string, args as string[], env);
    expect(result.code, result.stderr).to.equal(1);
    expect(result.stderr.trim()).to.match(
      /^tokenserver-web: cannot set \[web\] nice = -5: .*\(a negative nice needs root or CAP_SYS_NICE\)$/,
    );
  });
});
