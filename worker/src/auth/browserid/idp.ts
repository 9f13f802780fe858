import { UntrustedIssuerError, VerifierUnavailableError } from '../errors.js';
import type { KeyFetchStats } from '../key-fetch-stats.js';
import { KeyCache, type VerificationKey } from './keys.js';

// IdP discovery: https://<domain>/.well-known/browserid, cached per domain (failures for a
// shorter time), concurrent lookups of one domain share a single fetch.
// As PyBrowserID does, only an IdP that gives no answer (unreachable, reset, timed out) makes the verifier
// unavailable (503); any answer that is not a usable support document (not 200, not JSON, no usable key, too
// large) makes the issuer untrusted (401 invalid-credentials).

export type SupportDocument =
  | { readonly kind: 'key'; readonly key: VerificationKey }
  | { readonly kind: 'authority'; readonly authority: string }
  | { readonly kind: 'disabled' };

export interface IdpOptions {
  /** Domain → base URL replacing https://<domain> (the only way to use plain http). */
  issuerUrls?: Readonly<Record<string, string>>;
  timeoutMs: number;
  cacheTtlMs: number;
  negativeCacheTtlMs: number;
  maxEntries: number;
  /** Most `authority` hops followed. */
  maxDelegations: number;
  /** Largest support document read, in bytes. */
  maxDocumentBytes?: number;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
  /** Where fetches and cache hits are counted. */
  stats?: KeyFetchStats;
}

interface CacheEntry {
  readonly document: Promise<SupportDocument>;
  expiresAt: number;
}

const DOMAIN = /^[a-z0-9_.-]+(:\d{1,5})?$/;
const WELL_KNOWN = '/.well-known/browserid';

export class IdpKeyResolver {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly issuerUrls: ReadonlyMap<string, string>;
  private readonly keys: KeyCache;
  private readonly now: () => number;
  private fetches = 0;

  constructor(private readonly options: IdpOptions) {
    this.issuerUrls = new Map(
      Object.entries(options.issuerUrls ?? {}).map(([domain, url]) => [domain.toLowerCase(), url.replace(/\/+$/, '')]),
    );
    this.keys = new KeyCache(options.maxEntries);
    this.now = options.now ?? Date.now;
  }

  /** Support documents fetched so far (cache misses). */
  get fetchCount(): number {
    return this.fetches;
  }

  /** The key that signs certificates for `issuer`, following `authority` delegation. */
  async issuerKey(issuer: string): Promise<VerificationKey> {
    let domain = issuer;
    const seen = new Set<string>();
    for (;;) {
      const document = await this.supportDocument(domain);
      if (document.kind === 'key') return document.key;
      if (document.kind === 'disabled') throw new UntrustedIssuerError(`BrowserID is disabled for ${domain}`);
      seen.add(domain);
      if (seen.size > this.options.maxDelegations || seen.has(document.authority)) {
        throw new UntrustedIssuerError(`too many or circular delegations from ${issuer}`);
      }
      domain = document.authority;
    }
  }

  /** Whether the support document of `domain` delegates, directly or not, to `issuer`. */
  async delegatesTo(domain: string, issuer: string): Promise<boolean> {
    const seen = new Set<string>();
    for (let current = domain; seen.size <= this.options.maxDelegations && !seen.has(current); ) {
      let document: SupportDocument;
      try {
        document = await this.supportDocument(current);
      } catch (err) {
        if (err instanceof UntrustedIssuerError) return false;
        throw err;
      }
      if (document.kind !== 'authority') return false;
      if (document.authority === issuer) return true;
      seen.add(current);
      current = document.authority;
    }
    return false;
  }

  /** The parsed support document of `domain`, from the cache when fresh. */
  supportDocument(domain: string): Promise<SupportDocument> {
    const name = domain.toLowerCase();
    const cached = this.cache.get(name);
    if (cached && cached.expiresAt > this.now()) {
      if (this.options.stats) this.options.stats.idpCacheHits++;
      return cached.document;
    }
    if (cached) this.cache.delete(name);
    if (this.cache.size >= this.options.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    const entry: CacheEntry = { document: this.fetchDocument(name), expiresAt: Number.POSITIVE_INFINITY };
    entry.document.then(
      () => {
        entry.expiresAt = this.now() + this.options.cacheTtlMs;
      },
      () => {
        entry.expiresAt = this.now() + this.options.negativeCacheTtlMs;
        if (this.options.stats) this.options.stats.idpFetchFailures++;
      },
    );
    this.cache.set(name, entry);
    return entry.document;
  }

  /** Forgets every cached document (keys imported stay cached). */
  clear(): void {
    this.cache.clear();
  }

  documentUrl(domain: string): string {
    if (!DOMAIN.test(domain)) throw new UntrustedIssuerError('issuer is not a domain name');
    return (this.issuerUrls.get(domain) ?? `https://${domain}`) + WELL_KNOWN;
  }

  private async fetchDocument(domain: string): Promise<SupportDocument> {
    const url = this.documentUrl(domain);
    this.fetches++;
    if (this.options.stats) this.options.stats.idpFetches++;
    const text = await this.download(url);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new UntrustedIssuerError(`${url} is not JSON`, { cause: err });
    }
    return this.interpret(body, url);
  }

  private async download(url: string): Promise<string> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const response = await fetch(url, { redirect: 'manual', signal, headers: { accept: 'application/json' } });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new UntrustedIssuerError(`${url} answered ${response.status}: not a BrowserID IdP`);
      }
      return await readLimited(response, this.options.maxDocumentBytes ?? 65536);
    } catch (err) {
      if (err instanceof UntrustedIssuerError || err instanceof VerifierUnavailableError) throw err;
      const reason = signal.aborted ? 'timed out' : 'failed';
      throw new VerifierUnavailableError(`fetching ${url} ${reason}`, { cause: err });
    }
  }

  private interpret(body: unknown, url: string): SupportDocument {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new UntrustedIssuerError(`${url} is not a JSON object`);
    }
    const document = body as Record<string, unknown>;
    if (document.disabled === true) return { kind: 'disabled' };
    if (typeof document.authority === 'string') {
      const authority = document.authority.toLowerCase();
      if (!DOMAIN.test(authority)) throw new UntrustedIssuerError(`${url} names an invalid authority`);
      return { kind: 'authority', authority };
    }
    try {
      return { kind: 'key', key: this.keys.import(document['public-key']) };
    } catch (err) {
      throw new UntrustedIssuerError(`${url} has no usable public key`, { cause: err });
    }
  }
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw new UntrustedIssuerError('support document is too large');
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new UntrustedIssuerError('support document is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
