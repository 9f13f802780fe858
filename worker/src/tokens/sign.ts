import { MetricsHasher, makeToken, type NodeSecrets, signingSecret, type TokenPayloadInput } from '@tokenserver/shared';

// The success answer's token pieces: the tokenlib-signed id, its Hawk key, and the metrics ids.

export interface TokenRequest {
  /** The user record's uid. */
  uid: number;
  /** The storage node URL the user is assigned to (selects the node's secret). */
  node: string;
  fxaUid: string;
  /** See formatFxaKid. */
  fxaKid: string;
  /** Computed from fxaUid with the metrics secret when absent. */
  hashedFxaUid?: string;
  /** Computed from hashedFxaUid and deviceId when absent. */
  hashedDeviceId?: string;
  /** BrowserID `fxa-deviceId`; "none" is hashed without one. */
  deviceId?: string | null;
  /** The request's `?duration=`: only a value below the configured duration is used. */
  requestedDuration?: string | number;
  /** Current time in milliseconds, for tests. */
  now?: number;
}

export interface IssuedToken {
  /** Hawk id. */
  id: string;
  /** Hawk key. */
  key: string;
  uid: number;
  node: string;
  /** Seconds. */
  duration: number;
  /** Unix seconds. */
  expires: number;
  hashedFxaUid: string;
  hashedDeviceId: string;
}

export interface TokenSignerOptions {
  secrets: NodeSecrets;
  metrics: MetricsHasher | string;
  /** `[tokens] duration`, seconds. */
  durationS: number;
}

export class TokenSigner {
  private readonly metrics: MetricsHasher;

  constructor(private readonly options: TokenSignerOptions) {
    this.metrics = typeof options.metrics === 'string' ? new MetricsHasher(options.metrics) : options.metrics;
  }

  /** Signs a token with the node's newest secret; throws UnknownNodeError when the node has none. */
  sign(request: TokenRequest): IssuedToken {
    const now = request.now ?? Date.now();
    const duration = effectiveDuration(this.options.durationS, request.requestedDuration);
    const expires = Math.floor(now / 1000) + duration;
    const hashedFxaUid = request.hashedFxaUid ?? this.metrics.hashedFxaUid(request.fxaUid);
    const hashedDeviceId = request.hashedDeviceId ?? this.metrics.hashedDeviceId(hashedFxaUid, request.deviceId);
    // Field order as the Python token server writes it.
    const payload: TokenPayloadInput = {
      uid: request.uid,
      node: request.node,
      expires,
      fxa_uid: request.fxaUid,
      fxa_kid: request.fxaKid,
      hashed_fxa_uid: hashedFxaUid,
      hashed_device_id: hashedDeviceId,
    };
    const { id, key } = makeToken(payload, signingSecret(this.options.secrets, request.node), { now });
    return { id, key, uid: request.uid, node: request.node, duration, expires, hashedFxaUid, hashedDeviceId };
  }
}

/** The configured duration, lowered by a requested one when that is an integer with 0 < d < max. */
export function effectiveDuration(maxS: number, requested?: string | number): number {
  if (requested === undefined) return maxS;
  const value =
    typeof requested === 'number' ? requested : /^\d{1,10}$/.test(requested) ? Number(requested) : Number.NaN;
  return Number.isInteger(value) && value > 0 && value < maxS ? value : maxS;
}

// formatFxaKid moved to shared (the web front builds fxa_kid); re-exported for existing callers.
export { formatFxaKid } from '@tokenserver/shared';
