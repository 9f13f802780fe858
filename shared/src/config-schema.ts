import { z } from 'zod';
import { NODE_URL_MAX, SERVICE_NAME_MAX, SERVICE_PATTERN_MAX } from './store-columns.js';
import { isCurveKey } from './z85.js';

// The one schema for config/default.toml. Every section is strict: an unknown key is an error.
// Defaults here must match the commented values in config/default.toml.

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected "host:port"');
const positiveInt = z.number().int().positive();
const port = z.number().int().min(0).max(65535);

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
    handshake_timeout_ms: positiveInt.default(5000),
    metrics_port: port.default(0),
    metrics_host: z.string().min(1).default('127.0.0.1'),
  })
  .strict();

export const WorkerSection = z
  .object({
    processes: positiveInt.default(1),
    concurrency: z.number().int().min(1).max(65535).default(128),
    max_jobs: z.number().int().nonnegative().default(0),
    max_age_s: z.number().nonnegative().default(0),
    restart_backoff_ms: positiveInt.default(250),
    restart_backoff_max_ms: positiveInt.default(10000),
    hung_job_grace_ms: z.number().int().nonnegative().default(1000),
    metrics_port: port.default(0),
    metrics_host: z.string().min(1).default('127.0.0.1'),
  })
  .strict();

export const WebSection = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8000),
    job_timeout_ms: positiveInt.default(5000),
    retry_after_s: positiveInt.default(5),
    max_in_flight: positiveInt.default(128),
    max_body_bytes: z.number().int().nonnegative().default(16_384),
    headers_timeout_ms: positiveInt.default(10_000),
    // 0: GET /metrics on the web port itself; N: only on metrics_host:N, a listener of its own.
    metrics_port: port.default(0),
    metrics_host: z.string().min(1).default('127.0.0.1'),
    nice: z.number().int().min(-20).max(19).default(0),
  })
  .strict();

export const DatabaseSection = z
  .object({
    url: z.string().min(1).default('sqlite:./var/tokenserver.db'),
    pool_size: positiveInt.default(10),
    query_timeout_ms: positiveInt.default(5000),
    connect_timeout_ms: positiveInt.default(5000),
    sqlite_busy_timeout_ms: positiveInt.default(5000),
    auto_migrate: z.boolean().default(true),
  })
  .strict();

export const AssignmentSection = z
  .object({
    capacity_release_rate: z.number().gt(0).max(1).default(0.1),
    release_rounds: positiveInt.default(5),
    allow_new_users: z.boolean().default(true),
  })
  .strict();

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const BootstrapService = z
  .object({ name: z.string().min(1).max(SERVICE_NAME_MAX), pattern: z.string().min(1).max(SERVICE_PATTERN_MAX) })
  .strict();
const BootstrapNode = z
  .object({
    service: z.string().min(1),
    url: httpUrl.max(NODE_URL_MAX),
    capacity: positiveInt,
    available: z.number().int().nonnegative().optional(),
    downed: z.boolean().default(false),
    backoff: z.boolean().default(false),
  })
  .strict();

// Empty by default so that a config file without [bootstrap] never invents a node; config/default.toml
// sets a local development service and node.
export const BootstrapSection = z
  .object({
    services: z.array(BootstrapService).default([]),
    nodes: z.array(BootstrapNode).default([]),
  })
  .strict();

const curveKey = z.string().refine(isCurveKey, 'expected a CURVE public key (40 characters of Z85)');

export const SecuritySection = z
  .object({
    curve: z.boolean().default(false),
    broker_public_key: z
      .string()
      .refine((key) => key === '' || isCurveKey(key), 'expected a CURVE public key (40 characters of Z85)')
      .default(''),
    key_file: z.string().default(''),
    allowed_client_keys: z.array(curveKey).default([]),
    allowed_worker_keys: z.array(curveKey).default([]),
  })
  .strict()
  .superRefine((security, ctx) => {
    if (!security.curve) return;
    if (!security.broker_public_key)
      ctx.addIssue({ code: 'custom', path: ['broker_public_key'], message: 'required when curve = true' });
    if (!security.key_file) ctx.addIssue({ code: 'custom', path: ['key_file'], message: 'required when curve = true' });
  });

