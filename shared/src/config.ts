import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { type Config, ConfigSchema } from './config-schema.js';

export * from './config-schema.js';

export const DEFAULT_CONFIG_PATH = 'config/default.toml';
const ENV_PREFIX = 'TOKENSERVER_';

/** A configuration problem: one line naming the key and where its value came from. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  path: string;
}

type Table = Record<string, unknown>;

/** Which config file to use: `--config` wins, then TOKENSERVER_CONFIG, then the default. */
export function resolveConfigPath(cliPath?: string, env: NodeJS.ProcessEnv = process.env): string {
  return cliPath ?? env.TOKENSERVER_CONFIG ?? DEFAULT_CONFIG_PATH;
}

/** Reads the TOML file, applies TOKENSERVER_<SECTION>__<KEY> overrides, validates the result. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const sources = new Map<string, string>();
  const raw = readTomlFile(path);
  for (const [section, table] of Object.entries(raw)) {
    if (isTable(table)) for (const key of Object.keys(table)) sources.set(`${section}.${key}`, path);
    else sources.set(section, path);
  }
  applyEnvOverrides(raw, env, sources);
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssue(result.error.issues[0], sources, path));
  refuseLoadtestModeInProduction(result.data, env, sources, path);
  return { config: result.data, path };
}

/**
 * A load-test mode trusts keys from the run directory: never with NODE_ENV=production, in any process. The value is
 * compared trimmed and case-insensitively, so that `Production` or ` production` cannot slip past the check.
 */
function refuseLoadtestModeInProduction(
  config: Config,
  env: NodeJS.ProcessEnv,
  sources: Map<string, string>,
  path: string,
): void {
  if (env.NODE_ENV?.trim().toLowerCase() !== 'production') return;
  for (const section of ['browserid', 'oauth'] as const) {
    if (!config[section].loadtest_mode) continue;
    const key = `${section}.loadtest_mode`;
    throw new ConfigError(`config: ${key}: must be false when NODE_ENV=production (from ${sources.get(key) ?? path})`);
  }
}

function readTomlFile(path: string): Table {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return parseToml(text) as Table;
  } catch (err) {
    const firstLine = String((err as Error).message).split('\n')[0];
    throw new ConfigError(`config: ${path} is not valid TOML: ${firstLine}`);
  }
}

function applyEnvOverrides(raw: Table, env: NodeJS.ProcessEnv, sources: Map<string, string>): void {
  const sections = ConfigSchema.shape as Record<string, z.ZodType>;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const parts = name.slice(ENV_PREFIX.length).split('__');
    if (parts.length === 1) continue; // TOKENSERVER_CONFIG and friends are not keys
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new ConfigError(`config: ${name} (environment): expected TOKENSERVER_<SECTION>__<KEY>`);
    }
    const section = parts[0].toLowerCase();
    const key = parts[1].toLowerCase();
    const sectionSchema = sections[section];
    if (!sectionSchema) throw new ConfigError(`config: ${section}: unknown section (from environment ${name})`);
    const keySchema = objectShape(sectionSchema)[key];
    if (!keySchema) throw new ConfigError(`config: ${section}.${key}: unknown key (from environment ${name})`);
    const table = isTable(raw[section]) ? (raw[section] as Table) : {};
    table[key] = parseEnvValue(value, keySchema, `${section}.${key}`, name);
    raw[section] = table;
    sources.set(`${section}.${key}`, `environment ${name}`);
  }
}

/** Strings stay raw; numbers, booleans, arrays and maps are read as JSON. */
function parseEnvValue(value: string, schema: z.ZodType, key: string, varName: string): unknown {
  const kind = baseType(schema);
  if (kind === 'string' || kind === 'enum') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new ConfigError(
      `config: ${key}: expected ${kind} as JSON, got ${JSON.stringify(value)} (from environment ${varName})`,
    );
  }
}

function baseType(schema: z.ZodType): string {
  let def = schema.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
  while (def.innerType || (def.type === 'pipe' && def.in)) {
    def = ((def.innerType ?? def.in) as z.ZodType).def as typeof def;
  }
  return def.type;
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> {
  let current = schema;
  while (!(current instanceof z.ZodObject)) {
    const inner = (current.def as { innerType?: z.ZodType }).innerType;
    if (!inner) return {};
    current = inner;
  }
  return current.shape as Record<string, z.ZodType>;
}

function describeIssue(issue: z.core.$ZodIssue | undefined, sources: Map<string, string>, path: string): string {
  if (!issue) return `config: ${path}: invalid`;
  const keyPath = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = [...keyPath, issue.keys[0]].join('.');
    return `config: ${key}: unknown key (from ${sources.get(key) ?? path})`;
  }
  const key = keyPath.join('.');
  const source = sources.get(keyPath.slice(0, 2).join('.')) ?? sources.get(keyPath[0] ?? '');
  if (issue.code === 'invalid_type' && source === undefined) {
    return `config: ${key}: required value is missing (in ${path})`;
  }
  return `config: ${key}: ${issue.message} (from ${source ?? path})`;
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
