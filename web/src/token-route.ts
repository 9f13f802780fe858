import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  formatFxaKid,
  type Logger,
  PowerhoseError,
  type VerifiedIdentity,
  type VerifyVerdict,
} from '@tokenserver/shared';
import { type AccountClaims, type AssignedUser, apiEndpoint, apiErrorForStoreError, resolveUser } from './accounts.js';
import { apiErrors, TokenServerError } from './api-errors.js';
import type { ServiceRecord, Store } from './db/store.js';
import { RequestRecord, requestRecordOf } from './observability/request-record.js';
import { sendError, sendJson } from './responses.js';
import type { ServiceCatalogue } from './service-catalogue.js';
import { apiErrorForJobError, apiErrorForVerdict, MalformedAnswerError, type TokenJobs } from './token-jobs-client.js';

// GET /1.0/{application}/{version}: the whole request, top to bottom. Cheap checks come first so that
// malformed requests never reach the broker; the credential is verified and the token signed by workers.

export interface TokenRouteDeps {
  store: Store;
  services: ServiceCatalogue;
  jobs: TokenJobs;
  log: Logger;
  retryAfterS: number;
  /** Requests worked on at once; more are shed with an immediate 503. */
  maxInFlight: number;
  allowNewUsers: boolean;
  /** Longest credential sent to a worker per scheme; longer ones are rejected here without a job. */
  maxCredentialBytes: { browserid: number; bearer: number };
}

const CLIENT_STATE = /^[a-zA-Z0-9._-]{1,32}$/;

type Credential = { scheme: 'browserid'; assertion: string } | { scheme: 'bearer'; token: string };

/** What the token route reads from the URL; the HTTP layer (fast path or Express) extracts it. */
export interface TokenTarget {
  application: string;
  version: string;
  /** `?duration=` as sent (the first one), if any. */
  duration: unknown;
}

export type TokenHandler = (req: IncomingMessage, res: ServerResponse, target: TokenTarget) => Promise<void>;

export function tokenRoute(deps: TokenRouteDeps): TokenHandler {
  let inFlight = 0;
  // Made once: under overload this answer goes out thousands of times a second, and building an Error (its stack
  // trace) each time was 5% of the web front's CPU in a profile at twice the saturating rate.
  const overloaded = apiErrors.unavailable(deps.retryAfterS);
  return async (req, res, target) => {
    const record = requestRecordOf(res) ?? new RequestRecord('', 0);
    if (inFlight >= deps.maxInFlight) return sendError(res, overloaded);
    inFlight++;
    try {
      record.startStage();
      const service = await deps.services.lookup(target.application, target.version);
      record.endStage('db');
      const clientStateHeader = readClientState(req.headers);
      const credential = readAuthorization(req.headers, deps.maxCredentialBytes);
      record.startStage();
      const verdict = await verify(deps.jobs, credential, req.headers);
      record.endStage('verify');
      if (!verdict.ok) throw apiErrorForVerdict(verdict, deps.retryAfterS);
      const identity = verdict.identity;
      const claims = accountClaims(credential, identity, clientStateHeader);
      record.startStage();
      const user = await resolveUser(deps.store, service.name, identity.email, claims, {
        allowNewUsers: deps.allowNewUsers,
      });
      record.endStage('db');
      record.startStage();
      const answer = await tokenAnswer(deps, service, user, identity, target.duration, record);
      record.endStage('sign');
      sendJson(res, 200, answer);
    } catch (err) {
      answerFailure(deps, req, res, err, record);
    } finally {
      inFlight--;
    }
  };
}

/** X-Client-State, when present and not empty; malformed → 400. */
function readClientState(headers: IncomingHttpHeaders): string | undefined {
  const value = headerValue(headers, 'x-client-state');
  if (value === undefined || value === '') return undefined;
  if (!CLIENT_STATE.test(value)) throw apiErrors.invalidClientStateValue();
  return value;
}

