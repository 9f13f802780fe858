import { ensureRunDir, loadConfigOrExit } from '@tokenserver/shared';
import { type Command, InvalidArgumentError } from 'commander';
import { devAccessToken, devJwks, devOAuthKey } from '../dev-oauth.js';
import { wholeNumber } from './arguments.js';

/** `tokenserver dev …`: local credentials for trying the stack; see dev-oauth.ts for why they are safe. */
export function registerDevCommands(program: Command): void {
  const dev = program.command('dev').description('development helpers (credentials only a local stack accepts)');
  dev
    .command('oauth-jwks')
    .description('print the JWKS of the dev OAuth key, to pin as TOKENSERVER_OAUTH__JWKS')
    .option('-c, --config <path>', 'config file (default: $TOKENSERVER_CONFIG or config/default.toml)')
    .action((options: { config?: string }) => {
      const { config } = loadConfigOrExit(options.config);
      process.stdout.write(`${JSON.stringify(devJwks(devKey(config.broker.run_dir)))}\n`);
    });
  dev
    .command('oauth-token')
    .description('print an OAuth access token signed with the dev key (accepted only once its JWKS is pinned)')
    .requiredOption('--fxa-uid <uid>', 'the FxA user id (the token subject), e.g. 32 hex digits', fxaUid)
    .option('--generation <n>', 'fxa-generation claim', wholeNumber)
    .option('--lifetime <s>', 'seconds until the token expires', wholeNumber, 3600)
    .option('-c, --config <path>', 'config file (default: $TOKENSERVER_CONFIG or config/default.toml)')
    .action((options: { config?: string; fxaUid: string; generation?: number; lifetime: number }) => {
      const { config } = loadConfigOrExit(options.config);
      const token = devAccessToken(devKey(config.broker.run_dir), config.oauth, {
        fxaUid: options.fxaUid,
        lifetimeS: options.lifetime,
        ...(options.generation === undefined ? {} : { generation: options.generation }),
      });
      process.stdout.write(`${token}\n`);
    });
}

function devKey(runDir: string) {
  ensureRunDir(runDir);
  return devOAuthKey(runDir);
}

function fxaUid(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(value))
    throw new InvalidArgumentError('expected letters, digits, ".", "_" or "-"');
  return value;
}
