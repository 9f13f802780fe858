import { encodeJobBody, type VerifyEventRequest, type VerifyEventVerdict } from '@tokenserver/shared';
import { AuthError } from '../auth/errors.js';
import { SecurityEventVerifier } from '../events/security-event-verifier.js';
import { type JobHandler, parseJsonBody } from './job-handler.js';

/** Verifies the bearer JWT of an FxA security-event webhook call; the web front applies the changes. */
export const verifyEventJob: JobHandler = {
  kind: 'verify-event',
  inline: true,
  create(config) {
    const verifier = SecurityEventVerifier.fromConfig(config);
    return async (body) => {
      const request = parseJsonBody<VerifyEventRequest>(body, (v) => typeof v.token === 'string');
      if (!verifier) return verdictBody({ ok: false, ...DISABLED });
      try {
        return verdictBody({ ok: true, event: await verifier.verify(request.token) });
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        const status = err.status === 'unavailable' ? 'unavailable' : 'invalid-credentials';
        return verdictBody({ ok: false, status, code: err.code, message: err.message });
      }
    };
  },
};

const DISABLED = {
  status: 'invalid-credentials',
  code: 'ERR_WEBHOOK_DISABLED',
  message: 'no [fxa_webhook] audience is configured on this worker',
} as const;

function verdictBody(verdict: VerifyEventVerdict): Buffer {
  return encodeJobBody(verdict);
}
