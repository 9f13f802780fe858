import { join } from 'node:path';
import { type BrowserIdAlg, keyPair } from './browserid.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { IdpServer } from './idp-server.js';
import { createSigningKey, JwksServer, type SigningKey } from './oauth.js';
import { ClusterEnv, freePort } from './powerhose.js';
import { eventually, REPO_ROOT, RunningProcess } from './processes.js';

// The whole token server under test: broker, a worker supervisor with 2 workers and the web front, each a real
// process, over IPC against a temp SQLite database, with a loopback BrowserID IdP and a loopback JWKS server.

export const WEB_MAIN = join(REPO_ROOT, 'web/dist/web-main.js');
export const TOKENSERVER_CLI = join(REPO_ROOT, 'web/dist/cli/main.js');

export const AUDIENCE = 'https://token.example.com';
/** The tokenlib reference vectors: this master secret derives NODE_SECRET for NODE_URL. */
export const MASTER_SECRET = '0123456789abcdef0123456789abcdef';
export const NODE_URL = 'https://node.example.com';
export const NODE_SECRET = 'c9f9165800f0b5c75fb687b521e002e0';
export const METRICS_SECRET = 'insecure';
/** BrowserID issuers mapped to the loopback IdP. */
export const IDP_DOMAINS = [
  'idp.test',
  'other.test',
  'burst.test',
  'down.test',
  'slow.test',
  'junk.test',
  'no-key.test',
  'error.test',
  ...['rs64', 'rs128', 'rs256', 'ds128', 'ds256'].map((alg) => `${alg}.test`),
];

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (undefined when it is not JSON). */
  body: Record<string, unknown> | undefined;
}

export class TestStack {
  broker: RunningProcess | undefined;
  private constructor(
    readonly cluster: ClusterEnv,
    readonly database: TestDatabase,
    readonly idp: IdpServer,
    readonly jwks: JwksServer,
    readonly oauthKey: SigningKey,
    readonly url: string,
    readonly webEnv: Record<string, string>,
    readonly workers: RunningProcess,
    readonly web: RunningProcess,
  ) {}

  /** The environment of a stack's processes: TOKENSERVER_* overrides over config/default.toml (null: unset). */
  static async environment(
    idp: IdpServer,
    jwks: JwksServer,
    overrides: StackOverrides = {},
  ): Promise<{ cluster: ClusterEnv; database: TestDatabase; port: number }> {
    const database = await createTestDatabase('sqlite');
    const port = await freePort();
    const cluster = await ClusterEnv.create(
      'ipc',
      withoutUnset({
        TOKENSERVER_WEB__PORT: String(port),
        TOKENSERVER_WEB__JOB_TIMEOUT_MS: '3000',
        TOKENSERVER_WEB__RETRY_AFTER_S: '7',
        TOKENSERVER_WORKER__PROCESSES: '2',
        TOKENSERVER_DATABASE__URL: database.url,
        TOKENSERVER_BOOTSTRAP__SERVICES: JSON.stringify([{ name: 'sync-1.5', pattern: '{node}/1.5/{uid}' }]),
        TOKENSERVER_BOOTSTRAP__NODES: JSON.stringify([{ service: 'sync-1.5', url: NODE_URL, capacity: 100000 }]),
        TOKENSERVER_BROWSERID__AUDIENCES: JSON.stringify([AUDIENCE]),
        TOKENSERVER_BROWSERID__ISSUER_URLS: JSON.stringify(idp.issuerUrls(...IDP_DOMAINS)),
        TOKENSERVER_BROWSERID__TIMEOUT_MS: '1000',
        TOKENSERVER_OAUTH__JWKS_URL: jwks.url,
        TOKENSERVER_OAUTH__JWKS_COOLDOWN_MS: '0',
        TOKENSERVER_OAUTH__TIMEOUT_MS: '1000',
        TOKENSERVER_TOKENS__MASTER_SECRET: MASTER_SECRET,
        TOKENSERVER_TOKENS__METRICS_SECRET: METRICS_SECRET,
        ...overrides,
      }),
    );
    return { cluster, database, port };
  }

  static async start(overrides: StackOverrides = {}): Promise<TestStack> {
    const idp = await IdpServer.start();
    const oauthKey = await createSigningKey('key-1');
    const jwks = await JwksServer.start([oauthKey.publicJwk]);
    const { cluster, database, port } = await TestStack.environment(idp, jwks, overrides);
    const broker = await cluster.startBroker();
    const workers = cluster.startSupervisor();
    const webEnv = withoutTokenSecrets(cluster.env);
    const web = new RunningProcess(process.execPath, [WEB_MAIN], webEnv);
    const stack = new TestStack(
      cluster,
      database,
      idp,
      jwks,
      oauthKey,
      `http://127.0.0.1:${port}`,
      webEnv,
      workers,
      web,
    );
    stack.broker = broker;
    try {
      await web.waitForOutput(/web listening/, 30_000);
      await stack.waitUntilHealthy();
    } catch (err) {
      // Otherwise the broker and workers would outlive the test run.
      await stack.stop();
      throw err;
    }
    return stack;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const res = await fetch(`${this.url}${path}`, { headers });
    const text = await res.text();
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, text, body };
  }

  /** GET /1.0/sync/1.5 with the given headers. */
  token(headers: Record<string, string>): Promise<ApiAnswer> {
    return this.get('/1.0/sync/1.5', headers);
  }

  async waitUntilHealthy(timeoutMs = 15_000): Promise<void> {
    await eventually(async () => (await this.get('/__heartbeat__')).status === 200, timeoutMs);
  }

  /** Makes the loopback IdP serve, for `domain`, the public half of the issuer key the tests certify with. */
  trustIssuer(domain: string, alg: BrowserIdAlg = 'RS256'): void {
    this.idp.setKey(domain, keyPair(alg, 'issuer').publicKey);
  }

  async stopBroker(): Promise<void> {
    await this.broker?.stop('SIGKILL');
    this.broker = undefined;
  }

  async startBroker(): Promise<void> {
    this.broker = await this.cluster.startBroker();
  }

  async stop(): Promise<void> {
    await Promise.all([this.web.stop(), this.workers.stop(), this.broker?.stop()]);
    await Promise.all([this.idp.close(), this.jwks.close(), this.database.drop()]);
    this.cluster.cleanup();
  }
}

/** Environment overrides of a test stack; null removes a variable the stack sets by default. */
export type StackOverrides = Record<string, string | null>;

function withoutUnset(env: StackOverrides): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== null));
}

/** As `tokenserver start` does for its web child. */
export function withoutTokenSecrets(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('TOKENSERVER_TOKENS__')));
}

/** The error body's status and first error, for compact assertions. */
export function errorOf(answer: ApiAnswer): { http: number; status: unknown; description: unknown } {
  const errors = answer.body?.errors as Array<{ description?: unknown }> | undefined;
  return { http: answer.status, status: answer.body?.status, description: errors?.[0]?.description };
}
