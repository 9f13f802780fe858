import { type JWTPayload, SignJWT } from 'jose';
import type { SigningKey } from './oauth.js';

// FxA security event tokens for the webhook tests: RS256 JWTs signed with a JWKS key, as FxA sends them.

export const PASSWORD_CHANGE = 'https://schemas.accounts.firefox.com/event/password-change';
export const DELETE_USER = 'https://schemas.accounts.firefox.com/event/delete-user';
export const PROFILE_CHANGE = 'https://schemas.accounts.firefox.com/event/profile-change';

export interface SecurityEventOptions {
  sub: string;
  audience: string;
  events: Record<string, Record<string, unknown>>;
  typ?: string;
  claims?: JWTPayload;
}

export function mintSecurityEvent(key: SigningKey, options: SecurityEventOptions): Promise<string> {
  return new SignJWT({ events: options.events, ...options.claims })
    .setProtectedHeader({ alg: 'RS256', typ: options.typ ?? 'secevent+jwt', kid: key.kid })
    .setSubject(options.sub)
    .setAudience(options.audience)
    .setIssuer('https://accounts.example.com')
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
}
