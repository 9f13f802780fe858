import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

// OAuth test support: RSA signing keys, a loopback JWKS server with rotation, access-token minting.

export const OLDSYNC_SCOPE = 'https://identity.mozilla.com/apps/oldsync';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface SigningKey {
  kid: string;
  privateKey: PrivateKey;
  publicJwk: JWK;
}

export async function createSigningKey(kid: string, modulusLength = 2048): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength, extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

export interface MintOptions {
  claims?: JWTPayload;
  typ?: string;
  /** Omit the kid from the header. */
  noKid?: boolean;
  /** Seconds from now; null for no exp claim. */
  expiresIn?: number | null;
  alg?: string;
}

export async function mintAccessToken(key: SigningKey, options: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    sub: '0123456789abcdef0123456789abcdef',
    scope: `profile ${OLDSYNC_SCOPE}`,
    client_id: '5882386c6d801776',
    'fxa-generation': 1234,
    ...options.claims,
  };
  const jwt = new SignJWT(claims)
    .setProtectedHeader({
      alg: options.alg ?? 'RS256',
      typ: options.typ ?? 'at+jwt',
      ...(options.noKid ? {} : { kid: key.kid }),
    })
    .setIssuedAt(now);
  if (options.expiresIn !== null) jwt.setExpirationTime(now + (options.expiresIn ?? 3600));
  return jwt.sign(key.privateKey);
}

export type JwksMode = 'up' | 'down' | 'error' | 'junk';

export class JwksServer {
  mode: JwksMode = 'up';
  delayMs = 0;
  fetches = 0;
  keys: JWK[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(keys: JWK[] = []): Promise<JwksServer> {
    let jwks: JwksServer | undefined;
    const server = createServer((req, res) => {
      if (!jwks) return;
      const self = jwks;
      self.fetches++;
      const answer = (): void => {
        if (self.mode === 'down') return void req.socket.destroy();
        if (self.mode === 'error') return void res.writeHead(500).end();
        if (self.mode === 'junk') return void res.writeHead(200, { 'content-type': 'application/json' }).end('nope');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: self.keys }));
      };
      if (self.delayMs > 0) setTimeout(answer, self.delayMs);
      else answer();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwks = new JwksServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/jwks`);
    jwks.keys = keys;
    return jwks;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
