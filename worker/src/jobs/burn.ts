import { type JobHandler, MalformedJobError } from './job-handler.js';

const MAX_BURN_MS = 60_000;

/** Spins the CPU for the number of milliseconds in its body (ASCII decimal): a stand-in for crypto work. */
export const burnJob: JobHandler = {
  kind: 'burn',
  create: () => (body) => {
    const ms = Number(body.toString('latin1'));
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_BURN_MS) {
      throw new MalformedJobError(`burn takes a whole number of milliseconds from 0 to ${MAX_BURN_MS}`);
    }
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // busy by design
    }
    return body;
  },
};
