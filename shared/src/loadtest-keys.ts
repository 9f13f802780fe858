import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config-schema.js';
import { createFileOnce } from './token-secrets-source.js';

// loadtest_mode: the load-test tool signs BrowserID certificates and OAuth access tokens with RSA keys kept in the run
// directory, and workers in that mode trust those keys for the reserved issuer `loadtest.local` only. Whichever
// side starts first generates the key file; the other reads it.

/** The issuer (and email domain) of load-test credentials; never resolved through the network. */
export const LOADTEST_ISSUER = 'loadtest.local';
/** The `kid` of load-test OAuth access tokens. */
export const LOADTEST_OAUTH_KID = 'loadtest-local';

export type LoadtestKeyKind = 'browserid' | 'oauth';

export const LOADTEST_KEY_FILES: Readonly<Record<LoadtestKeyKind, string>> = {
  browserid: 'loadtest-browserid-key.json',
  oauth: 'loadtest-oauth-key.json',
};

export interface LoadtestKey {
  path: string;
  /** True when this call generated the file. */
  created: boolean;
  /** RSA public key as a JWK (`kty`, `n`, `e`). */
  publicJwk: { kty: 'RSA'; n: string; e: string };
  privateKey: KeyObject;
}

interface LoadtestKeyFile {
  issuer: string;
  publicJwk: LoadtestKey['publicJwk'];
  privateKeyPem: string;
}

/** Reads the key of `kind` from `runDir`, generating it (RSA-2048, mode 0600) when `create` and missing. */
export function loadOrCreateLoadtestKey(runDir: string, kind: LoadtestKeyKind, { create = true } = {}): LoadtestKey {
  const path = join(runDir, LOADTEST_KEY_FILES[kind]);
  const existing = readKeyFile(path);
  if (existing) return { ...existing, path, created: false };
  if (!create) throw new Error(`loadtest key ${path} does not exist`);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const file: LoadtestKeyFile = {
    issuer: LOADTEST_ISSUER,
    publicJwk: { kty: 'RSA', n: jwk.n as string, e: jwk.e as string },
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
  if (createFileOnce(path, `${JSON.stringify(file, null, 2)}\n`)) {
    return { path, created: true, publicJwk: file.publicJwk, privateKey };
  }
  const winner = readKeyFile(path);
  if (!winner) throw new Error(`${path} vanished while being created`);
  return { ...winner, path, created: false };
}

function readKeyFile(path: string): Omit<LoadtestKey, 'path' | 'created'> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const file = JSON.parse(text) as Partial<LoadtestKeyFile>;
  if (file.issuer !== LOADTEST_ISSUER || typeof file.privateKeyPem !== 'string' || !file.publicJwk?.n) {
    throw new Error(`${path} is not a loadtest key file`);
  }
  return { publicJwk: file.publicJwk, privateKey: createPrivateKey(file.privateKeyPem) };
}

/** The BrowserID public-key object (`n`, `e` in decimal) of an RSA JWK. */
export function browserIdRsaPublicKey(jwk: { n: string; e: string }): { algorithm: 'RS'; n: string; e: string } {
  const decimal = (value: string) => BigInt(`0x${Buffer.from(value, 'base64url').toString('hex')}`).toString(10);
  return { algorithm: 'RS', n: decimal(jwk.n), e: decimal(jwk.e) };
}

/** A compact RS256 JWS of `claims` (synchronous, for pre-signing many tokens). */
export function signRs256Jwt(privateKey: KeyObject, header: Record<string, unknown>, claims: object): string {
  const input = `${base64UrlJson({ alg: 'RS256', ...header })}.${base64UrlJson(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

function base64UrlJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Which load-test modes are on, as config key names. */
export function loadtestModes(config: Pick<Config, 'browserid' | 'oauth'>): string[] {
  const modes: string[] = [];
  if (config.browserid.loadtest_mode) modes.push('browserid.loadtest_mode');
  if (config.oauth.loadtest_mode) modes.push('oauth.loadtest_mode');
  return modes;
}

/** The warning every process prints while a load-test mode is on; undefined when none is. */
export function loadtestWarning(config: Pick<Config, 'browserid' | 'oauth'>): string | undefined {
  const modes = loadtestModes(config);
  if (modes.length === 0) return undefined;
  return (
    `LOADTEST MODE IS ON (${modes.join(', ')}): credentials signed with the load-test keys in the run directory ` +
    `are accepted for ${LOADTEST_ISSUER}. Never run a production server like this.`
  );
}
