#!/usr/bin/env node
// The example service node alone: `node web/dist/example-node/main.js [--config F]`.
// It loads the token secrets exactly as the workers do, so it accepts the tokens they sign.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, loadConfigOrExit, loadTokenSecrets, type NodeSecrets, onStopSignal } from '@tokenserver/shared';
import { answerClientErrors } from '@tokenserver/shared/http-listen';
import { Command } from 'commander';
import { createExampleNodeApp, exampleNodeClientError } from './app.js';

/** Message sent to a parent process (e.g. `tokenserver start`) once the node listens. */
export interface ExampleNodeListeningMessage {
  type: 'listening';
  url: string;
}

const program = new Command('tokenserver-example-node')
  .description('A small storage-like service node that authenticates token-server tokens with Hawk')
  .option('-c, --config <path>', 'config file (default: $TOKENSERVER_CONFIG or config/default.toml)')
  .showHelpAfterError()
  .action((options: { config?: string }) => runExampleNode(options.config));

async function runExampleNode(configPath?: string): Promise<void> {
  const { config } = loadConfigOrExit(configPath);
  const settings = config.example_node;
  const log = createLogger('example-node', config);
  let secrets: NodeSecrets;
  try {
    // create: the node may start before the workers; the file is written once, atomically.
    const loaded = loadTokenSecrets(config.tokens, config.broker.run_dir, {
      create: true,
      onSecretsFileError: (error) => log.error({ err: error.message }, 'secrets_file changed but cannot be used'),
    });
    secrets = loaded.nodeSecrets;
    for (const file of loaded.generated.filter((f) => f.created))
      log.warn({ path: file.path }, 'generated a token secret');
  } catch (err) {
    process.stderr.write(`example-node: token secrets: ${(err as Error).message}\n`);
    process.exit(1);
  }

  const server = createServer();
  answerClientErrors(server, exampleNodeClientError);
  server.listen(settings.port, settings.host);
  try {
    await once(server, 'listening');
  } catch (err) {
    process.stderr.write(
      `example-node: cannot listen on ${settings.host}:${settings.port}: ${(err as Error).message}\n`,
    );
    process.exit(1);
  }
  // Known only now when port is 0.
  const { port } = server.address() as AddressInfo;
  const url = settings.url ?? `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  try {
    server.on(
      'request',
      createExampleNodeApp({
        secrets,
        node: url,
        skewS: settings.timestamp_skew_s,
        maxBodyBytes: settings.max_body_bytes,
        nonceCacheSize: settings.nonce_cache_size,
      }),
    );
  } catch (err) {
    process.stderr.write(`example-node: ${(err as Error).message}\n`);
    process.exit(1);
  }
  log.info({ url, secrets: loadedSource(config.tokens) }, 'example node listening');
  process.send?.({ type: 'listening', url } satisfies ExampleNodeListeningMessage);

  const stop = (signal: string): void => {
    log.info({ signal }, 'example node stopping');
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  onStopSignal(stop);
}

function loadedSource(tokens: { secrets_file?: string; master_secret?: string }): string {
  if (tokens.secrets_file !== undefined) return 'secrets_file';
  return tokens.master_secret !== undefined ? 'master_secret' : 'generated';
}

await program.parseAsync();
