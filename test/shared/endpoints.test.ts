import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRunDir } from '@tokenserver/shared';
import { expect } from 'chai';
import { BROKER_CLI } from '../support/powerhose.js';
import { RunningProcess } from '../support/processes.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('the IPC run directory', function () {
  this.timeout(30_000);
  let base: string;

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'rundir-'));
    chmodSync(base, 0o755);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('is created with mode 0700, and an existing one is tightened to 0700', () => {
    const fresh = join(base, 'a', 'run');
    ensureRunDir(fresh);
    expect(modeOf(fresh)).to.equal(0o700);
    const loose = join(base, 'loose');
    mkdirSync(loose, { mode: 0o777 });
    chmodSync(loose, 0o777);
    ensureRunDir(loose);
    expect(modeOf(loose)).to.equal(0o700);
  });

  it('holds the broker sockets in a 0700 directory the broker creates', async () => {
    const runDir = join(base, 'run');
    const broker = new RunningProcess(process.execPath, [BROKER_CLI], {
      TOKENSERVER_BROKER__TRANSPORT: 'ipc',
      TOKENSERVER_BROKER__RUN_DIR: runDir,
    });
    try {
      await broker.waitForOutput(/broker listening/);
      expect(modeOf(runDir)).to.equal(0o700);
      expect(readdirSync(runDir)).to.include.members(['powerhose-frontend.sock', 'powerhose-backend.sock']);
    } finally {
      await broker.stop('SIGKILL');
    }
  });
});
