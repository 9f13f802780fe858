import { CodedError } from '@tokenserver/shared';

// Typed credential-verification errors. Each carries a stable `code` and the token-server API
// status it maps to; the web front turns that status into the HTTP answer.

/** API status of a failed verification, with the HTTP status it is answered with. */
export const AuthStatus = {
  invalidCredentials: { status: 'invalid-credentials', httpStatus: 401 },
  invalidTimestamp: { status: 'invalid-timestamp', httpStatus: 401 },
  invalidGeneration: { status: 'invalid-generation', httpStatus: 401 },
  unavailable: { status: 'unavailable', httpStatus: 503 },
} as const;

export type AuthStatusMapping = (typeof AuthStatus)[keyof typeof AuthStatus];
export type AuthStatusName = AuthStatusMapping['status'];

export abstract class AuthError extends CodedError {
  abstract readonly mapping: AuthStatusMapping;
  /** `invalid-credentials`, `invalid-timestamp`, `invalid-generation` or `unavailable`. */
  get status(): AuthStatusName {
    return this.mapping.status;
  }
  get httpStatus(): AuthStatusMapping['httpStatus'] {
    return this.mapping.httpStatus;
  }
}

abstract class InvalidCredentialsError extends AuthError {
  readonly mapping: AuthStatusMapping = AuthStatus.invalidCredentials;
}

/** Not parseable: bad encoding, JSON, structure, size, email, or a missing claim. */
export class MalformedCredentialsError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_MALFORMED';
}

/** Unknown or mismatching signing algorithm, or a key of an unsupported kind or size. */
export class UnsupportedAlgorithmError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_ALGORITHM';
}

export class InvalidSignatureError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_BAD_SIGNATURE';
}

export class AudienceMismatchError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_AUDIENCE';
}

/** The issuer is not trusted for the email, not allowed, or is not a BrowserID IdP. */
export class UntrustedIssuerError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_ISSUER';
}

/** More than one certificate in a backed assertion. */
export class UnsupportedCertChainError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_CERT_CHAIN';
}

/** A claim is present but unacceptable: wrong `typ`, `fxa-tokenVerified: false`, bad keysChangedAt... */
export class InvalidClaimError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_CLAIM';
}

export class ScopeMismatchError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_SCOPE';
}

/** An OAuth access token past its `exp` (the API answers invalid-credentials, not invalid-timestamp). */
export class ExpiredTokenError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_TOKEN_EXPIRED';
}

/** The X-KeyID header is not `<keysChangedAt>-<base64url client state>`. */
export class InvalidKeyIdError extends InvalidCredentialsError {
  readonly code = 'ERR_AUTH_KEY_ID';
}

/** A BrowserID certificate or assertion is expired or issued in the future (clients resync their clock). */
export class ExpiredAssertionError extends AuthError {
  readonly code = 'ERR_AUTH_EXPIRED';
  readonly mapping: AuthStatusMapping = AuthStatus.invalidTimestamp;
}

/** The `fxa-generation` claim is not an integer. */
export class InvalidGenerationError extends AuthError {
  readonly code = 'ERR_AUTH_GENERATION';
  readonly mapping: AuthStatusMapping = AuthStatus.invalidGeneration;
}

/** The IdP or the JWKS endpoint could not be reached or timed out (a JWKS answering garbage too). */
export class VerifierUnavailableError extends AuthError {
  readonly code = 'ERR_AUTH_UNAVAILABLE';
  readonly mapping: AuthStatusMapping = AuthStatus.unavailable;
}
