export { Broker } from './broker.js';
export { JobQueue } from './job-queue.js';
export { acquireRunLock, BrokerLockedError } from './run-lock.js';
export * from './scheduler.js';
