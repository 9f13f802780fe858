import { createPublicKey, type KeyObject } from 'node:crypto';
import { MalformedCredentialsError, UnsupportedAlgorithmError } from '../errors.js';

// BrowserID public-key objects ({algorithm:"RS", n, e} in decimal, {algorithm:"DS", p, q, g, y}
// in hex) turned into node:crypto KeyObjects. The size bucket of the key decides the JWS alg.

export type BrowserIdAlgorithm = 'RS64' | 'RS128' | 'RS256' | 'DS128' | 'DS256';

export interface RsaPublicKeyObject {
  algorithm: 'RS';
  n: string;
  e: string;
}

export interface DsaPublicKeyObject {
  algorithm: 'DS';
  p: string;
  q: string;
  g: string;
  y: string;
}

export type BrowserIdPublicKey = RsaPublicKeyObject | DsaPublicKeyObject;

export interface VerificationKey {
  /** The only JWS alg this key verifies. */
  readonly alg: BrowserIdAlgorithm;
  readonly key: KeyObject;
  /** RSA: modulus length in bytes. DSA: length of q in bytes (r and s each have this width). */
  readonly size: number;
  /** DSA only: q, big-endian, `size` bytes. */
  readonly q?: Buffer;
}

const DECIMAL = /^[1-9][0-9]*$/;
const HEX = /^[0-9a-fA-F]+$/;
const MAX_DECIMAL_DIGITS = 700; // 2049-bit moduli have 617 digits
const MAX_HEX_DIGITS = 520; // 2048-bit p, with a little room for leading zeros
const RSA_BUCKETS: ReadonlyArray<[bits: number, alg: BrowserIdAlgorithm]> = [
  [512, 'RS64'],
  [1024, 'RS128'],
  [2048, 'RS256'],
];
const DSA_SIZES: ReadonlyArray<[pBits: number, qBits: number, alg: BrowserIdAlgorithm]> = [
  [1024, 160, 'DS128'],
  [2048, 256, 'DS256'],
];
// id-dsa, 1.2.840.10040.4.1
const DSA_OID = Buffer.from('06072a8648ce380401', 'hex');

/** Imports a BrowserID public-key object; throws only typed auth errors. */
export function importBrowserIdKey(value: unknown): VerificationKey {
  if (typeof value !== 'object' || value === null) throw new MalformedCredentialsError('public key is not an object');
  const object = value as Record<string, unknown>;
  if (object.algorithm === 'RS') return importRsa(object);
  if (object.algorithm === 'DS') return importDsa(object);
  throw new UnsupportedAlgorithmError('unknown public-key algorithm');
}

/** A stable identity for a key object, used as a cache key. */
export function keyFingerprint(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  if (o.algorithm === 'RS') return `RS:${o.n}:${o.e}`;
  if (o.algorithm === 'DS') return `DS:${o.p}:${o.q}:${o.g}:${o.y}`;
  return undefined;
}

/** Imports each distinct key object once; bounded, oldest entries are dropped first. */
export class KeyCache {
  private readonly keys = new Map<string, VerificationKey>();

  constructor(private readonly maxEntries = 1000) {}

  import(value: unknown): VerificationKey {
    const fingerprint = keyFingerprint(value);
    if (fingerprint === undefined) return importBrowserIdKey(value);
    let key = this.keys.get(fingerprint);
    if (!key) {
      key = importBrowserIdKey(value);
      if (this.keys.size >= this.maxEntries) this.keys.delete(this.keys.keys().next().value as string);
      this.keys.set(fingerprint, key);
    }
    return key;
  }

  get size(): number {
    return this.keys.size;
  }
}

function importRsa(object: Record<string, unknown>): VerificationKey {
  const n = readInteger(object.n, DECIMAL, MAX_DECIMAL_DIGITS, 10, 'n');
  const e = readInteger(object.e, DECIMAL, 10, 10, 'e');
  const bits = bitLength(n);
  const bucket = RSA_BUCKETS.find(([size]) => Math.abs(bits - size) <= 1);
  if (!bucket) throw new UnsupportedAlgorithmError(`unsupported RSA key size ${bits}`);
  if (e < 3n || e % 2n === 0n) throw new MalformedCredentialsError('invalid RSA exponent');
  const jwk = { kty: 'RSA', n: toUnsigned(n).toString('base64url'), e: toUnsigned(e).toString('base64url') };
  return { alg: bucket[1], key: createKey(() => createPublicKey({ key: jwk, format: 'jwk' })), size: (bits + 7) >> 3 };
}

function importDsa(object: Record<string, unknown>): VerificationKey {
  const p = readInteger(object.p, HEX, MAX_HEX_DIGITS, 16, 'p');
  const q = readInteger(object.q, HEX, MAX_HEX_DIGITS, 16, 'q');
  const g = readInteger(object.g, HEX, MAX_HEX_DIGITS, 16, 'g');
  const y = readInteger(object.y, HEX, MAX_HEX_DIGITS, 16, 'y');
  const pBits = bitLength(p);
  const qBits = bitLength(q);
  const size = DSA_SIZES.find(([pSize, qSize]) => pSize === pBits && qSize === qBits);
  if (!size) throw new UnsupportedAlgorithmError(`unsupported DSA key size ${pBits}/${qBits}`);
  if (g <= 1n || g >= p || y <= 1n || y >= p) throw new MalformedCredentialsError('invalid DSA key');
  const der = dsaSpki(p, q, g, y);
  const qBytes = qBits >> 3;
  return {
    alg: size[2],
    key: createKey(() => createPublicKey({ key: der, format: 'der', type: 'spki' })),
    size: qBytes,
    q: toFixedWidth(q, qBytes),
  };
}

function readInteger(value: unknown, syntax: RegExp, maxDigits: number, radix: 10 | 16, name: string): bigint {
  if (typeof value !== 'string' || value.length > maxDigits || !syntax.test(value)) {
    throw new MalformedCredentialsError(`public key field ${name} is not a valid integer`);
  }
  return BigInt(radix === 16 ? `0x${value}` : value);
}

function createKey(create: () => KeyObject): KeyObject {
  try {
    return create();
  } catch (err) {
    throw new MalformedCredentialsError('public key is not usable', { cause: err });
  }
}

function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/** Minimal big-endian bytes of a non-negative integer. */
function toUnsigned(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

function toFixedWidth(value: bigint, width: number): Buffer {
  return Buffer.from(value.toString(16).padStart(width * 2, '0'), 'hex');
}

/** SubjectPublicKeyInfo DER: SEQ{ SEQ{ id-dsa, SEQ{p, q, g} }, BIT STRING{ INTEGER y } }. */
export function dsaSpki(p: bigint, q: bigint, g: bigint, y: bigint): Buffer {
  const params = der(0x30, Buffer.concat([derInteger(p), derInteger(q), derInteger(g)]));
  const algorithm = der(0x30, Buffer.concat([DSA_OID, params]));
  const publicKey = der(0x03, Buffer.concat([Buffer.of(0), derInteger(y)]));
  return der(0x30, Buffer.concat([algorithm, publicKey]));
}

function derInteger(value: bigint): Buffer {
  const bytes = toUnsigned(value);
  const content = bytes.length === 0 || (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
  return der(0x02, content);
}

function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.of(tag, length);
  else if (length < 0x100) header = Buffer.of(tag, 0x81, length);
  else header = Buffer.of(tag, 0x82, length >> 8, length & 0xff);
  return Buffer.concat([header, content]);
}
