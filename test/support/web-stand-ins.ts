import type { Config } from '@tokenserver/shared';
import type { ServiceRecord } from '../../web/src/db/store.js';

// Fixtures for the web front in process (createApp with stand-in jobs and store): the one service, a user
// assigned to a node, and the config sections createApp reads.

export const STAND_IN_SERVICE: ServiceRecord = { id: 1, name: 'sync-1.5', pattern: '{node}/1.5/{uid}' };

/** The user the stand-in store answers for every lookup. */
export function standInUser(email: string) {
  return {
    uid: 7,
    service: 'sync-1.5',
    email,
    generation: 0,
    keysChangedAt: null,
    clientState: '',
    createdAt: 1,
    replacedAt: null,
    nodeId: 1,
    nodeUrl: 'https://node.example.com',
    oldClientStates: [],
    firstSeenAt: 1,
  };
}

export const STAND_IN_CONFIG = {
  web: {
    host: '127.0.0.1',
    port: 0,
    job_timeout_ms: 1000,
    retry_after_s: 3,
    max_in_flight: 2,
    max_body_bytes: 1024,
    headers_timeout_ms: 10_000,
  },
  browserid: { max_assertion_bytes: 16384, allowed_issuers: [], trusted_issuers: [] },
  oauth: { max_token_bytes: 8192, scope: 's', email_domain: 'api.accounts.firefox.com', jwks_url: 'https://x/v1/jwks' },
  assignment: { allow_new_users: true },
  fxa_webhook: {},
} as unknown as Config;