/** Node joins repeated custom headers with ", "; the array form only exists in the types. */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** `Authorization: <scheme> <credential>`, scheme case-insensitive. */
function readAuthorization(headers: IncomingHttpHeaders, maxBytes: TokenRouteDeps['maxCredentialBytes']): Credential {
  const header = headers.authorization;
  const match = header === undefined ? null : /^(\S+)\s+(\S.*)$/s.exec(header);
  if (!match) throw apiErrors.unauthorized();
  const scheme = (match[1] as string).toLowerCase();
  const value = (match[2] as string).trim();
  if (scheme !== 'browserid' && scheme !== 'bearer') throw apiErrors.unsupportedScheme();
  if (value.length > maxBytes[scheme]) throw apiErrors.invalidCredentials();
  return scheme === 'browserid' ? { scheme, assertion: value } : { scheme, token: value };
}

function verify(jobs: TokenJobs, credential: Credential, headers: IncomingHttpHeaders): Promise<VerifyVerdict> {
  if (credential.scheme === 'browserid') return jobs.verifyBrowserId({ assertion: credential.assertion });
  const keyId = headerValue(headers, 'x-keyid');
  return jobs.verifyOAuth(keyId === undefined ? { token: credential.token } : { token: credential.token, keyId });
}

/**
 * What the request claims about the account. An OAuth request's client state comes from X-KeyID (X-Client-State,
 * when also sent, must agree); a BrowserID request's from X-Client-State. Absent values are 0 / ''.
 */
function accountClaims(
  credential: Credential,
  identity: VerifiedIdentity,
  clientStateHeader: string | undefined,
): AccountClaims {
  let clientState = clientStateHeader ?? '';
  if (credential.scheme === 'bearer' && identity.clientState !== undefined) {
    if (clientStateHeader !== undefined && clientStateHeader !== identity.clientState) {
      throw apiErrors.clientStateMismatch();
    }
    clientState = identity.clientState;
  }
  return { generation: identity.generation ?? 0, keysChangedAt: identity.keysChangedAt ?? 0, clientState };
}

async function tokenAnswer(
  deps: TokenRouteDeps,
  service: ServiceRecord,
  user: AssignedUser,
  identity: VerifiedIdentity,
  duration: unknown,
  record: RequestRecord,
): Promise<string> {
  if (!service.pattern) throw apiErrors.unknownEndpointPattern(service.name, deps.retryAfterS);
  const token = await deps.jobs.signToken({
    uid: user.uid,
    node: user.nodeUrl,
    fxaUid: identity.fxaUid,
    fxaKid: formatFxaKid(user.keysChangedAt || user.generation, user.clientState),
    ...(identity.deviceId === undefined ? {} : { deviceId: identity.deviceId }),
    ...(typeof duration === 'string' && duration.length <= 20 ? { requestedDuration: duration } : {}),
  });
  record.hashedFxaUid = token.hashedFxaUid;
  return JSON.stringify({
    id: token.id,
    key: token.key,
    uid: user.uid,
    api_endpoint: apiEndpoint(service.pattern, user),
    duration: token.duration,
    hashalg: 'sha256',
    hashed_fxa_uid: token.hashedFxaUid,
    // No node classification is configured (the Python server's node_type_patterns): null, as it answers then.
    node_type: null,
  });
}

/** Known failures get their catalogue answer; anything else is a bug: 500, logged with a request id. */
function answerFailure(
  deps: TokenRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  record: RequestRecord,
): void {
  if (err instanceof PowerhoseError || err instanceof MalformedAnswerError) record.jobError = err.code;
  const known =
    err instanceof TokenServerError
      ? err
      : (apiErrorForJobError(err, deps.retryAfterS) ?? apiErrorForStoreError(err, deps.retryAfterS));
  if (known) {
    if (known.httpStatus >= 500)
      deps.log.warn({ err: describe(err), status: known.httpStatus }, 'dependency unavailable');
    sendError(res, known);
    return;
  }
  answerInternalError(deps.log, req, res, err);
}

export function answerInternalError(log: Logger, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  const requestId = requestRecordOf(res)?.id ?? randomUUID();
  log.error({ err, requestId, method: req.method, path: req.url?.split('?')[0] }, 'internal error');
  sendError(res, apiErrors.internalError(), { 'X-Request-Id': requestId });
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${(err as { code?: string }).code ?? err.name}: ${err.message}`;
  return String(err);
}
