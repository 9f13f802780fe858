// The HTTP error catalogue of the token server (reference §1.4): the one place where statuses, `status`
// strings and descriptions are defined. Clients (Firefox desktop, Android, iOS) switch on `status`.

export type ErrorLocation = 'body' | 'header' | 'url' | 'internal';

export interface ErrorDetail {
  location: ErrorLocation;
  name: string;
  description: string;
}

export interface ErrorBody {
  status: string;
  errors: ErrorDetail[];
}

export class TokenServerError extends Error {
  /** The answer's body, serialised once: a shared instance (the shed 503) goes out thousands of times a second. */
  readonly json: string;

  constructor(
    readonly httpStatus: number,
    readonly status: string,
    readonly detail: ErrorDetail,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${httpStatus} ${status}: ${detail.description}`);
    this.name = 'TokenServerError';
    this.json = JSON.stringify(this.toBody());
  }

  get location(): ErrorLocation {
    return this.detail.location;
  }

  get description(): string {
    return this.detail.description;
  }

  toBody(): ErrorBody {
    return { status: this.status, errors: [{ ...this.detail }] };
  }
}

const unauthorizedDetail = (description = 'Unauthorized'): ErrorDetail => ({ location: 'body', name: '', description });

/** Why a new X-Client-State / X-KeyID client state was refused (the description's suffix). */
export type ClientStateRejection =
  | 'empty string'
  | 'stale value'
  | 'new value with no generation change'
  | 'new value with no keys_changed_at change';

export const apiErrors = {
  /** 404: /1.0/{application}/… names no configured application. */
  unknownApplication: () =>
    new TokenServerError(404, 'error', {
      location: 'url',
      name: 'application',
      description: 'Unsupported application',
    }),
  /** 404: the application exists but not in this version; `name` is the version string itself. */
  unknownVersion: (version: string) =>
    new TokenServerError(404, 'error', {
      location: 'url',
      name: version,
      description: 'Unsupported application version',
    }),
  /** 400: X-Client-State (or the client state inside X-KeyID) is not 1-32 of [a-zA-Z0-9._-]. */
  invalidClientStateValue: () =>
    new TokenServerError(400, 'error', {
      location: 'header',
      name: 'X-Client-State',
      description: 'Invalid client state value',
    }),
  /** 401: no or malformed Authorization header. */
  unauthorized: () => new TokenServerError(401, 'error', unauthorizedDetail()),
  /** 401: an authorization scheme this server does not verify. */
  unsupportedScheme: () =>
    new TokenServerError(401, 'error', unauthorizedDetail('Unsupported'), { 'WWW-Authenticate': 'BrowserID' }),
  /** 401: bad signature, audience, issuer, scope, unverified session, bad X-KeyID, non-integer keysChangedAt. */
  invalidCredentials: (description = 'Unauthorized') =>
    new TokenServerError(401, 'invalid-credentials', unauthorizedDetail(description)),
  /** 401: the keysChangedAt claim is not an integer. */
  invalidKeysChangedAtClaim: () =>
    new TokenServerError(401, 'invalid-credentials', unauthorizedDetail('invalid keysChangedAt')),
  /** 401: the assertion expired (or is not yet valid); the client resyncs its clock from X-Timestamp. */
  invalidTimestamp: () => new TokenServerError(401, 'invalid-timestamp', unauthorizedDetail()),
  /** 401: generation older than the stored one, non-integer generation, or a retired account. */
  invalidGeneration: () => new TokenServerError(401, 'invalid-generation', unauthorizedDetail()),
  /** 401: keysChangedAt older than stored, missing once stored, or newer than the generation. */
  invalidKeysChangedAt: () => new TokenServerError(401, 'invalid-keysChangedAt', unauthorizedDetail()),
  /** 401: a client-state change the account rules refuse. */
  invalidClientState: (reason: ClientStateRejection) =>
    new TokenServerError(401, 'invalid-client-state', {
      location: 'header',
      name: 'X-Client-State',
      description: `Unacceptable client-state value ${reason}`,
    }),
  /** 401: X-Client-State disagrees with the client state inside X-KeyID. */
  clientStateMismatch: () => new TokenServerError(401, 'invalid-client-state', unauthorizedDetail()),
  /** 401: an OAuth request without X-KeyID where one is required. */
  missingKeyId: () =>
    new TokenServerError(401, 'invalid-key-id', {
      location: 'header',
      name: '',
      description: 'Missing X-KeyID header',
    }),
  /** 401 (as the Python server): an unknown user while `assignment.allow_new_users = false`. */
  newUsersDisabled: () =>
    new TokenServerError(401, 'new-users-disabled', unauthorizedDetail('New users are not allowed')),
  /** 503: a dependency (FxA verifier, broker, workers) is unreachable or timed out. */
  unavailable: (retryAfterS: number, description = 'Resource is not available') =>
    new TokenServerError(503, 'error', unauthorizedDetail(description), { 'Retry-After': String(retryAfterS) }),
  /** 503: the service has no api_endpoint pattern. */
  unknownEndpointPattern: (service: string, retryAfterS: number) =>
    new TokenServerError(503, 'error', unauthorizedDetail(`The api_endpoint pattern for '${service}' is not known`), {
      'Retry-After': String(retryAfterS),
    }),
  /** 503: the database is down, or no node can take a new user ("unable to get a node"). */
  backendUnavailable: (retryAfterS: number) =>
    new TokenServerError(
      503,
      'internal-error',
      { location: 'internal', name: '', description: 'Server error' },
      { 'Retry-After': String(retryAfterS) },
    ),
  /** 504: a database call exceeded its deadline. */
  elapsed: () => new TokenServerError(504, 'elapsed', unauthorizedDetail('Elapsed')),
  /** 500: anything unexpected (never includes internals in the body). */
  internalError: () =>
    new TokenServerError(500, 'internal-error', { location: 'internal', name: '', description: 'Server error' }),
  /** 405: the route exists with another method. */
  methodNotAllowed: () =>
    new TokenServerError(405, 'error', { location: 'url', name: 'method', description: 'Method not allowed' }),
  /** 404: no route at this path (the token route's own 404s are unknownApplication / unknownVersion). */
  notFound: () => new TokenServerError(404, 'error', { location: 'url', name: 'path', description: 'Not found' }),
  /** 400: a request the HTTP layer cannot read (bad percent-encoding, malformed request line or headers). */
  badRequest: () => new TokenServerError(400, 'error', { location: 'url', name: '', description: 'Bad request' }),
  /** 431: the request headers exceed the server's limit. */
  headersTooLarge: () =>
    new TokenServerError(431, 'error', { location: 'header', name: '', description: 'Request headers too large' }),
  /** 413: the request body exceeds `[web] max_body_bytes`. */
  bodyTooLarge: () =>
    new TokenServerError(413, 'error', { location: 'body', name: '', description: 'Request body too large' }),
  /** 408: the request headers did not arrive within `[web] headers_timeout_ms`. */
  requestTimeout: () =>
    new TokenServerError(408, 'error', { location: 'header', name: '', description: 'Request timeout' }),
  /** 406: the client accepts no representation the server produces. */
  notAcceptable: () =>
    new TokenServerError(406, 'error', { location: 'header', name: 'Accept', description: 'Not acceptable' }),
} as const;
