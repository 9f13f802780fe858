import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { parseSecretsFile, SecretsError, type TimestampedSecret } from '@tokenserver/shared';

// `tokenserver node rotate-secret`: gives one node a new secret in the [tokens] secrets_file. The file is replaced
// atomically (temporary file + rename), so the workers and nodes that watch it never read half of it.

export interface RotateOptions {
  /** Keep the node's current secrets valid (graceful rotation); by default they are dropped (compromise). */
  keepOld: boolean;
  /** Give a node that has no line in the file its first secret; otherwise such a node is refused (a typo). */
  add: boolean;
  /** Milliseconds, for tests. */
  now?: number;
}

export interface RotationResult {
  /** How many secrets the node now has (the newest signs). */
  validSecrets: number;
  /** The node had no line in the file before. */
  addedNode: boolean;
}

export function rotateNodeSecret(path: string, node: string, options: RotateOptions): RotationResult {
  const release = lockSecretsFile(path);
  try {
    const text = readSecretsText(path);
    const nodes = parseSecretsFile(text, path);
    const existing = nodes.get(node) ?? [];
    if (existing.length === 0 && !options.add) throw new UnknownSecretsNodeError(path, node, [...nodes.keys()]);
    const fresh = { timestamp: nextTimestamp(existing, options.now ?? Date.now()), secret: newSecret() };
    const secrets = options.keepOld ? [...existing, fresh] : [fresh];
    replaceFile(path, withNodeLine(text, node, secrets));
    return { validSecrets: secrets.length, addedNode: existing.length === 0 };
  } finally {
    release();
  }
}

/** The node has no line in the secrets file: most likely a mistyped URL, so nothing is written. */
export class UnknownSecretsNodeError extends SecretsError {
  constructor(path: string, node: string, known: readonly string[]) {
    const similar = known.find((candidate) => sameNodeLoosely(candidate, node));
    super(`node ${node} has no secret in ${path}${similar === undefined ? '' : ` (did you mean ${similar}?)`}`);
  }
}

/** Equal but for case and trailing slashes: the near misses an operator makes when typing a node URL. */
function sameNodeLoosely(a: string, b: string): boolean {
  const loose = (url: string) => url.replace(/\/+$/, '').toLowerCase();
  return loose(a) === loose(b);
}

function newSecret(): string {
  return randomBytes(32).toString('hex');
}

/** Unix seconds, above every timestamp the node already has (nodes sort its secrets by timestamp). */
function nextTimestamp(existing: readonly TimestampedSecret[], nowMs: number): number {
  const newest = Math.max(0, ...existing.map((entry) => entry.timestamp));
  return Math.max(Math.floor(nowMs / 1000), newest + 1);
}

/** The file's text with the node's line replaced (comments and other lines untouched), or appended. */
export function withNodeLine(text: string, node: string, secrets: readonly TimestampedSecret[]): string {
  const line = [node, ...secrets.map((entry) => `${entry.timestamp}:${entry.secret}`)].join(',');
  const lines = text.split('\n');
  const index = lines.findIndex((candidate) => candidate.split(',')[0]?.trim() === node);
  if (index >= 0) {
    lines[index] = line;
    return lines.join('\n');
  }
  const body = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return `${body}${line}\n`;
}

function readSecretsText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SecretsError(`cannot read secrets file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

function replaceFile(path: string, text: string): void {
  const mode = statSync(path).mode & 0o777;
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, text, { mode, flag: 'wx', flush: true });
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}

/** Two rotations at once would each write the file from the same original: the second is refused instead. */
function lockSecretsFile(path: string): () => void {
  const lock = `${path}.lock`;
  try {
    closeSync(openSync(lock, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new SecretsError(`${lock} exists: another rotation is running (remove the file if it is stale)`);
  }
  return () => unlinkSync(lock);
}
