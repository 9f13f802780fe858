import { encodeJobBody, type VerifiedIdentity, type VerifyVerdict } from '@tokenserver/shared';
import { AuthError } from '../auth/errors.js';

/** Runs a verification and turns its outcome into the verdict the web front reads. */
export async function verdictOf(verify: () => Promise<VerifiedIdentity>): Promise<Buffer> {
  let verdict: VerifyVerdict;
  try {
    verdict = { ok: true, identity: await verify() };
  } catch (err) {
    if (!(err instanceof AuthError)) throw err; // a bug: the job fails and the web front logs it
    verdict = { ok: false, status: err.status, code: err.code, message: err.message };
  }
  return encodeJobBody(verdict);
}
