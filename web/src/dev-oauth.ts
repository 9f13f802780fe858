import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OAuthConfig, signRs256Jwt } from '@tokenserver/shared';

// Local OAuth credentials for trying the stack without Firefox Accounts: an RSA key generated once into the run
// directory signs access tokens shaped like FxA's. Nothing trusts that key unless the operator pins its JWKS
// ([oauth] jwks, e.g. TOKENSERVER_OAUTH__JWKS), so the server never accepts these tokens by default.

export const DEV_OAUTH_KEY_FILE = 'dev_oauth_key.pem';
const DEV_KID = 'tokenserver-dev';

export interface DevTokenOptions {
  fxaUid: string;
  generation?: number;
  lifetimeS?: number;
}

/** The dev signing key, generated (mode 0600) on first use. */
export function devOAuthKey(runDir: string): KeyObject {
  const path = join(runDir, DEV_OAUTH_KEY_FILE);
  try {
    return createPrivateKey(readFileSync(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  try {
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    return privateKey;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return createPrivateKey(readFileSync(path, 'utf8')); // another process created it first
  }
}

/** The JWKS to pin as `[oauth] jwks` so that the stack accepts dev tokens. */
export function devJwks(key: KeyObject): { keys: Array<Record<string, unknown>> } {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return { keys: [{ kty: 'RSA', alg: 'RS256', use: 'sig', kid: DEV_KID, n: jwk.n, e: jwk.e }] };
}

/** An RS256 `at+jwt` access token for `<fxaUid>@<email_domain>` with the configured scope. */
export function devAccessToken(
  key: KeyObject,
  oauth: Pick<OAuthConfig, 'scope' | 'issuer'>,
  options: DevTokenOptions,
): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: options.fxaUid,
    scope: oauth.scope,
    client_id: 'tokenserver-dev',
    iat: now,
    exp: now + (options.lifetimeS ?? 3600),
    jti: randomBytes(8).toString('hex'),
    ...(oauth.issuer === undefined ? {} : { iss: oauth.issuer }),
    ...(options.generation === undefined ? {} : { 'fxa-generation': options.generation }),
  };
  return signRs256Jwt(key, { typ: 'at+jwt', kid: DEV_KID }, claims);
}
