import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HawkTokenCredentials } from '../../shared/src/hawk/client.js';
import { type NodeSecrets, signingSecret } from '../../shared/src/node-secrets.js';
import { makeToken, type SecretLike, type TokenPayload } from '../../shared/src/tokenlib.js';
import { createExampleNodeApp, type ExampleNodeOptions } from '../../web/src/example-node/app.js';
import { MemoryStorage } from '../../web/src/example-node/memory-storage.js';

// Tokens as the token server hands them out, and service nodes on loopback to spend them on.

export interface IssuedToken extends HawkTokenCredentials {
  uid: number;
  api_endpoint: string;
  payload: TokenPayload;
}

export interface IssueOptions {
  uid?: number;
  /** Sign with this secret instead of the node's newest one. */
  secret?: SecretLike;
  /** Token lifetime in seconds, from `now`. */
  durationS?: number;
  /** Milliseconds. */
  now?: number;
  /** Write another node in the token than the one whose secret signs it. */
  claimedNode?: string;
}

/** A token-server success answer for `node`, signed with the node's secret (makeToken). */
export function issueToken(secrets: NodeSecrets, node: string, options: IssueOptions = {}): IssuedToken {
  const uid = options.uid ?? 42;
  const { id, key, payload } = makeToken(
    {
      uid,
      node: options.claimedNode ?? node,
      fxa_uid: '0123456789abcdef0123456789abcdef',
      fxa_kid: '0000001234567-qqqqqqqqqqqqqqqqqqqqqg',
      hashed_fxa_uid: 'h',
      hashed_device_id: 'd',
    },
    options.secret ?? signingSecret(secrets, node),
    { timeout: options.durationS ?? 3600, now: options.now ?? Date.now() },
  );
  return { id, key, uid, api_endpoint: `${node}/1.5/${uid}`, payload };
}

/** An HTTP server on 127.0.0.1 with an ephemeral port. */
export class LoopbackServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** `build` receives the server's URL, e.g. to use it as the node name. */
  static async start(build: (url: string) => RequestListener): Promise<LoopbackServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('request', build(url));
    return new LoopbackServer(server, url);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface ExampleNodeOnLoopback {
  server: LoopbackServer;
  url: string;
  storage: MemoryStorage;
}

/** The example node in this process, named by its own loopback URL. */
export async function startExampleNode(options: Omit<ExampleNodeOptions, 'node'>): Promise<ExampleNodeOnLoopback> {
  const storage = options.storage ?? new MemoryStorage();
  const server = await LoopbackServer.start((url) => createExampleNodeApp({ ...options, storage, node: url }));
  return { server, url: server.url, storage };
}
