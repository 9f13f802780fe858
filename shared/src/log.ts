import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import type { Config } from './config-schema.js';

export type { Logger } from 'pino';

export type LogFormat = Config['log']['format'];

/**
 * Field names that must never carry a value into a log line, wherever a caller put them by mistake: credentials,
 * tokens, keys, secrets and emails. Exact paths only: wildcard redaction costs on every line.
 */
export const REDACTED_LOG_FIELDS: readonly string[] = [
  'authorization',
  'assertion',
  'token',
  'key',
  'secret',
  'email',
  'headers.authorization',
  'req.headers.authorization',
];

/**
 * One event per line on stdout, tagged with the process role: JSON (`[log] format = "json"`), or human-readable
 * lines formatted by pino-pretty on a transport thread (`"pretty"`, for development). `destination` replaces
 * stdout in JSON mode (tests).
 */
export function createLogger(role: string, config: Pick<Config, 'log'>, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.log.level,
    base: { role, pid: process.pid },
    redact: { paths: [...REDACTED_LOG_FIELDS], censor: '[redacted]' },
  };
  if (config.log.format === 'pretty') {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: {
          destination: 1,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'hostname,role',
          messageFormat: '{role}: {msg}',
          singleLine: true,
        },
      },
    });
  }
  return destination ? pino(options, destination) : pino(options);
}

/**
 * A warning nobody should miss at start-up: a `warn` log line, and a banner on stderr for whoever reads the
 * console (the log may be shipped elsewhere).
 */
export function warnLoudly(log: Logger, message: string): void {
  log.warn(message);
  process.stderr.write(`\n${'!'.repeat(100)}\n!! ${message}\n${'!'.repeat(100)}\n\n`);
}
