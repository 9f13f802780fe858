import { apiErrors, type TokenServerError } from './api-errors.js';
import {
  isRetired,
  NoNodeError,
  type Store,
  StoreTimeoutError,
  StoreUnavailableError,
  UserChangedError,
  type UserRecord,
  type UserUpdate,
} from './db/store.js';

// The account rules of reference §1.5 (steps 1-6) over a Store. Checks that need the stored record run
// after the write, so that of two racing clients the more up-to-date one wins.

/** What the verified credential and headers say about the account. 0 / '' mean "absent". */
export interface AccountClaims {
  generation: number;
  keysChangedAt: number;
  clientState: string;
}

export interface AccountPolicy {
  allowNewUsers: boolean;
}

/** The user record a token is minted for: always live and on a node. */
export interface AssignedUser extends UserRecord {
  nodeUrl: string;
}

/** A concurrent request changed the user between our read and write this many times in a row: give up. */
const MAX_ATTEMPTS = 5;

/**
 * Returns the account's current assignment for `email` in `service`, creating, re-assigning or updating it as
 * the claims require. Throws TokenServerError for the 401 account-rule failures; store errors pass through
 * (see apiErrorForStoreError).
 */
export async function resolveUser(
  store: Store,
  service: string,
  email: string,
  claims: AccountClaims,
  policy: AccountPolicy,
): Promise<AssignedUser> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await resolveOnce(store, service, email, claims, policy);
    } catch (err) {
      if (!(err instanceof UserChangedError) || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

async function resolveOnce(
  store: Store,
  service: string,
  email: string,
  claims: AccountClaims,
  policy: AccountPolicy,
): Promise<AssignedUser> {
  let user = await store.getUser(service, email);
  if (!user) {
    if (!policy.allowNewUsers) throw apiErrors.newUsersDisabled();
    user = await store.allocateUser(service, email, {
      generation: claims.generation,
      keysChangedAt: claims.keysChangedAt > 0 ? claims.keysChangedAt : null,
      clientState: claims.clientState,
    });
  }
  if (isRetired(user)) throw apiErrors.invalidGeneration();
  if (user.replacedAt !== null || user.nodeUrl === null) user = await store.reassignUser(user);

  const update = plannedUpdate(user, claims);
  if (claims.clientState !== user.clientState) {
    checkClientStateChange(user, claims, update);
    user = await store.replaceUser(user, {
      clientState: claims.clientState,
      generation: Math.max(user.generation, update.generation ?? 0),
      keysChangedAt: mergedKeysChangedAt(user.keysChangedAt, update.keysChangedAt),
    });
  } else if (update.generation !== undefined || update.keysChangedAt !== undefined) {
    user = await store.updateUser(user, update);
  }

  checkAfterWrite(user, claims);
  return assigned(user);
}

/** Steps 2-3: the generation / keys_changed_at the claims move forward. */
export function plannedUpdate(user: UserRecord, claims: AccountClaims): UserUpdate {
  const { generation: g, keysChangedAt: k } = claims;
  const update: UserUpdate = {};
  if (g > user.generation) update.generation = g;
  if (k > (user.keysChangedAt ?? 0)) {
    if (g > 0 && g < k) throw apiErrors.invalidKeysChangedAt();
    if (g === 0 && k > user.generation) update.generation = k;
    update.keysChangedAt = k;
  }
  return update;
}

/** Step 4: a new client state needs a fresh, never-used value and evidence that the keys really changed. */
export function checkClientStateChange(user: UserRecord, claims: AccountClaims, update: UserUpdate): void {
  if (claims.clientState === '') throw apiErrors.invalidClientState('empty string');
  if (user.oldClientStates.includes(claims.clientState)) throw apiErrors.invalidClientState('stale value');
  if (claims.generation > 0 && update.generation === undefined) {
    throw apiErrors.invalidClientState('new value with no generation change');
  }
  if ((user.keysChangedAt ?? 0) > 0 && update.keysChangedAt === undefined) {
    throw apiErrors.invalidClientState('new value with no keys_changed_at change');
  }
}

/** Step 6: the stored record (possibly advanced by a racing client) must not be newer than the claims. */
export function checkAfterWrite(user: UserRecord, claims: AccountClaims): void {
  if (claims.generation > 0 && user.generation > claims.generation) throw apiErrors.invalidGeneration();
  if ((user.keysChangedAt ?? 0) > 0 && (user.keysChangedAt ?? 0) > claims.keysChangedAt) {
    throw apiErrors.invalidKeysChangedAt();
  }
}

function mergedKeysChangedAt(stored: number | null, claimed: number | undefined): number | null {
  if (claimed === undefined) return stored;
  return Math.max(stored ?? 0, claimed);
}

function assigned(user: UserRecord): AssignedUser {
  if (user.nodeUrl === null) throw new UserChangedError(`user ${user.email} lost its node while being resolved`);
  return user as AssignedUser;
}

/** `{node}`, `{uid}` and `{service}` substituted into a service's api_endpoint pattern. */
export function apiEndpoint(pattern: string, user: Pick<AssignedUser, 'nodeUrl' | 'uid' | 'service'>): string {
  return pattern
    .replaceAll('{node}', user.nodeUrl)
    .replaceAll('{uid}', String(user.uid))
    .replaceAll('{service}', user.service);
}

/** The HTTP answer for a store failure, or undefined when `err` is not one (a bug: answer 500). */
export function apiErrorForStoreError(err: unknown, retryAfterS: number): TokenServerError | undefined {
  if (err instanceof StoreTimeoutError) return apiErrors.elapsed();
  if (err instanceof StoreUnavailableError || err instanceof NoNodeError || err instanceof UserChangedError) {
    return apiErrors.backendUnavailable(retryAfterS);
  }
  return undefined;
}
