import {
  type Config,
  createLogger,
  encodeJobBody,
  type SignTokenAnswer,
  type SignTokenRequest,
} from '@tokenserver/shared';
import { loadTokenSecrets } from '../tokens/secrets-source.js';
import { TokenSigner } from '../tokens/sign.js';
import { type JobHandler, parseJsonBody } from './job-handler.js';

/** Signs a tokenlib token for a user on a node; the secrets exist only in worker processes. */
export const signTokenJob: JobHandler = {
  kind: 'sign-token',
  inline: true,
  create(config) {
    // The supervisor created any generated secret before starting this process.
    const secrets = loadTokenSecrets(config.tokens, config.broker.run_dir, {
      create: false,
      onSecretsFileError: secretsFileErrorLogger(config),
    });
    const signer = new TokenSigner({
      secrets: secrets.nodeSecrets,
      metrics: secrets.metricsSecret,
      durationS: config.tokens.duration,
    });
    return (body) => {
      const request = parseJsonBody<SignTokenRequest>(body, isSignRequest);
      const token = signer.sign(request);
      const answer: SignTokenAnswer = {
        id: token.id,
        key: token.key,
        duration: token.duration,
        hashedFxaUid: token.hashedFxaUid,
      };
      return encodeJobBody(answer);
    };
  },
};

/** A rotated secrets file that cannot be read keeps the previous secrets in use: say so. */
function secretsFileErrorLogger(config: Config): (error: Error) => void {
  return (error) =>
    createLogger('worker', config).error({ err: error.message }, 'secrets_file changed but cannot be used');
}

function isSignRequest(v: Record<string, unknown>): boolean {
  return (
    Number.isSafeInteger(v.uid) &&
    typeof v.node === 'string' &&
    typeof v.fxaUid === 'string' &&
    typeof v.fxaKid === 'string' &&
    (v.deviceId === undefined || typeof v.deviceId === 'string') &&
    (v.requestedDuration === undefined || typeof v.requestedDuration === 'string')
  );
}
