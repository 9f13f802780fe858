import { formatFxaKid, type PresignRequest } from '@tokenserver/shared';
import type { AssignedUser } from './accounts.js';
import { isRetired, type Store, type UserRecord } from './db/store.js';

// One job instead of two for an existing user: before verifying, read the row of the email the credential names
// (unverified, used only to choose which token to ask for) and let the verify job sign that user's token too.
// After verification the account rules run as always; the token is used only if they left the user as guessed.

export type Credential = { scheme: 'browserid'; assertion: string } | { scheme: 'bearer'; token: string };

/** What the route keeps of a presign: the row it read (so the rules need not read it again) and the request. */
export interface Presign {
  /** The email the credential names (not verified). */
  email: string;
  /** The stored user of that email, or null when there is none. */
  user: UserRecord | null;
  request?: PresignRequest;
}

/** Reads the row of the email the credential names; undefined when the credential names none. */
export async function presignFor(
  store: Store,
  service: string,
  credential: Credential,
  oauthEmailDomain: string,
  requestedDuration: string | undefined,
): Promise<Presign | undefined> {
  const email = unverifiedEmail(credential, oauthEmailDomain);
  if (email === undefined) return undefined;
  const user = (await store.getUser(service, email)) ?? null;
  if (!user || isRetired(user) || user.replacedAt !== null || user.nodeUrl === null) return { email, user };
  return { email, user, request: { email, ...tokenTarget(user as AssignedUser, requestedDuration) } };
}

/** The presigned token is the one the sign job would make for `user`. */
export function presignMatches(request: PresignRequest, user: AssignedUser): boolean {
  const target = tokenTarget(user, request.requestedDuration);
  return target.uid === request.uid && target.node === request.node && target.fxaKid === request.fxaKid;
}

/** The user's part of a sign request. */
export function tokenTarget(
  user: AssignedUser,
  requestedDuration: string | undefined,
): { uid: number; node: string; fxaKid: string; requestedDuration?: string } {
  return {
    uid: user.uid,
    node: user.nodeUrl,
    fxaKid: formatFxaKid(user.keysChangedAt || user.generation, user.clientState),
    ...(requestedDuration === undefined ? {} : { requestedDuration }),
  };
}

/** The email a BrowserID certificate or an OAuth token's `sub` names, read without any check. */
export function unverifiedEmail(credential: Credential, oauthEmailDomain: string): string | undefined {
  if (credential.scheme === 'bearer') {
    const sub = jwsPayload(credential.token)?.sub;
    return typeof sub === 'string' && sub !== '' ? `${sub}@${oauthEmailDomain}` : undefined;
  }
  const tilde = credential.assertion.indexOf('~');
  const payload = jwsPayload(tilde < 0 ? credential.assertion : credential.assertion.slice(0, tilde));
  const principal = payload?.principal as { email?: unknown } | undefined;
  const email = typeof principal === 'object' && principal !== null ? principal.email : payload?.sub;
  return typeof email === 'string' && email !== '' ? email : undefined;
}

function jwsPayload(jws: string): Record<string, unknown> | undefined {
  const start = jws.indexOf('.') + 1;
  const end = jws.indexOf('.', start);
  if (start === 0 || end < 0) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(jws.slice(start, end), 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
