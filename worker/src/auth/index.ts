export { type BackedAssertion, type JwsSegment, parseBackedAssertion } from './browserid/assertion.js';
export { AudienceMatcher } from './browserid/audience.js';
export { IdpKeyResolver, type IdpOptions, type SupportDocument } from './browserid/idp.js';
export { type BrowserIdPublicKey, importBrowserIdKey, KeyCache, type VerificationKey } from './browserid/keys.js';
export {
  type BrowserIdIdentity,
  BrowserIdVerifier,
  type BrowserIdVerifierOptions,
  type VerifyOptions,
} from './browserid/verify.js';
export * from './errors.js';
export { type FxaClaims, readFxaClaims } from './fxa-claims.js';
export {
  type KeyId,
  type OAuthIdentity,
  OAuthVerifier,
  type OAuthVerifierOptions,
  parseKeyId,
  scopeMatches,
} from './oauth.js';
