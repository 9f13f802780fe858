import { burnJob } from './burn.js';
import { echoJob } from './echo.js';
import type { JobHandler } from './job-handler.js';
import { signTokenJob } from './sign-token.js';
import { verifyBrowserIdJob } from './verify-browserid.js';
import { verifyEventJob } from './verify-event.js';
import { verifyOAuthJob } from './verify-oauth.js';

/** Every job kind a worker serves. Add a handler module here to serve a new kind. */
export const jobHandlers: readonly JobHandler[] = [
  echoJob,
  burnJob,
  verifyBrowserIdJob,
  verifyOAuthJob,
  signTokenJob,
  verifyEventJob,
];

export const jobKinds: readonly string[] = jobHandlers.map((handler) => handler.kind);
