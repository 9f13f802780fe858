// Everything here is free of zeromq, so job threads may import it: zeromq's addon blocks a
// second thread while the process's sockets are open. Socket code lives in
// '@tokenserver/shared/client' and '@tokenserver/shared/serial-sender'.
export { EXIT_CONFIG, loadConfigOrExit, onStopSignal } from './cli-support.js';
export * from './config.js';
export * from './endpoints.js';
export * from './errors.js';
export * from './loadtest-keys.js';
export { createLogger, type Logger, warnLoudly } from './log.js';
export * from './node-secrets.js';
export * from './protocol.js';
export { warnAboutUnsafeSettings } from './startup-warnings.js';
export * from './store-columns.js';
export * from './token-jobs.js';
export * from './token-secrets-source.js';
export * from './tokenlib.js';
export * from './watched-secrets-file.js';
export { isCurveKey, z85Decode } from './z85.js';
