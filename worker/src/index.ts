export { Executor } from './executor.js';
export { jobHandlers, jobKinds } from './jobs/index.js';
export { type JobHandler, type JobRunner, MalformedJobError } from './jobs/job-handler.js';
export { Supervisor, type SupervisorOptions } from './supervisor.js';
export { WorkerProcess, type WorkerProcessOptions } from './worker-process.js';
