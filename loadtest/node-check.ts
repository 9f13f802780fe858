import { type HawkTokenCredentials, hawkRequest } from '@tokenserver/shared/hawk/client';
import { parseObject } from './checks.js';
import { HttpTarget } from './http-client.js';
import { loopbackTarget } from './target.js';

// `--hawk`: each token the run receives is spent at once, as a Sync client would, with a Hawk-signed GET
// {api_endpoint}/info/collections to its node (the example node of `npm start`); a refusal is a problem of that
// token answer, counted and grouped with every other unexpected answer.

export const NODE_CHECK_PATH = 'info/collections';

export interface NodeCheckTotals {
  /** Hawk requests sent to nodes. */
  requests: number;
  /** Of which answered 200 with a JSON object. */
  accepted: number;
}

export class HawkNodeCheck {
  readonly totals: NodeCheckTotals = { requests: 0, accepted: 0 };
  private readonly targets = new Map<string, HttpTarget>();

  constructor(
    private readonly connections: number,
    private readonly timeoutMs: number,
  ) {}

  /** Undefined when the node accepts the token of this 200 answer body; else why not. */
  async check(tokenAnswer: string): Promise<string | undefined> {
    const signed = hawkRequest(JSON.parse(tokenAnswer) as HawkTokenCredentials, 'GET', NODE_CHECK_PATH);
    const url = new URL(signed.url);
    const target = this.targetFor(url.origin);
    if (!target) return 'node: api_endpoint is not a loopback http:// URL';
    this.totals.requests++;
    const outcome = await target.send(url.pathname + url.search, signed.headers, this.timeoutMs);
    if ('error' in outcome) return `node: ${outcome.error}`;
    if (outcome.status !== 200) return `node: expected 200, got ${outcome.status}${refusalCode(outcome.body)}`;
    if (!parseObject(outcome.body)) return 'node: 200 without a JSON object body';
    this.totals.accepted++;
    return undefined;
  }

  close(): void {
    for (const target of this.targets.values()) target.close();
  }

  private targetFor(origin: string): HttpTarget | undefined {
    let target = this.targets.get(origin);
    if (!target) {
      try {
        target = new HttpTarget(loopbackTarget(origin), this.connections);
      } catch {
        return undefined;
      }
      this.targets.set(origin, target);
    }
    return target;
  }
}

/** ` ERR_HAWK_…` from a node's JSON refusal, to group problems by cause. */
function refusalCode(body: string): string {
  const code = parseObject(body)?.code;
  return typeof code === 'string' ? ` ${code}` : '';
}
