export { Executor } from './executor.js';
export { jobHandlers } from './jobs/index.js';
export { type JobContext, type JobHandler, MalformedJobError } from './jobs/job-handler.js';
export { Supervisor, type SupervisorOptions } from './supervisor.js';
export { WorkerProcess, type WorkerProcessOptions } from './worker-process.js';
