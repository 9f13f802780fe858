import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, resolveConfigPath } from '@tokenserver/shared';
import { expect } from 'chai';
import { BROKER_CLI } from '../support/powerhose.js';
import { runToExit } from '../support/processes.js';

const DEFAULT = 'config/default.toml';

function writeConfig(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'test.toml');
  writeFileSync(path, text);
  return path;
}

describe('configuration', () => {
  it('loads config/default.toml with every section valid', () => {
    const { config } = loadConfig(DEFAULT, {});
    expect(config.broker.transport).to.equal('ipc');
    expect(config.web.port).to.equal(8000);
  });

  it('chooses --config, then TOKENSERVER_CONFIG, then the default', () => {
    expect(resolveConfigPath('a.toml', { TOKENSERVER_CONFIG: 'b.toml' })).to.equal('a.toml');
    expect(resolveConfigPath(undefined, { TOKENSERVER_CONFIG: 'b.toml' })).to.equal('b.toml');
    expect(resolveConfigPath(undefined, {})).to.equal(DEFAULT);
  });

  it('overrides any key from TOKENSERVER_<SECTION>__<KEY>, parsing numbers and keeping strings raw', () => {
    const { config } = loadConfig(DEFAULT, {
      TOKENSERVER_BROKER__TRANSPORT: 'tcp',
      TOKENSERVER_WEB__PORT: '8001',
      TOKENSERVER_WEB__HOST: '127.0.0.2',
      TOKENSERVER_CONFIG: 'ignored-here',
    });
    expect(config.broker.transport).to.equal('tcp');
    expect(config.web.port).to.equal(8001);
    expect(config.web.host).to.equal('127.0.0.2');
  });

  const failures: Array<[string, string, NodeJS.ProcessEnv, RegExp]> = [
    [
      'an unknown key in the file',
      '[broker]\ntransport = "ipc"\nbogus = 1\n',
      {},
      /^config: broker\.bogus: unknown key \(from .*test\.toml\)$/,
    ],
    [
      'an unknown section in the file',
      '[broker]\ntransport = "ipc"\n[nope]\nx = 1\n',
      {},
      /^config: nope: unknown key/,
    ],
    [
      'a wrong type in the file',
      '[broker]\ntransport = "ipc"\nmax_queue = "lots"\n',
      {},
      /^config: broker\.max_queue: .*number.* \(from .*test\.toml\)$/,
    ],
    ['a missing required value', '[web]\nport = 1\n', {}, /^config: broker: required value is missing/],
    [
      'a wrong value from the environment',
      '[broker]\ntransport = "ipc"\n',
      { TOKENSERVER_BROKER__TRANSPORT: 'udp' },
      /^config: broker\.transport: .* \(from environment TOKENSERVER_BROKER__TRANSPORT\)$/,
    ],
    [
      'a nice value out of range from the environment',
      '[broker]\ntransport = "ipc"\n',
      { TOKENSERVER_WEB__NICE: '-21' },
      /^config: web\.nice: .*-20.* \(from environment TOKENSERVER_WEB__NICE\)$/,
    ],
    [
      'an unknown key from the environment',
      '[broker]\ntransport = "ipc"\n',
      { TOKENSERVER_WEB__PROT: '80' },
      /^config: web\.prot: unknown key \(from environment TOKENSERVER_WEB__PROT\)$/,
    ],
    [
      'a number that is not JSON',
      '[broker]\ntransport = "ipc"\n',
      { TOKENSERVER_WEB__PORT: 'eighty' },
      /^config: web\.port: expected number as JSON/,
    ],
    ['TOML syntax errors', '[broker\n', {}, /^config: .*test\.toml is not valid TOML/],
  ];
  for (const [what, text, env, message] of failures) {
    it(`names the key and its source for ${what}`, () => {
      const path = writeConfig(text);
      expect(() => loadConfig(path, env)).to.throw(ConfigError, message);
    });
  }

  it('makes a CLI exit 2 with one line and no stack trace', async () => {
    const path = writeConfig('[broker]\ntransport = "ipc"\nbogus = 1\n');
    const result = await runToExit(process.execPath, [BROKER_CLI, '--config', path]);
    expect(result.code).to.equal(2);
    expect(result.stderr.trim().split('\n')).to.have.length(1);
    expect(result.stderr).to.match(/broker\.bogus: unknown key/);
    const fromEnv = await runToExit(process.execPath, [BROKER_CLI], { TOKENSERVER_BROKER__MAX_QUEUE: '-5' });
    expect(fromEnv.code).to.equal(2);
    expect(fromEnv.stderr).to.match(/broker\.max_queue: .*TOKENSERVER_BROKER__MAX_QUEUE/);
    const missing = await runToExit(process.execPath, [BROKER_CLI, '--config', '/nonexistent.toml']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/cannot read \/nonexistent\.toml: ENOENT/);
  });
});
