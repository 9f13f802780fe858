export { EXIT_CONFIG, loadConfigOrExit } from './cli-support.js';
export * from './config.js';
export * from './endpoints.js';
export * from './errors.js';
export { createLogger, type Logger } from './log.js';
export * from './node-secrets.js';
export * from './protocol.js';
export { SerialSender } from './serial-sender.js';
export * from './tokenlib.js';
