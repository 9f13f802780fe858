import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CodedError } from './errors.js';
import { TokenSecret } from './tokenlib.js';

// Where the token secrets of each storage node come from, as in mozsvc.secrets:
// every source yields the node's valid secrets oldest first; the last one signs.

const NODE_SECRET_INFO = 'services.mozilla.com/mozsvc/v1/node_secret/';

export class SecretsError extends CodedError {
  readonly code: string = 'ERR_SECRETS';
}

/** No secret is known for the node a token is requested for. */
export class UnknownNodeError extends SecretsError {
  override readonly code = 'ERR_SECRETS_UNKNOWN_NODE';
}

export interface NodeSecrets {
  /** Every valid secret of the node, oldest first; empty when the node is unknown. */
  get(node: string): readonly TokenSecret[];
}

/** The newest secret of the node, which signs new tokens. */
export function signingSecret(secrets: NodeSecrets, node: string): TokenSecret {
  const list = secrets.get(node);
  const newest = list[list.length - 1];
  if (!newest) throw new UnknownNodeError(`no token secret for node ${node}`);
  return newest;
}

/** mozsvc `DerivedSecrets`: one node secret per master secret, hex(HKDF(master, node)). */
export function deriveNodeSecret(masterSecret: string, node: string): string {
  const size = Math.floor(masterSecret.length / 2);
  return Buffer.from(hkdfSync('sha256', masterSecret, Buffer.alloc(0), NODE_SECRET_INFO + node, size)).toString('hex');
}

/** Splits a `master_secret` setting: several secrets are separated by whitespace, oldest first. */
export function splitMasterSecrets(masterSecrets: string | readonly string[]): string[] {
  const list = typeof masterSecrets === 'string' ? masterSecrets.split(/\s+/) : [...masterSecrets];
  const secrets = list.filter((secret) => secret.length > 0);
  if (secrets.length === 0) throw new SecretsError('no master secret given');
  if (secrets.some((secret) => secret.length < 2)) throw new SecretsError('a master secret is too short');
  return secrets;
}

/** Per-node secrets derived from master secrets; each node's list is derived once and kept. */
export class DerivedSecrets implements NodeSecrets {
  private readonly masters: readonly string[];
  private readonly cache = new Map<string, readonly TokenSecret[]>();

  constructor(
    masterSecrets: string | readonly string[],
    private readonly maxNodes = 10000,
  ) {
    this.masters = splitMasterSecrets(masterSecrets);
  }

  get(node: string): readonly TokenSecret[] {
    let secrets = this.cache.get(node);
    if (!secrets) {
      secrets = this.masters.map((master) => new TokenSecret(deriveNodeSecret(master, node)));
      if (this.cache.size >= this.maxNodes) this.cache.clear();
      this.cache.set(node, secrets);
    }
    return secrets;
  }
}

/** The same secrets for every node (syncstorage-rs style: the master secret signs directly). */
export class FixedSecrets implements NodeSecrets {
  private readonly secrets: readonly TokenSecret[];

  constructor(secrets: string | readonly string[]) {
    this.secrets = splitMasterSecrets(secrets).map((secret) => new TokenSecret(secret));
  }

  get(): readonly TokenSecret[] {
    return this.secrets;
  }
}

export interface TimestampedSecret {
  timestamp: number;
  secret: string;
}

/** mozsvc `Secrets`: lines `node_url,ts:secret[,ts:secret...]`, each node's secrets sorted by timestamp. */
export class FileSecrets implements NodeSecrets {
  private readonly nodes: ReadonlyMap<string, readonly TokenSecret[]>;

  constructor(entries: ReadonlyMap<string, readonly TimestampedSecret[]>) {
    const nodes = new Map<string, readonly TokenSecret[]>();
    for (const [node, list] of entries) {
      const sorted = [...list].sort((a, b) => a.timestamp - b.timestamp);
      nodes.set(
        node,
        sorted.map((entry) => new TokenSecret(entry.secret)),
      );
    }
    this.nodes = nodes;
  }

  static fromFile(path: string): FileSecrets {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new SecretsError(`cannot read secrets file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
        cause: err,
      });
    }
    return new FileSecrets(parseSecretsFile(text, path));
  }

  get(node: string): readonly TokenSecret[] {
    return this.nodes.get(node) ?? [];
  }
}

/** Parses the secrets-file format; blank lines and lines starting with `#` are skipped. */
export function parseSecretsFile(text: string, source = 'secrets file'): Map<string, TimestampedSecret[]> {
  const nodes = new Map<string, TimestampedSecret[]>();
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source} line ${index + 1}`;
    const [node, ...fields] = line.split(',').map((field) => field.trim());
    if (!node || fields.length === 0) throw new SecretsError(`${where}: expected node_url,ts:secret[,ts:secret...]`);
    if (nodes.has(node)) throw new SecretsError(`${where}: duplicate node ${node}`);
    nodes.set(
      node,
      fields.map((field) => parseTimestampedSecret(field, where)),
    );
  });
  return nodes;
}

function parseTimestampedSecret(field: string, where: string): TimestampedSecret {
  const parts = field.split(':');
  const [timestamp, secret] = parts;
  if (parts.length !== 2 || !timestamp || !secret || !/^\d{1,15}$/.test(timestamp)) {
    throw new SecretsError(`${where}: expected ts:secret with an integer timestamp`);
  }
  return { timestamp: Number(timestamp), secret };
}

/** The metrics ids the token server hands out and logs instead of raw FxA ids. */
export class MetricsHasher {
  private readonly key: KeyObject;

  constructor(secret: string) {
    if (secret.length === 0) throw new SecretsError('metrics secret is empty');
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** The full hex HMAC of the FxA uid (an email's local part is used, as the Python server does). */
  fullFxaUidHash(fxaUidOrEmail: string): string {
    const at = fxaUidOrEmail.indexOf('@');
    return this.hmacHex(at === -1 ? fxaUidOrEmail : fxaUidOrEmail.slice(0, at));
  }

  /** `hashed_fxa_uid`: the first 32 hex characters of the full hash. */
  hashedFxaUid(fxaUidOrEmail: string): string {
    return this.fullFxaUidHash(fxaUidOrEmail).slice(0, 32);
  }

  /** `hashed_device_id`: HMAC of hashed_fxa_uid followed by the device id, or "none" without one. */
  hashedDeviceId(hashedFxaUid: string, deviceId?: string | null): string {
    return this.hmacHex(hashedFxaUid + (deviceId ?? 'none')).slice(0, 32);
  }

  private hmacHex(value: string): string {
    return createHmac('sha256', this.key).update(value, 'utf8').digest('hex');
  }
}
