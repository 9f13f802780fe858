import { verify as cryptoVerify } from 'node:crypto';
import { UnsupportedAlgorithmError } from '../errors.js';
import type { JwsSegment } from './assertion.js';
import type { BrowserIdAlgorithm, VerificationKey } from './keys.js';

// RS64/RS128/RS256: RSASSA-PKCS1-v1_5 with SHA-256. DS128: DSA with SHA-1, DS256: DSA with
// SHA-256, both with fixed-width r‖s signatures (IEEE P1363 layout, not DER).

const HASHES: Readonly<Record<BrowserIdAlgorithm, string>> = {
  RS64: 'sha256',
  RS128: 'sha256',
  RS256: 'sha256',
  DS128: 'sha1',
  DS256: 'sha256',
};

export function isBrowserIdAlgorithm(alg: string): alg is BrowserIdAlgorithm {
  return Object.hasOwn(HASHES, alg);
}

/**
 * Checks a JWS signature. The header's alg must be a BrowserID alg and the one the key's size
 * implies; otherwise UnsupportedAlgorithmError. Returns false for a wrong signature.
 */
export function verifyJwsSignature(segment: JwsSegment, key: VerificationKey): boolean {
  const alg = segment.header.alg;
  if (!isBrowserIdAlgorithm(alg)) throw new UnsupportedAlgorithmError(`unknown signing algorithm ${alg}`);
  if (alg !== key.alg) throw new UnsupportedAlgorithmError(`algorithm ${alg} does not match a ${key.alg} key`);
  return key.q ? verifyDsa(segment, key, key.q) : verifyRsa(segment, key);
}

function verifyRsa(segment: JwsSegment, key: VerificationKey): boolean {
  let signature = segment.signature;
  if (signature.length > key.size) return false;
  // Producers may drop leading zero bytes; OpenSSL wants the full modulus width.
  if (signature.length < key.size) signature = Buffer.concat([Buffer.alloc(key.size - signature.length), signature]);
  return cryptoVerify(HASHES[key.alg], segment.signingInput, key.key, signature);
}

function verifyDsa(segment: JwsSegment, key: VerificationKey, q: Buffer): boolean {
  const signature = segment.signature;
  if (signature.length !== key.size * 2) return false;
  if (!inRange(signature.subarray(0, key.size), q) || !inRange(signature.subarray(key.size), q)) return false;
  return cryptoVerify(HASHES[key.alg], segment.signingInput, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature);
}

/** 0 < value < q, both big-endian of the same width. */
function inRange(value: Buffer, q: Buffer): boolean {
  return value.some((byte) => byte !== 0) && Buffer.compare(value, q) < 0;
}
