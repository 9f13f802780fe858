import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response, Router } from 'express';
import type { ErrorDetail } from './api-errors.js';
import type { Store } from './db/store.js';
import { sendJson } from './responses.js';
import type { JobClient } from './token-jobs-client.js';

// Dockerflow endpoints: __lbheartbeat__ (the process answers), __heartbeat__ (its dependencies answer: the
// database, and the broker with at least one worker able to take jobs), __version__.

export interface HealthDeps {
  store: Pick<Store, 'ping'>;
  jobs: Pick<JobClient, 'brokerStatus'>;
  retryAfterS: number;
  /** How long the database may take to answer the heartbeat's ping. */
  pingTimeoutMs?: number;
  version: VersionDocument;
  /** Set while a loadtest_mode is on: shown in every __heartbeat__ answer. */
  loadtestWarning?: string;
}

export interface VersionDocument {
  source: string;
  version: string;
  commit: string;
  build: string;
}

const LB_HEARTBEAT = '{}';

export function addHealthRoutes(router: Router, deps: HealthDeps): void {
  const versionJson = JSON.stringify(deps.version);
  router.get('/__lbheartbeat__', (_req: Request, res: Response) => sendJson(res, 200, LB_HEARTBEAT));
  router.get('/__version__', (_req: Request, res: Response) => sendJson(res, 200, versionJson));
  router.get('/__heartbeat__', async (_req: Request, res: Response) => {
    const down = await downDependencies(deps);
    const body = {
      status: down.length === 0 ? 'Ok' : 'error',
      version: deps.version.version,
      database: down.some((d) => d.name === 'database') ? 'Err' : 'Ok',
      broker: down.some((d) => d.name !== 'database') ? 'Err' : 'Ok',
      ...(down.length > 0 ? { errors: down } : {}),
      ...(deps.loadtestWarning === undefined ? {} : { loadtest_mode: true, warning: deps.loadtestWarning }),
    };
    const headers: Record<string, string> = down.length > 0 ? { 'Retry-After': String(deps.retryAfterS) } : {};
    sendJson(res, down.length === 0 ? 200 : 503, JSON.stringify(body), headers);
  });
}

/** One error entry per dependency that is down. */
async function downDependencies(deps: HealthDeps): Promise<ErrorDetail[]> {
  const down: ErrorDetail[] = [];
  const databaseError = await pingError(deps.store, deps.pingTimeoutMs ?? 2000);
  if (databaseError) down.push({ location: 'internal', name: 'database', description: databaseError });
  const broker = deps.jobs.brokerStatus();
  const ready = (broker.last?.liveWorkers ?? 0) - (broker.last?.pausedWorkers ?? 0);
  if (!broker.connected) {
    down.push({ location: 'internal', name: 'broker', description: 'the broker is not answering' });
  } else if (ready < 1) {
    down.push({ location: 'internal', name: 'workers', description: 'no worker is registered with the broker' });
  }
  return down;
}

async function pingError(store: Pick<Store, 'ping'>, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`the database did not answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([store.ping().then(() => undefined), timeout]);
  } catch {
    return 'the database is not answering';
  } finally {
    clearTimeout(timer);
  }
}

/** `version.json` from the working directory or the repository root, else the package version. */
export function readVersionDocument(roots: readonly string[]): VersionDocument {
  for (const root of roots) {
    try {
      const document = JSON.parse(readFileSync(join(root, 'version.json'), 'utf8')) as Partial<VersionDocument>;
      return { source: '', version: '', commit: '', build: '', ...document };
    } catch {
      // try the next root
    }
  }
  let version = 'unknown';
  for (const root of roots) {
    try {
      version =
        (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? version;
      break;
    } catch {
      // try the next root
    }
  }
  return { source: 'unknown', version, commit: 'unknown', build: 'unknown' };
}
