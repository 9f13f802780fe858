import type { AccountChange, AccountEvent, Config } from '@tokenserver/shared';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { type AuthError, InvalidClaimError, MalformedCredentialsError } from '../auth/errors.js';
import { mapJoseError } from '../auth/oauth.js';

// FxA security event tokens (RFC 8417 in spirit): an RS256 JWT signed with the FxA keys that sign access tokens,
// `aud` = our OAuth client id, `sub` = the FxA uid, `events` = { <event type URI>: { ...details } }.

const EVENT_TYPES = 'https://schemas.accounts.firefox.com/event/';
export const PASSWORD_CHANGE_EVENT = `${EVENT_TYPES}password-change`;
export const DELETE_USER_EVENT = `${EVENT_TYPES}delete-user`;

const SUBJECT = /^[A-Za-z0-9._-]{1,255}$/;
const MAX_TOKEN_CHARS = 8192;

export interface SecurityEventVerifierOptions {
  jwks?: JSONWebKeySet;
  jwksUrl?: string;
  /** The `aud` required. */
  audience: string;
  /** When set, `iss` must equal it. */
  issuer?: string;
  /** Users are `<sub>@<emailDomain>`. */
  emailDomain: string;
  clockToleranceS: number;
  timeoutMs: number;
  cooldownMs: number;
  cacheMaxAgeMs: number;
}

export class SecurityEventVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly options: SecurityEventVerifierOptions) {
    if (options.jwks) this.keys = createLocalJWKSet(options.jwks);
    else if (options.jwksUrl)
      this.keys = createRemoteJWKSet(new URL(options.jwksUrl), {
        timeoutDuration: options.timeoutMs,
        cooldownDuration: options.cooldownMs,
        cacheMaxAge: options.cacheMaxAgeMs,
      });
    else throw new TypeError('SecurityEventVerifier needs jwks or jwksUrl');
  }

  /** Undefined when `[fxa_webhook] audience` is unset: the webhook is off. */
  static fromConfig(config: Pick<Config, 'oauth' | 'fxa_webhook'>): SecurityEventVerifier | undefined {
    const { oauth, fxa_webhook: webhook } = config;
    if (webhook.audience === undefined) return undefined;
    return new SecurityEventVerifier({
      jwks: oauth.jwks as JSONWebKeySet | undefined,
      jwksUrl: oauth.jwks_url,
      audience: webhook.audience,
      ...(webhook.issuer === undefined ? {} : { issuer: webhook.issuer }),
      emailDomain: oauth.email_domain,
      clockToleranceS: oauth.leeway_s,
      timeoutMs: oauth.timeout_ms,
      cooldownMs: oauth.jwks_cooldown_ms,
      cacheMaxAgeMs: oauth.jwks_cache_max_age_s * 1000,
    });
  }

  /** Throws only AuthError subclasses. */
  async verify(token: string): Promise<AccountEvent> {
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS) {
      throw new MalformedCredentialsError('event token is empty or too long');
    }
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      ({
        payload,
        protectedHeader: { typ },
      } = await jwtVerify(token, this.keys, {
        algorithms: ['RS256'],
        audience: this.options.audience,
        ...(this.options.issuer === undefined ? {} : { issuer: this.options.issuer }),
        clockTolerance: this.options.clockToleranceS,
        requiredClaims: ['sub', 'events'],
      }));
    } catch (err) {
      throw mapJoseError(err) as AuthError;
    }
    // Signed by the same keys: an access token must never pass for an event.
    if (typ !== undefined && /at\+jwt$/i.test(typ)) throw new InvalidClaimError('an access token is not an event');
    return this.accountEvent(payload);
  }

  private accountEvent(payload: JWTPayload): AccountEvent {
    const sub = payload.sub;
    if (typeof sub !== 'string' || !SUBJECT.test(sub)) throw new MalformedCredentialsError('invalid sub claim');
    const events = payload.events;
    if (typeof events !== 'object' || events === null || Array.isArray(events)) {
      throw new MalformedCredentialsError('invalid events claim');
    }
    return { email: `${sub}@${this.options.emailDomain}`, fxaUid: sub, changes: accountChanges(events) };
  }
}

/** The changes the recognised events ask for, the generation first; other event types are ignored. */
function accountChanges(events: object): AccountChange[] {
  const changes: AccountChange[] = [];
  const passwordChange = (events as Record<string, unknown>)[PASSWORD_CHANGE_EVENT];
  if (passwordChange !== undefined) {
    const changeTime = (passwordChange as { changeTime?: unknown } | null)?.changeTime;
    if (typeof changeTime !== 'number' || !Number.isSafeInteger(changeTime) || changeTime <= 0) {
      throw new InvalidClaimError('password-change event without a valid changeTime');
    }
    changes.push({ kind: 'generation', generation: changeTime });
  }
  if ((events as Record<string, unknown>)[DELETE_USER_EVENT] !== undefined) changes.push({ kind: 'retire' });
  return changes;
}
