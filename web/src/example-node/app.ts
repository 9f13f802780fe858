import type { NodeSecrets } from '@tokenserver/shared';
import { HeadersTooLargeError } from '@tokenserver/shared/hawk/errors';
import { hawkAuth, hawkAuthOf, hawkFailureAnswer } from '@tokenserver/shared/hawk/server-auth';
import type { RawHttpAnswer } from '@tokenserver/shared/http-listen';
import express, { type NextFunction, type Request, type Response } from 'express';
import { MemoryStorage } from './memory-storage.js';

// A small storage-like service node: every /1.5/{uid} route needs a Hawk-signed request whose
// token names this node and that uid.

export interface ExampleNodeOptions {
  secrets: NodeSecrets;
  /** Canonical URL of this node, as tokens name it. */
  node: string;
  skewS?: number;
  maxBodyBytes?: number;
  /** Most Hawk nonces remembered (default 100 000): above the peak request rate × twice the skew window. */
  nonceCacheSize?: number;
  storage?: MemoryStorage;
  /** Current time in milliseconds, for tests. */
  now?: () => number;
}

const KEY_PATTERN = /^[\w.-]{1,64}$/;

export function createExampleNodeApp(options: ExampleNodeOptions): express.Express {
  const storage = options.storage ?? new MemoryStorage();
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? 2 * 1024 * 1024;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const authenticated = hawkAuth({
    secrets: options.secrets,
    node: options.node,
    ...(options.skewS !== undefined ? { skewS: options.skewS } : {}),
    nonceCacheSize: options.nonceCacheSize,
    maxBodyBytes,
    now,
  });
  const timestamp = () => Math.round(now() / 10) / 100;

  app.use((_req, res, next) => {
    res.setHeader('X-Weave-Timestamp', timestamp().toFixed(2));
    next();
  });

  app.get('/1.5/:uid/info/collections', authenticated, (req, res) => {
    const modified = storage.lastModified(hawkAuthOf(req).uid);
    res.json(modified === undefined ? {} : { storage: modified });
  });

  app.get('/1.5/:uid/storage/:key', authenticated, (req, res) => {
    const key = checkedKey(req, res);
    if (key === undefined) return;
    const record = storage.get(hawkAuthOf(req).uid, key);
    if (!record) return sendError(res, 404, 'not-found', 'no such record');
    res.setHeader('X-Last-Modified', record.modified.toFixed(2));
    res.type(record.contentType).send(record.body);
  });

  app.put(
    '/1.5/:uid/storage/:key',
    authenticated,
    express.raw({ type: () => true, limit: maxBodyBytes }),
    (req, res) => {
      const key = checkedKey(req, res);
      if (key === undefined) return;
      const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const modified = timestamp();
      const contentType = req.headers['content-type'] ?? 'application/octet-stream';
      storage.put(hawkAuthOf(req).uid, key, { body, contentType, modified });
      res.json({ modified });
    },
  );

  // 404 for a user without data, as a purge run may send a DELETE twice or for a user that never synced.
  app.delete('/1.5/:uid', authenticated, (req, res) => {
    if (!storage.deleteUser(hawkAuthOf(req).uid)) return sendError(res, 404, 'not-found', 'no data for this user');
    res.status(204).end();
  });

  app.use((_req, res) => sendError(res, 404, 'not-found', 'no such route'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = httpStatusOf(err);
    if (status === 413) return sendError(res, 413, 'payload-too-large', 'request body is too large');
    if (status !== undefined && status >= 400 && status < 500) return sendError(res, status, 'error', 'bad request');
    sendError(res, 500, 'error', 'internal error');
  });
  return app;
}

function checkedKey(req: Request, res: Response): string | undefined {
  const key = req.params.key;
  if (typeof key === 'string' && KEY_PATTERN.test(key)) return key;
  sendError(res, 400, 'invalid-key', 'keys are 1 to 64 characters among A-Z a-z 0-9 _ . -');
  return undefined;
}

function sendError(res: Response, status: number, code: string, description: string): void {
  res.status(status).type('application/json').send(errorBody(code, description));
}

function errorBody(code: string, description: string): string {
  return JSON.stringify({ status: code, errors: [{ location: 'url', name: '', description }] });
}

/**
 * The answer to a request Node cannot parse: headers past its limit (a huge Authorization header) get 431 with
 * the Hawk challenge and JSON body of any refused request; anything else a JSON 400.
 */
export function exampleNodeClientError(code: string | undefined, nowMs = Date.now()): RawHttpAnswer {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return hawkFailureAnswer(new HeadersTooLargeError('request headers are too large'), nowMs);
  }
  return { httpStatus: 400, headers: { 'Content-Type': 'application/json' }, body: errorBody('error', 'bad request') };
}

function httpStatusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
