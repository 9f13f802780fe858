import { type Config, createLogger, type SignTokenAnswer, type SignTokenRequest } from '@tokenserver/shared';
import { loadTokenSecrets } from './secrets-source.js';
import { TokenSigner } from './sign.js';

// The signer a job thread builds from `[tokens]`, shared by the sign job and the verify jobs that presign.

const signers = new WeakMap<Config, TokenSigner>();

/**
 * The configured signer, one per config in a thread (the sign and verify handlers share its secrets and their
 * file watch); the supervisor created any generated secret before starting this process.
 */
export function configuredSigner(config: Config): TokenSigner {
  let signer = signers.get(config);
  if (!signer) {
    signer = createSigner(config);
    signers.set(config, signer);
  }
  return signer;
}

function createSigner(config: Config): TokenSigner {
  const secrets = loadTokenSecrets(config.tokens, config.broker.run_dir, {
    create: false,
    onSecretsFileError: secretsFileErrorLogger(config),
  });
  return new TokenSigner({
    secrets: secrets.nodeSecrets,
    metrics: secrets.metricsSecret,
    durationS: config.tokens.duration,
  });
}

/** Signs and keeps what the web front's answer needs. */
export function signTokenAnswer(signer: TokenSigner, request: SignTokenRequest): SignTokenAnswer {
  const token = signer.sign(request);
  return { id: token.id, key: token.key, duration: token.duration, hashedFxaUid: token.hashedFxaUid };
}

/** A rotated secrets file that cannot be read keeps the previous secrets in use: say so. */
function secretsFileErrorLogger(config: Config): (error: Error) => void {
  return (error) =>
    createLogger('worker', config).error({ err: error.message }, 'secrets_file changed but cannot be used');
}
