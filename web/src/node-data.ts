import {
  formatFxaKid,
  MetricsHasher,
  makeToken,
  type NodeSecrets,
  signingSecret,
  type TokenSecrets,
} from '@tokenserver/shared';
import { hawkRequest } from '@tokenserver/shared/hawk/client';
import { apiEndpoint } from './accounts.js';
import type { PurgeCandidate, Store } from './db/store.js';

// Deleting a purged user's data on its storage node: a Hawk-signed `DELETE {api_endpoint}` with a short-lived
// token for that uid, as the user's own client would send it. This runs in the `purge-old-records` process (an
// ops tool on a trusted host, which may read the token secrets), never in the web front.

/** Lifetime of the token minted for one DELETE, in seconds. */
const PURGE_TOKEN_TIMEOUT_S = 300;

export class NodeDataDeletionError extends Error {
  readonly code = 'ERR_NODE_DATA_DELETION';
}

export interface NodeDataDeleterOptions {
  store: Pick<Store, 'getService'>;
  /** Loaded on the first deletion only, so that a run with nothing to delete needs no secrets. */
  loadSecrets: () => Pick<TokenSecrets, 'nodeSecrets' | 'metricsSecret'>;
  requestTimeoutMs: number;
  fetch?: typeof fetch;
}

/** `purgeOldRecords`' `deleteNodeData`: resolves when the node deleted the data or never had it (404). */
export function nodeDataDeleter(options: NodeDataDeleterOptions): (candidate: PurgeCandidate) => Promise<void> {
  const doFetch = options.fetch ?? fetch;
  const patterns = new Map<string, string>();
  let signer: PurgeTokenSigner | undefined;
  return async (candidate) => {
    if (candidate.nodeUrl === null) return;
    signer ??= new PurgeTokenSigner(options.loadSecrets());
    const url = apiEndpoint(await servicePattern(options.store, patterns, candidate.service), {
      nodeUrl: candidate.nodeUrl,
      uid: candidate.uid,
      service: candidate.service,
    });
    const token = signer.sign(candidate, candidate.nodeUrl);
    const request = hawkRequest(token, 'DELETE', url);
    let status: number;
    try {
      const res = await doFetch(request.url, {
        method: request.method,
        headers: request.headers,
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      await res.body?.cancel();
      status = res.status;
    } catch (err) {
      throw new NodeDataDeletionError(`DELETE ${url} failed: ${(err as Error).message}`, { cause: err });
    }
    if (!(status >= 200 && status < 300) && status !== 404) {
      throw new NodeDataDeletionError(`DELETE ${url} answered ${status}`);
    }
  };
}

async function servicePattern(
  store: Pick<Store, 'getService'>,
  cache: Map<string, string>,
  service: string,
): Promise<string> {
  let pattern = cache.get(service);
  if (pattern === undefined) {
    const record = await store.getService(service);
    if (!record) throw new NodeDataDeletionError(`unknown service ${service}`);
    pattern = record.pattern;
    cache.set(service, pattern);
  }
  return pattern;
}

/** Mints the token a node needs to accept a DELETE for a purged row (same fields as a client's token). */
class PurgeTokenSigner {
  private readonly secrets: NodeSecrets;
  private readonly metrics: MetricsHasher;

  constructor(loaded: Pick<TokenSecrets, 'nodeSecrets' | 'metricsSecret'>) {
    this.secrets = loaded.nodeSecrets;
    this.metrics = new MetricsHasher(loaded.metricsSecret);
  }

  sign(candidate: PurgeCandidate, node: string): { id: string; key: string } {
    const fxaUid = localPart(candidate.email);
    const hashedFxaUid = this.metrics.hashedFxaUid(fxaUid);
    const { id, key } = makeToken(
      {
        uid: candidate.uid,
        node,
        fxa_uid: fxaUid,
        fxa_kid: formatFxaKid(candidate.keysChangedAt || candidate.generation, candidate.clientState),
        hashed_fxa_uid: hashedFxaUid,
        hashed_device_id: this.metrics.hashedDeviceId(hashedFxaUid),
      },
      signingSecret(this.secrets, node),
      { timeout: PURGE_TOKEN_TIMEOUT_S },
    );
    return { id, key };
  }
}

function localPart(email: string): string {
  const at = email.indexOf('@');
  return at === -1 ? email : email.slice(0, at);
}
