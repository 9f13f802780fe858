import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HawkClient } from '../../shared/src/hawk/client.js';
import { mintAccessToken } from './oauth.js';
import { freePort } from './powerhose.js';
import { REPO_ROOT, RunningProcess, runToExit } from './processes.js';
import { type ApiAnswer, type StackOverrides, TestStack, TOKENSERVER_CLI } from './stack.js';

// The token server plus example storage nodes, every one a real process sharing one config (environment), for
// the revocation and migration flows: tokens are requested from the web front, spent on the nodes, and the ops
// CLI is run against the same database and secrets.

export const EXAMPLE_NODE_MAIN = join(REPO_ROOT, 'web/dist/example-node/main.js');
export const WEBHOOK_AUDIENCE = 'tokenserver-test-client';
export const EMAIL_DOMAIN = 'api.accounts.firefox.com';
const SERVICE = 'sync-1.5';
/** X-KeyID: keysChangedAt 1 and a fixed client state. */
const KEY_ID = `1-${Buffer.alloc(16, 0xaa).toString('base64url')}`;

export interface FlowStackOptions {
  /** How many example nodes (default 1). */
  nodes?: number;
  /** Per-node secrets in a secrets file in the run directory instead of [tokens] master_secret. */
  secretsFile?: boolean;
  overrides?: StackOverrides;
}

export interface ExampleNodeProcess {
  url: string;
  process: RunningProcess;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A user as the flows drive it: an FxA uid and the generation its device claims. */
export interface FlowUser {
  fxaUid: string;
  generation: number;
}

export class FlowStack {
  private constructor(
    readonly stack: TestStack,
    readonly nodes: ExampleNodeProcess[],
    readonly secretsPath: string | undefined,
  ) {}

  static async start(options: FlowStackOptions = {}): Promise<FlowStack> {
    const ports = await Promise.all(Array.from({ length: options.nodes ?? 1 }, () => freePort()));
    const urls = ports.map((port) => `http://127.0.0.1:${port}`);
    const secretsPath = options.secretsFile ? writeSecretsFile(urls) : undefined;
    const stack = await TestStack.start({
      TOKENSERVER_BOOTSTRAP__NODES: JSON.stringify(urls.map((url) => ({ service: SERVICE, url, capacity: 1000 }))),
      TOKENSERVER_FXA_WEBHOOK__AUDIENCE: WEBHOOK_AUDIENCE,
      ...(secretsPath
        ? { TOKENSERVER_TOKENS__MASTER_SECRET: null, TOKENSERVER_TOKENS__SECRETS_FILE: secretsPath }
        : {}),
      ...options.overrides,
    });
    const nodes = ports.map((port, index) => ({
      url: urls[index] as string,
      process: new RunningProcess(process.execPath, [EXAMPLE_NODE_MAIN], {
        ...stack.cluster.env,
        TOKENSERVER_EXAMPLE_NODE__PORT: String(port),
      }),
    }));
    const flows = new FlowStack(stack, nodes, secretsPath);
    try {
      await Promise.all(nodes.map((node) => node.process.waitForOutput(/example node listening/)));
    } catch (err) {
      await flows.stop();
      throw err;
    }
    return flows;
  }

  /** `tokenserver ARGS` with the stack's configuration (database, secrets, run directory). */
  async cli(...args: string[]): Promise<CliResult> {
    return runToExit(process.execPath, [TOKENSERVER_CLI, ...args], this.stack.cluster.env);
  }

  /** GET /1.0/sync/1.5 with an OAuth token for the user. */
  async requestToken(user: FlowUser): Promise<ApiAnswer> {
    const token = await mintAccessToken(this.stack.oauthKey, {
      claims: { sub: user.fxaUid, 'fxa-generation': user.generation },
    });
    return this.stack.token({ Authorization: `Bearer ${token}`, 'X-KeyID': KEY_ID });
  }

  /** A token answer that must be a 200, as HawkClient credentials. */
  async tokenFor(user: FlowUser): Promise<NodeToken> {
    const answer = await this.requestToken(user);
    if (answer.status !== 200) throw new Error(`token request failed: ${answer.status} ${answer.text}`);
    return answer.body as unknown as NodeToken;
  }

  /** Posts to the FxA webhook with `Authorization: Bearer <jwt>` (or the raw header when given). */
  async postEvent(authorization: string | undefined): Promise<ApiAnswer> {
    const res = await fetch(`${this.stack.url}/1.0/webhooks/fxa/events`, {
      method: 'POST',
      headers: authorization === undefined ? {} : { Authorization: authorization },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: parseJson(text) };
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.process.stop()));
    await this.stack.stop();
    if (this.secretsPath) rmSync(dirname(this.secretsPath), { recursive: true, force: true });
  }
}

/** The fields of a token answer a node call needs. */
export interface NodeToken {
  id: string;
  key: string;
  uid: number;
  api_endpoint: string;
}

export interface NodeAnswer {
  status: number;
  /** The node's refusal code (ERR_TOKEN_BAD_SIGNATURE, ERR_TOKEN_WRONG_NODE, …) when there is one. */
  code: unknown;
  text: string;
}

/** A Hawk-signed request with `token`, to its own node or, with `nodeUrl`, to another one. */
export async function callNode(
  token: NodeToken,
  method: string,
  path: string,
  options: { nodeUrl?: string; body?: string } = {},
): Promise<NodeAnswer> {
  const base = options.nodeUrl === undefined ? token.api_endpoint : `${options.nodeUrl}/1.5/${token.uid}`;
  const res = await new HawkClient({ ...token, api_endpoint: base }).request(method, path, options.body);
  const text = await res.text();
  return { status: res.status, code: parseJson(text)?.code, text };
}

/** The node a token was issued for, from its api_endpoint `{node}/1.5/{uid}`. */
export function nodeOf(token: NodeToken): string {
  return token.api_endpoint.replace(/\/1\.5\/\d+$/, '');
}

/** A fresh user id, so that every test starts with a new account. */
export function newFlowUser(generation = 1000): FlowUser {
  return { fxaUid: randomBytes(16).toString('hex'), generation };
}

export function emailOf(user: FlowUser): string {
  return `${user.fxaUid}@${EMAIL_DOMAIN}`;
}

function writeSecretsFile(urls: string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tokenserver-secrets-')), 'secrets');
  const lines = urls.map((url) => `${url},1000:${randomBytes(16).toString('hex')}`);
  writeFileSync(path, `# test node secrets\n${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
