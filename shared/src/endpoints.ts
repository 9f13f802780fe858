import { chmodSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BrokerConfig, Config } from './config-schema.js';

export interface BrokerEndpoints {
  frontend: string;
  backend: string;
  /** The run directory for IPC sockets and the broker lock; undefined over TCP. */
  runDir?: string;
}

const SUN_PATH_MAX = 107;

/** The two ZeroMQ endpoints, the same for the broker (bind) and its peers (connect). */
export function brokerEndpoints(config: BrokerConfig): BrokerEndpoints {
  if (config.transport === 'tcp') {
    return { frontend: `tcp://${config.frontend}`, backend: `tcp://${config.backend}` };
  }
  const runDir = resolve(config.run_dir);
  const frontend = `${runDir}/powerhose-frontend.sock`;
  if (frontend.length > SUN_PATH_MAX) {
    throw new RangeError(
      `broker.run_dir is too long for an IPC socket path (${frontend.length} > ${SUN_PATH_MAX} bytes)`,
    );
  }
  return { frontend: `ipc://${frontend}`, backend: `ipc://${runDir}/powerhose-backend.sock`, runDir };
}

/** Creates the run directory with mode 0700 (and tightens it if it already exists). */
export function ensureRunDir(runDir: string): void {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  chmodSync(runDir, 0o700);
}

/**
 * The start-up warning for `transport = "tcp"` with CURVE off, whatever the address: jobs and results travel in
 * clear text and anyone who can reach the broker can submit sign jobs or pose as a worker. Loopback is no
 * exception: unlike the 0700 IPC directory, a loopback port is open to every local user.
 */
export function plaintextTransportWarning(config: Pick<Config, 'broker' | 'security'>): string | undefined {
  if (config.broker.transport !== 'tcp' || config.security.curve) return undefined;
  return (
    `TCP TRANSPORT WITHOUT CURVE (frontend ${config.broker.frontend}, backend ${config.broker.backend}): jobs travel ` +
    'unencrypted and unauthenticated; anyone who can reach these ports (every local user, for a loopback address) ' +
    'can submit sign jobs or pose as a worker. Set [security] curve = true, or use transport = "ipc" on one host.'
  );
}
