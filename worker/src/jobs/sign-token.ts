import { encodeJobBody, type SignTokenRequest } from '@tokenserver/shared';
import { configuredSigner, signTokenAnswer } from '../tokens/configured-signer.js';
import { type JobHandler, parseJsonBody } from './job-handler.js';

/** Signs a tokenlib token for a user on a node; the secrets exist only in worker processes. */
export const signTokenJob: JobHandler = {
  kind: 'sign-token',
  inline: true,
  create(config) {
    const signer = configuredSigner(config);
    return (body) => encodeJobBody(signTokenAnswer(signer, parseJsonBody<SignTokenRequest>(body, isSignRequest)));
  },
};

function isSignRequest(v: Record<string, unknown>): boolean {
  return (
    Number.isSafeInteger(v.uid) &&
    typeof v.node === 'string' &&
    typeof v.fxaUid === 'string' &&
    typeof v.fxaKid === 'string' &&
    (v.deviceId === undefined || typeof v.deviceId === 'string') &&
    isRequestedDuration(v.requestedDuration)
  );
}

/** A verify job's `presign` field: absent, or what a sign request holds besides the verified identity. */
export function isPresign(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.email === 'string' &&
    Number.isSafeInteger(v.uid) &&
    typeof v.node === 'string' &&
    typeof v.fxaKid === 'string' &&
    isRequestedDuration(v.requestedDuration)
  );
}

function isRequestedDuration(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}
