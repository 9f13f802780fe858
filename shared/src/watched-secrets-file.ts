import { statSync } from 'node:fs';
import { FileSecrets, type NodeSecrets } from './node-secrets.js';
import type { TokenSecret } from './tokenlib.js';

// A secrets file that is re-read when it changes, so that `tokenserver node rotate-secret` takes effect in
// every worker and service node without a restart. The one implementation both sides use.

/** How often, at most, the file's metadata is checked (one stat call). */
export const SECRETS_FILE_CHECK_MS = 100;

export interface WatchedSecretsFileOptions {
  checkIntervalMs?: number;
  /** Called when a changed file cannot be read or parsed; the previous secrets stay in use. */
  onReloadError?: (error: Error) => void;
  /** Milliseconds, for tests. */
  now?: () => number;
}

export class WatchedSecretsFile implements NodeSecrets {
  private secrets: FileSecrets;
  private version: string;
  private checkedAt: number;
  private readonly checkIntervalMs: number;
  private readonly now: () => number;

  /** Reads the file now; throws SecretsError when it is missing or malformed. */
  constructor(
    readonly path: string,
    private readonly options: WatchedSecretsFileOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.checkIntervalMs = options.checkIntervalMs ?? SECRETS_FILE_CHECK_MS;
    this.version = fileVersion(path);
    this.secrets = FileSecrets.fromFile(path);
    this.checkedAt = this.now();
  }

  get(node: string): readonly TokenSecret[] {
    this.reloadIfChanged();
    return this.secrets.get(node);
  }

  private reloadIfChanged(): void {
    const now = this.now();
    if (now - this.checkedAt < this.checkIntervalMs) return;
    this.checkedAt = now;
    const version = fileVersion(this.path);
    if (version === this.version) return;
    // Recorded before parsing, so that a broken file is reported once, not on every check.
    this.version = version;
    try {
      this.secrets = FileSecrets.fromFile(this.path);
    } catch (err) {
      this.options.onReloadError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** Changes whenever the file is replaced (rename gives a new inode) or rewritten in place. */
function fileVersion(path: string): string {
  try {
    const stat = statSync(path, { bigint: true });
    return `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
  } catch {
    return 'missing';
  }
}
