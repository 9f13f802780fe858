import type { Config } from './config-schema.js';
import { plaintextTransportWarning } from './endpoints.js';
import { loadtestWarning } from './loadtest-keys.js';
import { type Logger, warnLoudly } from './log.js';

/** Settings no production server should run with, announced loudly by the processes they weaken (web, workers). */
export function warnAboutUnsafeSettings(
  log: Logger,
  config: Pick<Config, 'broker' | 'security' | 'browserid' | 'oauth'>,
): void {
  for (const warning of [loadtestWarning(config), plaintextTransportWarning(config)]) {
    if (warning) warnLoudly(log, warning);
  }
}
