import { burnJob } from './burn.js';
import { echoJob } from './echo.js';
import type { JobHandler } from './job-handler.js';

/** Every job kind a worker serves, by kind. Add a handler module here to serve a new kind. */
export const jobHandlers: ReadonlyMap<string, JobHandler> = new Map(
  [echoJob, burnJob].map((handler) => [handler.kind, handler]),
);
