import { InvalidClaimError, InvalidGenerationError } from './errors.js';

/** The FxA claims the token server acts on, validated. Absent claims are undefined. */
export interface FxaClaims {
  /** `fxa-generation`, milliseconds. */
  generation?: number;
  /** `fxa-keysChangedAt`, milliseconds (BrowserID only; OAuth gets it from X-KeyID). */
  keysChangedAt?: number;
  /** `fxa-tokenVerified`; a false value is rejected, so this is only ever true or absent. */
  tokenVerified?: true;
  /** `fxa-deviceId`. */
  deviceId?: string;
}

/** Reads and checks the `fxa-*` claims of a verified claim set. */
export function readFxaClaims(claims: Readonly<Record<string, unknown>>): FxaClaims {
  const result: FxaClaims = {};
  const generation = claims['fxa-generation'];
  if (generation !== undefined && generation !== null) {
    if (!isTimestamp(generation)) throw new InvalidGenerationError('fxa-generation is not an integer');
    result.generation = generation;
  }
  const keysChangedAt = claims['fxa-keysChangedAt'];
  if (keysChangedAt !== undefined && keysChangedAt !== null) {
    if (!isTimestamp(keysChangedAt)) throw new InvalidClaimError('invalid keysChangedAt');
    result.keysChangedAt = keysChangedAt;
  }
  const tokenVerified = claims['fxa-tokenVerified'];
  if (tokenVerified === false) throw new InvalidClaimError('the FxA session is not verified');
  if (tokenVerified === true) result.tokenVerified = true;
  const deviceId = claims['fxa-deviceId'];
  if (typeof deviceId === 'string') result.deviceId = deviceId;
  return result;
}

function isTimestamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
