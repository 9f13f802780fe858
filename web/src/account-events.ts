import type { AccountChange } from '@tokenserver/shared';
import type { Store } from './db/store.js';

// Account events (from `tokenserver user ...` or the FxA webhook) applied to the store: the one place that
// decides what a password change or an account deletion does to a user's rows.

/**
 * Applies one change to the account in every service; returns in how many services it exists.
 * A new generation G is stored as G - 1: devices still on an older generation are refused, while the first
 * device on G can still move the account to a new client state (which needs a generation increase).
 */
export async function applyAccountChange(store: Store, email: string, change: AccountChange): Promise<number> {
  if (change.kind === 'retire') return store.retireUser(email);
  return store.raiseGeneration(email, change.generation - 1);
}
