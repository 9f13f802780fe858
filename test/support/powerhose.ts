import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PowerhoseClient } from '@tokenserver/shared/client';
import type { CurveClientOptions } from '@tokenserver/shared/curve';
import { REPO_ROOT, RunningProcess } from './processes.js';

export type Transport = 'ipc' | 'tcp';

export const BROKER_CLI = join(REPO_ROOT, 'broker/dist/cli.js');
export const WORKER_CLI = join(REPO_ROOT, 'worker/dist/cli.js');
export const WORKER_MAIN = join(REPO_ROOT, 'worker/dist/worker-main.js');

/** Short intervals so liveness tests run fast. */
export const TEST_HEARTBEAT_MS = 100;
export const TEST_LIVENESS = 3;

import { freePort } from '../../loadtest/free-port.js';

export { freePort };

/**
 * The settings of one broker cluster under test, as TOKENSERVER_* variables over
 * config/default.toml: a private run directory (IPC) or private ports (TCP).
 */
export class ClusterEnv {
  readonly runDir: string;
  private constructor(
    readonly transport: Transport,
    readonly env: Record<string, string>,
    runDir: string,
  ) {
    this.runDir = runDir;
  }

  static async create(transport: Transport, overrides: Record<string, string> = {}): Promise<ClusterEnv> {
    const runDir = mkdtempSync(join(tmpdir(), 'ph-'));
    const env: Record<string, string> = {
      TOKENSERVER_BROKER__TRANSPORT: transport,
      TOKENSERVER_BROKER__RUN_DIR: runDir,
      TOKENSERVER_BROKER__HEARTBEAT_INTERVAL_MS: String(TEST_HEARTBEAT_MS),
      TOKENSERVER_BROKER__HEARTBEAT_LIVENESS: String(TEST_LIVENESS),
      TOKENSERVER_BROKER__SHUTDOWN_GRACE_MS: '2000',
      TOKENSERVER_WORKER__RESTART_BACKOFF_MS: '100',
      TOKENSERVER_WORKER__HUNG_JOB_GRACE_MS: '300',
      TOKENSERVER_LOG__LEVEL: 'info',
    };
    if (transport === 'tcp') {
      env.TOKENSERVER_BROKER__FRONTEND = `127.0.0.1:${await freePort()}`;
      env.TOKENSERVER_BROKER__BACKEND = `127.0.0.1:${await freePort()}`;
    }
    return new ClusterEnv(transport, { ...env, ...overrides }, runDir);
  }

  get frontend(): string {
    return this.transport === 'tcp'
      ? `tcp://${this.env.TOKENSERVER_BROKER__FRONTEND}`
      : `ipc://${this.runDir}/powerhose-frontend.sock`;
  }

  get backend(): string {
    return this.transport === 'tcp'
      ? `tcp://${this.env.TOKENSERVER_BROKER__BACKEND}`
      : `ipc://${this.runDir}/powerhose-backend.sock`;
  }

  async startBroker(): Promise<RunningProcess> {
    const broker = new RunningProcess(process.execPath, [BROKER_CLI], this.env);
    await broker.waitForOutput(/broker listening/);
    return broker;
  }

  /** One worker process, unsupervised (so a test can kill it for good). */
  startWorker(extraEnv: Record<string, string> = {}): RunningProcess {
    return new RunningProcess(process.execPath, [WORKER_MAIN], { ...this.env, ...extraEnv });
  }

  startSupervisor(args: string[] = []): RunningProcess {
    return new RunningProcess(process.execPath, [WORKER_CLI, ...args], this.env);
  }

  client(defaultTimeoutMs = 5000, curve?: CurveClientOptions): PowerhoseClient {
    return new PowerhoseClient({
      curve,
      endpoint: this.frontend,
      defaultTimeoutMs,
      heartbeatIntervalMs: TEST_HEARTBEAT_MS,
      heartbeatLiveness: TEST_LIVENESS,
      maxMessageBytes: 4 * 1024 * 1024,
    });
  }

  cleanup(): void {
    rmSync(this.runDir, { recursive: true, force: true });
  }
}

/** Waits until the broker reports `count` live workers to this client. */
export async function waitForWorkers(client: PowerhoseClient, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = client.brokerStatus();
    if (status.connected && (status.last?.liveWorkers ?? 0) >= count) return;
    if (Date.now() > deadline)
      throw new Error(`broker did not report ${count} live workers: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Settles every promise and sorts the outcomes: values, and error codes counted. */
export async function outcomes(promises: Promise<Buffer>[]): Promise<{ ok: Buffer[]; errors: Record<string, number> }> {
  const settled = await Promise.allSettled(promises);
  const ok: Buffer[] = [];
  const errors: Record<string, number> = {};
  for (const result of settled) {
    if (result.status === 'fulfilled') ok.push(result.value);
    else {
      const code = (result.reason as { code?: string }).code ?? String(result.reason);
      errors[code] = (errors[code] ?? 0) + 1;
    }
  }
  return { ok, errors };
}
