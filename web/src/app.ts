import type { RequestListener } from 'node:http';
import { type Config, type Logger, loadtestWarning } from '@tokenserver/shared';
import { type Registry, renderMetrics } from '@tokenserver/shared/metrics';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { apiErrors } from './api-errors.js';
import { withBodyLimit } from './body-limit.js';
import type { Store } from './db/store.js';
import { discoveryDocument } from './discovery.js';
import { withFastTokenPath } from './fast-token-path.js';
import { addHealthRoutes, type VersionDocument } from './health-routes.js';
import { sendError, sendJson, unixSeconds } from './responses.js';
import { ServiceCatalogue } from './service-catalogue.js';
import { type JobClient, TokenJobs } from './token-jobs-client.js';
import { answerInternalError, type TokenHandler, tokenRoute } from './token-route.js';
import { addFxaWebhookRoute } from './webhook-route.js';

export interface AppDeps {
  config: Pick<Config, 'web' | 'browserid' | 'oauth' | 'assignment' | 'fxa_webhook'>;
  store: Store;
  jobs: JobClient;
  log: Logger;
  version: VersionDocument;
  /** How long the service list is cached (default 10 s). */
  serviceCacheTtlMs?: number;
  /** Served on GET /metrics (Prometheus text format) when given; without it /metrics is not found here. */
  metrics?: Registry;
}

const TOKEN_PATH = '/1.0/:application/:version';
const METRICS_PATH = '/metrics';
const ALLOW_GET = { Allow: 'GET, HEAD' };

export interface WebFront {
  /** Every route, the token route included. */
  app: Express;
  /** What the server runs: token requests go straight to the token route (Express's per-request cost is the
   * largest on that path), everything else to `app`. */
  handler: RequestListener;
}

/** The HTTP API as an Express app (tests and tools listen on it directly). */
export function createApp(deps: AppDeps): Express {
  return createWebFront(deps).app;
}

export function createWebFront(deps: AppDeps): WebFront {
  const { config, store, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  const services = new ServiceCatalogue(store, deps.serviceCacheTtlMs);
  const tokenJobs = new TokenJobs(deps.jobs, config.web.job_timeout_ms);
  const tokenHandler: TokenHandler = tokenRoute({
    store,
    services,
    jobs: tokenJobs,
    log,
    retryAfterS: config.web.retry_after_s,
    maxInFlight: config.web.max_in_flight,
    allowNewUsers: config.assignment.allow_new_users,
    maxCredentialBytes: { browserid: config.browserid.max_assertion_bytes, bearer: config.oauth.max_token_bytes },
  });
  app.get(TOKEN_PATH, (req: Request, res: Response) =>
    tokenHandler(req, res, {
      application: req.params.application as string,
      version: req.params.version as string,
      duration: req.query.duration,
    }),
  );
  app.get('/', async (req: Request, res: Response, next: NextFunction) => {
    try {
      sendJson(res, 200, JSON.stringify(discoveryDocument(config, await services.versions(), req)));
    } catch (err) {
      next(err);
    }
  });
  addFxaWebhookRoute(app, { config, store, jobs: tokenJobs, log });
  addHealthRoutes(app, {
    store,
    jobs: deps.jobs,
    retryAfterS: config.web.retry_after_s,
    version: deps.version,
    loadtestWarning: loadtestWarning(config),
  });

  const metrics = deps.metrics;
  if (metrics) {
    app.get(METRICS_PATH, async (_req: Request, res: Response, next: NextFunction) => {
      try {
        const { contentType, body } = await renderMetrics(metrics);
        res
          .writeHead(200, {
            'Content-Type': contentType,
            'Content-Length': Buffer.byteLength(body),
            'X-Timestamp': unixSeconds(),
          })
          .end(body);
      } catch (err) {
        next(err);
      }
    });
  }

  const routes = [TOKEN_PATH, '/', '/__lbheartbeat__', '/__heartbeat__', '/__version__'];
  for (const path of metrics ? [...routes, METRICS_PATH] : routes) {
    app.all(path, (_req: Request, res: Response) => sendError(res, apiErrors.methodNotAllowed(), ALLOW_GET));
  }
  app.use((_req: Request, res: Response) => sendError(res, apiErrors.notFound()));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    // Express reports unreadable paths (bad percent-encoding) with a 4xx status.
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) sendError(res, apiErrors.badRequest());
    else answerInternalError(log, req, res, err);
  });
  return {
    app,
    handler: withBodyLimit(withFastTokenPath(app as RequestListener, tokenHandler), config.web.max_body_bytes),
  };
}
