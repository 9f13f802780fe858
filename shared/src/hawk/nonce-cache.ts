// Remembers the Hawk nonces seen within the timestamp window, so that a captured request cannot
// be replayed while its timestamp is still accepted. Bounded: past `maxEntries` the oldest
// entries go first, so size it above the peak request rate × the window.

export interface NonceCacheOptions {
  /** How long a nonce is remembered, in milliseconds: twice the timestamp skew covers the window. */
  ttlMs: number;
  /** Most nonces kept (default 100 000). */
  maxEntries?: number;
  /** Current time in milliseconds, for tests. */
  now?: () => number;
}

export interface NonceStore {
  /** Records the nonce and returns true, or returns false when it was already seen. */
  add(key: string, nonce: string): boolean;
}

export class NonceCache implements NonceStore {
  // Insertion order is expiry order, since every entry lives for the same ttl.
  private readonly expiries = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: NonceCacheOptions) {
    if (!(options.ttlMs > 0)) throw new RangeError('nonce cache ttlMs must be positive');
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.expiries.size;
  }

  add(key: string, nonce: string): boolean {
    const now = this.now();
    this.evictExpired(now);
    // The key is the token's derived Hawk key: nonces are per credentials, as in the Hawk spec.
    const entry = `${key}\n${nonce}`;
    if (this.expiries.has(entry)) return false;
    if (this.expiries.size >= this.maxEntries) {
      const oldest = this.expiries.keys().next();
      if (!oldest.done) this.expiries.delete(oldest.value);
    }
    this.expiries.set(entry, now + this.ttlMs);
    return true;
  }

  private evictExpired(now: number): void {
    for (const [entry, expiresAt] of this.expiries) {
      if (expiresAt > now) return;
      this.expiries.delete(entry);
    }
  }
}
