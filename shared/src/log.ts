import { type Logger, pino } from 'pino';
import type { Config } from './config-schema.js';

export type { Logger } from 'pino';

/** One JSON line per event on stdout, tagged with the process role. */
export function createLogger(role: string, config: Pick<Config, 'log'>): Logger {
  return pino({ level: config.log.level, base: { role, pid: process.pid } });
}
