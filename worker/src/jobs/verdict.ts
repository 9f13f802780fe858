import {
  encodeJobBody,
  type PresignRequest,
  type SignTokenAnswer,
  type VerifiedIdentity,
  type VerifyVerdict,
} from '@tokenserver/shared';
import { AuthError } from '../auth/errors.js';
import { signTokenAnswer } from '../tokens/configured-signer.js';
import type { TokenSigner } from '../tokens/sign.js';

/**
 * Runs a verification and turns its outcome into the verdict the web front reads; with `presign`, a verified
 * credential for the presign's email also gets its token.
 */
export async function verdictOf(
  verify: () => Promise<VerifiedIdentity>,
  signer: () => TokenSigner,
  presign: PresignRequest | undefined,
): Promise<Buffer> {
  let verdict: VerifyVerdict;
  try {
    const identity = await verify();
    const token = presign?.email === identity.email ? presignedToken(signer, presign, identity) : undefined;
    verdict = token ? { ok: true, identity, token } : { ok: true, identity };
  } catch (err) {
    if (!(err instanceof AuthError)) throw err; // a bug: the job fails and the web front logs it
    verdict = { ok: false, status: err.status, code: err.code, message: err.message };
  }
  return encodeJobBody(verdict);
}

/** Undefined when it cannot be signed (no secret, or none for the node): the web front's sign job then reports why. */
function presignedToken(
  signer: () => TokenSigner,
  presign: PresignRequest,
  identity: VerifiedIdentity,
): SignTokenAnswer | undefined {
  try {
    return signTokenAnswer(signer(), {
      uid: presign.uid,
      node: presign.node,
      fxaUid: identity.fxaUid,
      fxaKid: presign.fxaKid,
      ...(identity.deviceId === undefined ? {} : { deviceId: identity.deviceId }),
      ...(presign.requestedDuration === undefined ? {} : { requestedDuration: presign.requestedDuration }),
    });
  } catch {
    return undefined;
  }
}
