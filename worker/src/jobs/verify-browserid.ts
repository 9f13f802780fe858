import { browserIdRsaPublicKey, loadOrCreateLoadtestKey, type VerifyBrowserIdRequest } from '@tokenserver/shared';
import { importBrowserIdKey } from '../auth/browserid/keys.js';
import { BrowserIdVerifier } from '../auth/browserid/verify.js';
import { type JobHandler, parseJsonBody } from './job-handler.js';
import { verdictOf } from './verdict.js';

/** Verifies a BrowserID backed assertion (fetching the issuer's key when not cached). */
export const verifyBrowserIdJob: JobHandler = {
  kind: 'verify-browserid',
  // The heaviest kind (two or more public-key checks, maybe an IdP fetch): on the job thread, in parallel with
  // the socket thread's I/O and inline jobs (measured: +4% BrowserID tokens/s with one worker process on 2 cores).
  inline: false,
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
