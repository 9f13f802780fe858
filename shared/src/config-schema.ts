import { z } from 'zod';

// The one schema for config/default.toml. Every section is strict: an unknown key is an error.
// Defaults here must match the commented values in config/default.toml.

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected "host:port"');
const positiveInt = z.number().int().positive();

export const BrokerSection = z
  .object({
    transport: z.enum(['ipc', 'tcp']),
    run_dir: z.string().min(1).default('./var/run'),
    frontend: hostPort.default('127.0.0.1:5555'),
    backend: hostPort.default('127.0.0.1:5556'),
    heartbeat_interval_ms: positiveInt.default(500),
    heartbeat_liveness: z.number().int().min(2).default(3),
    max_queue: positiveInt.default(10000),
    max_attempts: positiveInt.default(3),
    shutdown_grace_ms: z.number().int().nonnegative().default(5000),
    max_message_bytes: positiveInt.default(4 * 1024 * 1024),
  })
  .strict();

export const WorkerSection = z
  .object({
    processes: positiveInt.default(2),
    concurrency: z.number().int().min(1).max(65535).default(64),
    max_jobs: z.number().int().nonnegative().default(0),
    max_age_s: z.number().nonnegative().default(0),
    restart_backoff_ms: positiveInt.default(250),
    restart_backoff_max_ms: positiveInt.default(10000),
    hung_job_grace_ms: z.number().int().nonnegative().default(1000),
  })
  .strict();

export const WebSection = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8000),
    job_timeout_ms: positiveInt.default(5000),
    retry_after_s: positiveInt.default(5),
  })
  .strict();

export const LogSection = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export const ConfigSchema = z
  .object({
    broker: BrokerSection,
    worker: WorkerSection.prefault({}),
    web: WebSection.prefault({}),
    log: LogSection.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type BrokerConfig = Config['broker'];
export type WorkerConfig = Config['worker'];
export type WebConfig = Config['web'];