export const LogSection = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    format: z.enum(['json', 'pretty']).default('json'),
  })
  .strict();

const domainName = z
  .string()
  .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'expected a domain name, optionally with ":port"')
  .transform((value) => value.toLowerCase());

export const BrowserIdSection = z
  .object({
    audiences: z.array(z.string().min(1)).default([]),
    trusted_issuers: z.array(domainName).default([]),
    allowed_issuers: z.array(domainName).default([]),
    issuer_urls: z.record(z.string().min(1), httpUrl).default({}),
    timeout_ms: positiveInt.default(5000),
    cache_ttl_s: positiveInt.default(3600),
    negative_cache_ttl_s: z.number().int().nonnegative().default(30),
    cache_max_entries: positiveInt.default(1000),
    max_delegations: z.number().int().min(0).max(10).default(6),
    leeway_s: z.number().int().nonnegative().default(60),
    max_assertion_bytes: positiveInt.default(16384),
    loadtest_mode: z.boolean().default(false),
  })
  .strict();

export const OAuthSection = z
  .object({
    jwks_url: httpUrl.default('https://oauth.accounts.firefox.com/v1/jwks'),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    scope: z.string().min(1).default('https://identity.mozilla.com/apps/oldsync'),
    email_domain: domainName.default('api.accounts.firefox.com'),
    issuer: z.string().min(1).optional(),
    require_exp: z.boolean().default(true),
    leeway_s: z.number().int().nonnegative().default(60),
    timeout_ms: positiveInt.default(5000),
    jwks_cooldown_ms: z.number().int().nonnegative().default(30000),
    jwks_cache_max_age_s: positiveInt.default(600),
    max_token_bytes: positiveInt.default(8192),
    loadtest_mode: z.boolean().default(false),
  })
  .strict();

export const TokensSection = z
  .object({
    duration: positiveInt.default(3600),
    master_secret: z.string().min(16).optional(),
    derive_node_secrets: z.boolean().default(true),
    secrets_file: z.string().min(1).optional(),
    metrics_secret: z.string().min(1).optional(),
  })
  .strict();

// FxA security-event webhook (POST /1.0/webhooks/fxa/events); off while audience is unset.
export const FxaWebhookSection = z
  .object({
    audience: z.string().min(1).optional(),
    issuer: z.string().min(1).optional(),
  })
  .strict();

// The example storage node that `npm start` runs as the bootstrapped node.
export const ExampleNodeSection = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8001),
    url: httpUrl.optional(),
    timestamp_skew_s: positiveInt.default(60),
    max_body_bytes: positiveInt.default(2 * 1024 * 1024),
    nonce_cache_size: positiveInt.default(100_000),
  })
  .strict();

export const ConfigSchema = z
  .object({
    broker: BrokerSection,
    worker: WorkerSection.prefault({}),
    web: WebSection.prefault({}),
    log: LogSection.prefault({}),
    security: SecuritySection.prefault({}),
    database: DatabaseSection.prefault({}),
    assignment: AssignmentSection.prefault({}),
    bootstrap: BootstrapSection.prefault({}),
    browserid: BrowserIdSection.prefault({}),
    oauth: OAuthSection.prefault({}),
    tokens: TokensSection.prefault({}),
    example_node: ExampleNodeSection.prefault({}),
    fxa_webhook: FxaWebhookSection.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type BrokerConfig = Config['broker'];
export type WorkerConfig = Config['worker'];
export type WebConfig = Config['web'];
export type SecurityConfig = Config['security'];
export type DatabaseConfig = Config['database'];
export type AssignmentConfig = Config['assignment'];
export type BootstrapConfig = Config['bootstrap'];
export type BrowserIdConfig = Config['browserid'];
export type OAuthConfig = Config['oauth'];
export type TokensConfig = Config['tokens'];
export type ExampleNodeConfig = Config['example_node'];
export type FxaWebhookConfig = Config['fxa_webhook'];
