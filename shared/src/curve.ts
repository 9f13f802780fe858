// CURVE (encryption and authentication) for the broker's sockets. Imports zeromq: not part of
// the shared index (job threads must not load zeromq); use '@tokenserver/shared/curve'.
import { readFileSync, writeFileSync } from 'node:fs';
import { curveKeyPair } from 'zeromq';
import type { Config } from './config-schema.js';
import { isCurveKey } from './z85.js';

export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/** Options for a web front's or worker's socket: none when CURVE is off. */
export type CurveClientOptions = { curveServerKey: string; curvePublicKey: string; curveSecretKey: string } | object;

/** Options for one of the broker's sockets; `zapDomain` selects which allow-list ZAP applies. */
export type CurveServerOptions = { curveServer: true; curveSecretKey: string; zapDomain: string } | object;

/** A fresh key pair, written to `path` with mode 0600 when given. */
export function generateKeyPair(path?: string): CurveKeyPair {
  const { publicKey, secretKey } = curveKeyPair();
  if (path) writeFileSync(path, `${JSON.stringify({ publicKey, secretKey }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return { publicKey, secretKey };
}

export function readKeyPair(path: string): CurveKeyPair {
  let parsed: Partial<CurveKeyPair>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CurveKeyPair>;
  } catch (err) {
    throw new Error(`cannot read the CURVE key file ${path}: ${(err as Error).message}`);
  }
  if (!isCurveKey(parsed.publicKey ?? '') || !isCurveKey(parsed.secretKey ?? '')) {
    throw new Error(`${path} does not hold a CURVE key pair (publicKey and secretKey, 40 characters of Z85 each)`);
  }
  return parsed as CurveKeyPair;
}

export function curveClientOptions(config: Pick<Config, 'security'>): CurveClientOptions {
  const { security } = config;
  if (!security.curve) return {};
  const own = readKeyPair(security.key_file);
  return { curveServerKey: security.broker_public_key, curvePublicKey: own.publicKey, curveSecretKey: own.secretKey };
}

export function curveServerOptions(config: Pick<Config, 'security'>, zapDomain: string): CurveServerOptions {
  if (!config.security.curve) return {};
  return { curveServer: true, curveSecretKey: readKeyPair(config.security.key_file).secretKey, zapDomain };
}
