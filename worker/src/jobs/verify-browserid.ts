import { browserIdRsaPublicKey, loadOrCreateLoadtestKey, type VerifyBrowserIdRequest } from '@tokenserver/shared';
import { importBrowserIdKey } from '../auth/browserid/keys.js';
import { BrowserIdVerifier } from '../auth/browserid/verify.js';
import { type JobHandler, parseJsonBody } from './job-handler.js';
import { verdictOf } from './verdict.js';

/** Verifies a BrowserID backed assertion (fetching the issuer's key when not cached). */
export const verifyBrowserIdJob: JobHandler = {
  kind: 'verify-browserid',
  inline: true,
  create(config, { keyFetchStats }) {
    const loadtestKey = config.browserid.loadtest_mode
      ? importBrowserIdKey(browserIdRsaPublicKey(loadOrCreateLoadtestKey(config.broker.run_dir, 'browserid').publicJwk))
      : undefined;
    const verifier = BrowserIdVerifier.fromConfig(config.browserid, { loadtestKey, stats: keyFetchStats });
    return (body) => {
      const request = parseJsonBody<VerifyBrowserIdRequest>(body, (v) => typeof v.assertion === 'string');
      return verdictOf(async () => {
        const identity = await verifier.verify(request.assertion);
        const claims = identity.idpClaims;
        return {
          email: identity.email,
          fxaUid: identity.fxaUid,
          generation: claims.generation,
          keysChangedAt: claims.keysChangedAt,
          deviceId: claims.deviceId,
        };
      });
    };
  },
};
