import type { Config } from '@tokenserver/shared';

/** The web front never signs: whatever the config file says, token secrets are dropped from its memory. */
export function withoutTokenSecrets(config: Config): Config {
  const { master_secret: _master, metrics_secret: _metrics, secrets_file: _file, ...tokens } = config.tokens;
  return { ...config, tokens: tokens as Config['tokens'] };
}
