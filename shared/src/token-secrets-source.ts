import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TokensConfig } from './config-schema.js';
import { DerivedSecrets, FixedSecrets, type NodeSecrets, SecretsError } from './node-secrets.js';
import { WatchedSecretsFile } from './watched-secrets-file.js';

// Chooses where token secrets come from: [tokens] secrets_file, else [tokens] master_secret,
// else a master secret generated once into the run directory. There is no built-in default.

export const GENERATED_MASTER_SECRET_FILE = 'token_master_secret';
export const GENERATED_METRICS_SECRET_FILE = 'token_metrics_secret';

export interface SecretFile {
  secret: string;
  path: string;
  /** True when this call generated the file. */
  created: boolean;
}

export interface TokenSecrets {
  nodeSecrets: NodeSecrets;
  metricsSecret: string;
  /** Where the signing secrets come from. */
  source: 'secrets_file' | 'master_secret' | 'generated';
  /** Secret files read from or written to the run directory; say so when `created`. */
  generated: SecretFile[];
}

export interface LoadTokenSecretsOptions {
  /** Generate missing secret files (true in the process that starts the stack, false in workers). */
  create?: boolean;
  /** A changed secrets_file could not be read or parsed (the previous secrets stay in use). */
  onSecretsFileError?: (error: Error) => void;
}

export function loadTokenSecrets(
  tokens: TokensConfig,
  runDir: string,
  options: LoadTokenSecretsOptions = {},
): TokenSecrets {
  const create = options.create ?? true;
  const generated: SecretFile[] = [];
  const fromRunDir = (name: string): string => {
    const file = loadOrCreateSecretFile(join(runDir, name), { create });
    generated.push(file);
    return file.secret;
  };
  if (tokens.secrets_file !== undefined && tokens.master_secret !== undefined) {
    throw new SecretsError('[tokens] set either secrets_file or master_secret, not both');
  }
  let nodeSecrets: NodeSecrets;
  let source: TokenSecrets['source'];
  if (tokens.secrets_file !== undefined) {
    // Watched: `tokenserver node rotate-secret` replaces the file and every process picks the change up.
    nodeSecrets = new WatchedSecretsFile(
      tokens.secrets_file,
      options.onSecretsFileError ? { onReloadError: options.onSecretsFileError } : {},
    );
    source = 'secrets_file';
  } else {
    const master = tokens.master_secret ?? fromRunDir(GENERATED_MASTER_SECRET_FILE);
    nodeSecrets = tokens.derive_node_secrets ? new DerivedSecrets(master) : new FixedSecrets(master);
    source = tokens.master_secret === undefined ? 'generated' : 'master_secret';
  }
  const metricsSecret = tokens.metrics_secret ?? fromRunDir(GENERATED_METRICS_SECRET_FILE);
  return { nodeSecrets, metricsSecret, source, generated };
}

/**
 * Reads a secret from `path`, or (with `create`) generates 32 random bytes as hex into it with
 * mode 0600. Safe against concurrent callers: the file appears atomically, complete, once.
 */
export function loadOrCreateSecretFile(path: string, { create = true, bytes = 32 } = {}): SecretFile {
  const existing = readSecretFile(path);
  if (existing !== undefined) return { secret: existing, path, created: false };
  if (!create) throw new SecretsError(`no token secret is configured and ${path} does not exist`);
  const secret = randomBytes(bytes).toString('hex');
  if (createFileOnce(path, `${secret}\n`)) return { secret, path, created: true };
  const winner = readSecretFile(path);
  if (winner === undefined) throw new SecretsError(`${path} vanished while being created`);
  return { secret: winner, path, created: false };
}

/**
 * Writes `text` to `path` (mode 0600, parent directories 0700) unless the file exists; returns whether this call
 * wrote it. The file appears atomically and complete (a temporary file hard-linked into place), so concurrent
 * processes agree on one content: the losers read the winner's.
 */
export function createFileOnce(path: string, text: string): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    unlinkSync(temporary);
  }
}

function readSecretFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretsError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  }
  const secret = text.trim();
  if (secret.length < 16) throw new SecretsError(`${path} does not hold a secret`);
  return secret;
}
