import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { browserIdRsaPublicKey, type LoadtestKey } from '@tokenserver/shared';

// A BrowserID signer for tests and the load-test tool: key pairs for every algorithm, certificates and backed
// assertions with chosen claims, times, audience and issuer, and ways to tamper with them.

export type BrowserIdAlg = 'RS64' | 'RS128' | 'RS256' | 'DS128' | 'DS256';
export const ALL_ALGS: readonly BrowserIdAlg[] = ['RS64', 'RS128', 'RS256', 'DS128', 'DS256'];

export type PublicKeyObject =
  | { algorithm: 'RS'; n: string; e: string }
  | { algorithm: 'DS'; p: string; q: string; g: string; y: string };

export interface TestKeyPair {
  alg: BrowserIdAlg;
  publicKey: PublicKeyObject;
  privateKey: KeyObject;
  /** The node:crypto public key, to compare imports against. */
  nodePublicKey: KeyObject;
}

const RSA_BITS = { RS64: 512, RS128: 1024, RS256: 2048 } as const;
const DSA_BITS = { DS128: [1024, 160], DS256: [2048, 256] } as const;

export function generateKeyPair(alg: BrowserIdAlg): TestKeyPair {
  if (alg === 'DS128' || alg === 'DS256') {
    const [modulusLength, divisorLength] = DSA_BITS[alg];
    const { publicKey, privateKey } = generateKeyPairSync('dsa', { modulusLength, divisorLength });
    return { alg, publicKey: dsaPublicKeyObject(publicKey), privateKey, nodePublicKey: publicKey };
  }
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS[alg] });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  return {
    alg,
    publicKey: browserIdRsaPublicKey(jwk),
    privateKey,
    nodePublicKey: publicKey,
  };
}

/** The load-test BrowserID key as the signer's key pair (RS256). */
export function loadtestIssuerKeyPair(key: LoadtestKey): TestKeyPair {
  return {
    alg: 'RS256',
    publicKey: browserIdRsaPublicKey(key.publicJwk),
    privateKey: key.privateKey,
    nodePublicKey: createPublicKey(key.privateKey),
  };
}

const keyPairs = new Map<string, TestKeyPair>();

/** A key pair generated once per (alg, name) for the whole test run. */
export function keyPair(alg: BrowserIdAlg, name = 'default'): TestKeyPair {
  const id = `${alg}:${name}`;
  let pair = keyPairs.get(id);
  if (!pair) {
    pair = generateKeyPair(alg);
    keyPairs.set(id, pair);
  }
  return pair;
}

export interface SignOptions {
  /** Header alg to write instead of the key's. */
  headerAlg?: string;
  /** Drop leading zero bytes of the signature, as some producers do. */
  stripLeadingZeros?: boolean;
}

export function signJws(payload: object, key: TestKeyPair, options: SignOptions = {}): string {
  const header = b64(JSON.stringify({ alg: options.headerAlg ?? key.alg }));
  const body = b64(JSON.stringify(payload));
  const input = Buffer.from(`${header}.${body}`);
  let signature: Buffer;
  if (key.alg.startsWith('DS')) {
    const hash = key.alg === 'DS128' ? 'sha1' : 'sha256';
    signature = sign(hash, input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  } else {
    signature = sign('sha256', input, key.privateKey);
  }
  if (options.stripLeadingZeros) {
    let start = 0;
    while (signature[start] === 0) start++;
    signature = signature.subarray(start);
  }
  return `${header}.${body}.${signature.toString('base64url')}`;
}

export interface BackedAssertionOptions {
  email?: string;
  issuer?: string;
  audience?: string;
  /** Milliseconds; defaults to Date.now(). */
  now?: number;
  issuerKey?: TestKeyPair;
  userKey?: TestKeyPair;
  certIat?: number;
  certExp?: number;
  assertionIat?: number;
  assertionExp?: number;
  /** Extra top-level certificate claims (fxa-generation...). */
  idpClaims?: Record<string, unknown>;
  certSign?: SignOptions;
  assertionSign?: SignOptions;
  /** Extra certificates inserted before the last one. */
  extraCertificates?: string[];
}

export const DEFAULT_AUDIENCE = 'https://token.example.com';

/** Builds `cert~assertion` signed like FxA/jwcrypto do (times in milliseconds). */
export function makeBackedAssertion(options: BackedAssertionOptions = {}): string {
  const now = options.now ?? Date.now();
  const issuerKey = options.issuerKey ?? keyPair('RS256', 'issuer');
  const userKey = options.userKey ?? keyPair('DS128', 'user');
  const email = options.email ?? '0123456789abcdef0123456789abcdef@idp.test';
  const certificate = signJws(
    {
      iss: options.issuer ?? email.split('@')[1],
      iat: options.certIat ?? now - 10_000,
      exp: options.certExp ?? now + 3600_000,
      'public-key': userKey.publicKey,
      principal: { email },
      ...options.idpClaims,
    },
    issuerKey,
    options.certSign,
  );
  const assertion = signJws(
    {
      aud: options.audience ?? DEFAULT_AUDIENCE,
      exp: options.assertionExp ?? now + 120_000,
      ...(options.assertionIat === undefined ? {} : { iat: options.assertionIat }),
    },
    userKey,
    options.assertionSign,
  );
  return [...(options.extraCertificates ?? []), certificate, assertion].join('~');
}

/** Flips one bit in the chosen part of the chosen JWS (certificate 0 or the assertion, the last piece). */
export function tamper(backed: string, piece: 'certificate' | 'assertion', part: 'payload' | 'signature'): string {
  const pieces = backed.split('~');
  const index = piece === 'assertion' ? pieces.length - 1 : 0;
  const parts = (pieces[index] as string).split('.');
  const partIndex = part === 'payload' ? 1 : 2;
  const bytes = Buffer.from(parts[partIndex] as string, 'base64url');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
  parts[partIndex] = bytes.toString('base64url');
  pieces[index] = parts.join('.');
  return pieces.join('~');
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** Reads p, q, g, y out of a DSA SubjectPublicKeyInfo (independently of the code under test). */
function dsaPublicKeyObject(publicKey: KeyObject): PublicKeyObject {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const spki = children(der, 0)[0] as Tlv;
  const [algorithm, bitString] = children(der, spki.start, spki.end) as [Tlv, Tlv];
  const [, params] = children(der, algorithm.start, algorithm.end) as [Tlv, Tlv];
  const [p, q, g] = children(der, params.start, params.end).map((tlv) => hexOf(der, tlv));
  const y = hexOf(der, children(der, bitString.start + 1, bitString.end)[0] as Tlv);
  return { algorithm: 'DS', p: p as string, q: q as string, g: g as string, y };
}

interface Tlv {
  start: number;
  end: number;
}

function children(der: Buffer, from: number, to = der.length): Tlv[] {
  const result: Tlv[] = [];
  let offset = from;
  while (offset < to) {
    let length = der[offset + 1] as number;
    let start = offset + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] as number);
      start += count;
    }
    result.push({ start, end: start + length });
    offset = start + length;
  }
  return result;
}

function hexOf(der: Buffer, tlv: Tlv): string {
  return BigInt(`0x${der.subarray(tlv.start, tlv.end).toString('hex')}`).toString(16);
}
