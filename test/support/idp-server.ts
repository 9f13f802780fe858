import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// A loopback BrowserID IdP: serves /<domain>/.well-known/browserid for any number of domains
// (map each with `issuer_urls`), and can go down, be slow, answer junk, or delegate.

export type IdpMode = 'up' | 'down' | 'junk' | 'no-key' | 'error' | 'not-found' | 'redirect';

export class IdpServer {
  mode: IdpMode = 'up';
  /** Delay before answering, in milliseconds. */
  delayMs = 0;
  private readonly documents = new Map<string, unknown>();
  private readonly fetches = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<IdpServer> {
    let idp: IdpServer | undefined;
    const server = createServer((req, res) => idp?.handle(req.url ?? '/', req.socket, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    idp = new IdpServer(server, (server.address() as AddressInfo).port);
    return idp;
  }

  baseUrl(domain: string): string {
    return `http://127.0.0.1:${this.port}/${domain}`;
  }

  /** The `[browserid] issuer_urls` table pointing the given domains here. */
  issuerUrls(...domains: string[]): Record<string, string> {
    return Object.fromEntries(domains.map((domain) => [domain, this.baseUrl(domain)]));
  }

  setKey(domain: string, publicKey: unknown): void {
    this.documents.set(domain, { 'public-key': publicKey, authentication: '/auth', provisioning: '/prov' });
  }

  setAuthority(domain: string, authority: string): void {
    this.documents.set(domain, { authority });
  }

  setDocument(domain: string, document: unknown): void {
    this.documents.set(domain, document);
  }

  fetchCount(domain?: string): number {
    if (domain !== undefined) return this.fetches.get(domain) ?? 0;
    let total = 0;
    for (const count of this.fetches.values()) total += count;
    return total;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(url: string, socket: { destroy(): void }, res: import('node:http').ServerResponse): void {
    const match = /^\/([^/]+)\/\.well-known\/browserid$/.exec(url);
    const domain = match?.[1] ?? '';
    this.fetches.set(domain, (this.fetches.get(domain) ?? 0) + 1);
    const answer = (): void => {
      if (this.mode === 'down') return socket.destroy();
      if (this.mode === 'error') return void res.writeHead(500).end('oops');
      if (this.mode === 'redirect') return void res.writeHead(302, { location: 'https://example.com/' }).end();
      if (this.mode === 'junk') return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
      if (this.mode === 'no-key') return void res.writeHead(200).end('{"public-key":{"algorithm":"RS","n":"x"}}');
      const document = this.documents.get(domain);
      if (!match || document === undefined || this.mode === 'not-found') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    };
    if (this.delayMs > 0) setTimeout(answer, this.delayMs);
    else answer();
  }
}
