import type { AccountEvent, Config, Logger } from '@tokenserver/shared';
import type { Express, Request, Response } from 'express';
import { applyAccountChange } from './account-events.js';
import { apiErrorForStoreError } from './accounts.js';
import { apiErrors, TokenServerError } from './api-errors.js';
import type { Store } from './db/store.js';
import { sendError, sendJson } from './responses.js';
import { apiErrorForJobError, type TokenJobs } from './token-jobs-client.js';
import { answerInternalError } from './token-route.js';

// POST /1.0/webhooks/fxa/events: FxA pushes account events (password change, account deletion) as a bearer JWT
// signed with its OAuth keys. The web front only forwards the JWT to a `verify-event` worker job and applies the
// verified changes to the store; it holds no key and checks no signature.

export const FXA_WEBHOOK_PATH = '/1.0/webhooks/fxa/events';

export interface FxaWebhookDeps {
  config: Pick<Config, 'web' | 'oauth' | 'fxa_webhook'>;
  store: Store;
  jobs: TokenJobs;
  log: Logger;
}

/** Adds the route when `[fxa_webhook] audience` is set; without it the path is an ordinary 404. */
export function addFxaWebhookRoute(app: Express, deps: FxaWebhookDeps): void {
  // Optional chaining: partial configs built by hand (tests) may lack the section.
  if (deps.config.fxa_webhook?.audience === undefined) return;
  app.post(FXA_WEBHOOK_PATH, async (req: Request, res: Response) => {
    try {
      const event = await verifiedEvent(deps, req.headers.authorization);
      for (const change of event.changes) await applyAccountChange(deps.store, event.email, change);
      deps.log.info({ changes: event.changes.map((change) => change.kind) }, 'account event applied');
      sendJson(res, 200, '{}');
    } catch (err) {
      answerFailure(deps, req, res, err);
    }
  });
  app.all(FXA_WEBHOOK_PATH, (_req: Request, res: Response) =>
    sendError(res, apiErrors.methodNotAllowed(), { Allow: 'POST' }),
  );
}

async function verifiedEvent(deps: FxaWebhookDeps, authorization: string | undefined): Promise<AccountEvent> {
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw apiErrors.unauthorized();
  const token = match[1] as string;
  if (token.length > deps.config.oauth.max_token_bytes) throw apiErrors.invalidCredentials();
  const verdict = await deps.jobs.verifyEvent({ token });
  if (verdict.ok) return verdict.event;
  if (verdict.status === 'unavailable') throw apiErrors.unavailable(deps.config.web.retry_after_s);
  deps.log.info({ code: verdict.code }, 'account event refused');
  throw apiErrors.invalidCredentials();
}

function answerFailure(deps: FxaWebhookDeps, req: Request, res: Response, err: unknown): void {
  const retryAfterS = deps.config.web.retry_after_s;
  const known =
    err instanceof TokenServerError
      ? err
      : (apiErrorForJobError(err, retryAfterS) ?? apiErrorForStoreError(err, retryAfterS));
  if (known) sendError(res, known, known.httpStatus === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
  else answerInternalError(deps.log, req, res, err);
}
