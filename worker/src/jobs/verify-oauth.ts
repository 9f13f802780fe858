import { loadOrCreateLoadtestKey, type VerifyOAuthRequest } from '@tokenserver/shared';
import { OAuthVerifier, parseKeyId } from '../auth/oauth.js';
import { type JobHandler, parseJsonBody } from './job-handler.js';
import { verdictOf } from './verdict.js';

/** Verifies an OAuth access token (JWT) and parses the X-KeyID that comes with it. */
export const verifyOAuthJob: JobHandler = {
  kind: 'verify-oauth',
  inline: true,
  create(config, { keyFetchStats }) {
    const loadtestKey = config.oauth.loadtest_mode
      ? loadOrCreateLoadtestKey(config.broker.run_dir, 'oauth')
      : undefined;
    const verifier = OAuthVerifier.fromConfig(config.oauth, { loadtestKey, stats: keyFetchStats });
    return (body) => {
      const request = parseJsonBody<VerifyOAuthRequest>(
        body,
        (v) => typeof v.token === 'string' && (v.keyId === undefined || typeof v.keyId === 'string'),
      );
      return verdictOf(async () => {
        const keyId = request.keyId === undefined ? undefined : parseKeyId(request.keyId);
        const identity = await verifier.verify(request.token);
        return {
          email: identity.email,
          fxaUid: identity.fxaUid,
          generation: identity.idpClaims.generation,
          keysChangedAt: keyId?.keysChangedAt,
          clientState: keyId?.clientState,
        };
      });
    };
  },
};
