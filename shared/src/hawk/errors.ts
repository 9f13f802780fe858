import { CodedError } from '../errors.js';
import type { TokenError } from '../tokenlib.js';

// Why a service node refused a Hawk request. Each has a stable `code`; every one of them is
// answered 401 with `WWW-Authenticate: Hawk …`, except an oversized body (413) and oversized
// headers (431, still with the challenge).

export class HawkAuthError extends CodedError {
  readonly code: string = 'ERR_HAWK';
  readonly httpStatus: number = 401;

  /** The `WWW-Authenticate` value of the answer. */
  get challenge(): string {
    return `Hawk error="${this.message}"`;
  }
}

/** No Authorization header, or one with another scheme. */
export class MissingHawkCredentialsError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_MISSING';
  override get challenge(): string {
    return 'Hawk';
  }
}

/** Bad syntax, unknown or duplicate attributes, a missing id/ts/nonce/mac, a header too long, a bad Host. */
export class MalformedHawkHeaderError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_MALFORMED';
}

/** The token (the Hawk id) is malformed, forged, expired or for another node; `cause` is the TokenError. */
export class InvalidHawkTokenError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_INVALID_TOKEN';
  constructor(readonly tokenError: TokenError) {
    super(tokenError.message, { cause: tokenError });
  }

  /** The TokenError's code: ERR_TOKEN_MALFORMED, _BAD_SIGNATURE, _EXPIRED or _WRONG_NODE. */
  get tokenCode(): string {
    return this.tokenError.code;
  }
}

export class BadHawkMacError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_BAD_MAC';
}

export class BadPayloadHashError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_BAD_PAYLOAD_HASH';
}

/** The nonce was already used with this token within the timestamp window. */
export class ReplayedNonceError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_REPLAYED_NONCE';
}

/** `ts` is outside the skew window; the challenge carries the server time so clients can resync. */
export class StaleTimestampError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_STALE_TIMESTAMP';
  constructor(
    readonly serverTs: number,
    readonly tsm: string,
  ) {
    super('Stale timestamp');
  }

  override get challenge(): string {
    return `Hawk ts="${this.serverTs}", tsm="${this.tsm}", error="${this.message}"`;
  }
}

/** The token's uid is not the uid in the URL. */
export class UidMismatchError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_UID_MISMATCH';
}

export class PayloadTooLargeError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_PAYLOAD_TOO_LARGE';
  override readonly httpStatus = 413;
}

/** The request headers (an Authorization header, say) exceed the server's limit: Node refuses to parse them. */
export class HeadersTooLargeError extends HawkAuthError {
  override readonly code = 'ERR_HAWK_HEADERS_TOO_LARGE';
  override readonly httpStatus = 431;
}
