import { type Logger, z85Decode } from '@tokenserver/shared';
import { Router } from 'zeromq';

/** ZAP (ZeroMQ RFC 27) domains of the broker's two sockets. */
export const ZapDomain = { frontend: 'frontend', backend: 'backend' } as const;

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/**
 * Answers ZAP requests for the broker's CURVE sockets: a peer is let in only when its public key
 * is on the allow-list of the socket's domain. Must be started before the sockets bind.
 */
export class ZapHandler {
  private readonly router = new Router({ linger: 0 });
  private readonly allowed: Map<string, Set<string>>;

  constructor(
    allowedKeys: Record<string, readonly string[]>,
    private readonly log: Logger,
  ) {
    this.allowed = new Map(
      Object.entries(allowedKeys).map(([domain, keys]) => [domain, new Set(keys.map((key) => rawKey(key)))]),
    );
  }

  async start(): Promise<void> {
    await this.router.bind(ZAP_ENDPOINT);
    void this.answerRequests();
  }

  close(): void {
    this.router.close();
  }

  private async answerRequests(): Promise<void> {
    for await (const [peer, delimiter, version, requestId, domain, address, _identity, mechanism, key] of this.router) {
      const allowed =
        String(mechanism) === 'CURVE' &&
        key !== undefined &&
        this.allowed.get(String(domain))?.has(key.toString('hex')) === true;
      if (!allowed)
        this.log.warn(
          { domain: String(domain), address: String(address) },
          'refused a peer whose CURVE key is not allowed',
        );
      const [status, text] = allowed ? ['200', 'OK'] : ['400', 'key not allowed'];
      await this.router.send([
        peer as Buffer,
        delimiter as Buffer,
        version as Buffer,
        requestId as Buffer,
        status,
        text,
        '',
        '',
      ]);
    }
  }
}

function rawKey(z85: string): string {
  const key = z85Decode(z85);
  if (key?.length !== 32) throw new Error(`not a CURVE public key: ${z85}`);
  return key.toString('hex');
}
