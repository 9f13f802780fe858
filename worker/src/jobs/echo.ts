import type { JobHandler } from './job-handler.js';

/** Returns its body: the broker's round-trip benchmark and liveness probe. */
export const echoJob: JobHandler = {
  kind: 'echo',
  inline: true,
  create: () => (body) => body,
};
