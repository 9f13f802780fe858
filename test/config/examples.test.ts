import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@tokenserver/shared';
import { generateKeyPair } from '@tokenserver/shared/curve';
import { expect } from 'chai';
import { REPO_ROOT } from '../support/processes.js';

// The per-role deployment examples must stay valid against the schema once their placeholders are filled.

describe('config/examples', () => {
  const dir = join(REPO_ROOT, 'config/examples');
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.toml'))) {
    it(`${name} is valid once its placeholder keys are filled in`, () => {
      const text = readFileSync(join(dir, name), 'utf8').replace(
        /"REPLACE[^"]*-public-key"/g,
        () => `"${generateKeyPair().publicKey}"`,
      );
      const path = join(mkdtempSync(join(tmpdir(), 'example-')), name);
      writeFileSync(path, text);
      const { config } = loadConfig(path, {});
      expect(config.broker.transport).to.equal('tcp');
      expect(config.security.curve).to.equal(true);
    });
  }
});
