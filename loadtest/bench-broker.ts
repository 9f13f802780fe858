// npm run bench:broker — echo jobs through the broker versus straight to one worker, over IPC and TCP.
// Bounded: a fixed number of short runs on loopback / a private run directory; stops by itself.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, decodeReady, JobBatch, readCommand, readResults } from '@tokenserver/shared';
import { PowerhoseClient } from '@tokenserver/shared/client';
import { Router } from 'zeromq';
import { freePort } from './free-port.js';
import { measureRelayFloor } from './relay-floor.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WINDOWS = [1, 16, 256];
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 1500);
const WARMUP_MS = 300;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const BODY = Buffer.from('0123456789abcdef0123456789abcdef');

type Transport = 'ipc' | 'tcp';
type Submit = () => Promise<unknown>;

interface RunResult {
  jobsPerSecond: number;
  p50us: number;
  p99us: number;
}

/** A bare ROUTER that speaks the worker protocol itself: the no-broker baseline. */
class DirectToWorker {
  private readonly router = new Router({ linger: 0, mandatory: true, sendHighWaterMark: 10000 });
  private readonly pending = new Map<number, () => void>();
  private readonly batch = new JobBatch();
  private worker: Buffer | undefined;
  private nextId = 1;
  private flushScheduled = false;
  private sending = Promise.resolve();

  async bind(endpoint: string): Promise<void> {
    await this.router.bind(endpoint);
    void this.receive();
  }

  async waitForWorker(): Promise<void> {
    while (!this.worker) await sleep(10);
  }

  readonly submit: Submit = () =>
    new Promise<void>((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, resolve);
      this.batch.push(id, Date.now() + 10_000, 'echo', BODY);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });

  private flush(): void {
    this.flushScheduled = false;
    const frame = this.batch.take(Command.Jobs);
    const worker = this.worker as Buffer;
    this.sending = this.sending.then(() => this.router.send([worker, frame]));
  }

  private async receive(): Promise<void> {
    for await (const [peer, frame] of this.router) {
      const command = readCommand(frame as Buffer);
      if (command === Command.Ready) {
        decodeReady(frame as Buffer);
        this.worker = peer as Buffer;
      } else if (command === Command.Done) {
        readResults(frame as Buffer, (id) => {
          this.pending.get(id)?.();
          this.pending.delete(id);
        });
      }
    }
  }

  close(): void {
    this.router.close();
  }
}

/** Keeps `window` jobs in flight for `ms`; returns throughput and latency percentiles. */
async function runWindow(submit: Submit, window: number, ms: number): Promise<RunResult> {
  const latencies: number[] = [];
  let running = true;
  let done = 0;
  const loop = async () => {
    while (running) {
      const start = performance.now();
      await submit();
      latencies.push(performance.now() - start);
      done++;
    }
  };
  const started = performance.now();
  const loops = Array.from({ length: window }, loop);
  await sleep(ms);
  running = false;
  const elapsed = performance.now() - started;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 1000;
  return { jobsPerSecond: (done / elapsed) * 1000, p50us: at(0.5), p99us: at(0.99) };
}

function startProcess(script: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [join(ROOT, script)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
}

async function clusterEnv(transport: Transport, runDir: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    TOKENSERVER_BROKER__TRANSPORT: transport,
    TOKENSERVER_BROKER__RUN_DIR: runDir,
    TOKENSERVER_WORKER__CONCURRENCY: '1024',
    TOKENSERVER_LOG__LEVEL: 'warn',
  };
  if (transport === 'tcp') {
    env.TOKENSERVER_BROKER__FRONTEND = `127.0.0.1:${await freePort()}`;
    env.TOKENSERVER_BROKER__BACKEND = `127.0.0.1:${await freePort()}`;
  }
  return env;
}

function endpoints(transport: Transport, env: Record<string, string>, runDir: string) {
  return transport === 'tcp'
    ? { frontend: `tcp://${env.TOKENSERVER_BROKER__FRONTEND}`, backend: `tcp://${env.TOKENSERVER_BROKER__BACKEND}` }
    : { frontend: `ipc://${runDir}/powerhose-frontend.sock`, backend: `ipc://${runDir}/powerhose-backend.sock` };
}

async function benchTransport(
  transport: Transport,
): Promise<Record<string, { direct: RunResult; brokered: RunResult }>> {
  const runDir = mkdtempSync(join(tmpdir(), 'bench-'));
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const children: ChildProcess[] = [];
  try {
    // Baseline: this process binds the backend itself and one worker connects to it.
    const directEnv = await clusterEnv(transport, runDir);
    const direct = new DirectToWorker();
    await direct.bind(endpoints(transport, directEnv, runDir).backend);
    const directWorker = startProcess('worker/dist/worker-main.js', directEnv);
    await direct.waitForWorker();

    // Brokered: a broker and one worker on other endpoints.
    const brokerDir = join(runDir, 'broker');
    const brokerEnv = await clusterEnv(transport, brokerDir);
    children.push(startProcess('broker/dist/cli.js', brokerEnv));
    children.push(startProcess('worker/dist/worker-main.js', brokerEnv));
    const client = new PowerhoseClient({
      endpoint: endpoints(transport, brokerEnv, brokerDir).frontend,
      defaultTimeoutMs: 10_000,
      heartbeatIntervalMs: 500,
      heartbeatLiveness: 3,
      maxMessageBytes: 4 << 20,
    });
    while ((client.brokerStatus().last?.liveWorkers ?? 0) < 1) await sleep(20);
    const brokered: Submit = () => client.submit('echo', BODY);

    const results: Record<string, { direct: RunResult; brokered: RunResult }> = {};
    for (const window of WINDOWS) {
      const runs = { direct: [] as RunResult[], brokered: [] as RunResult[] };
      for (let i = 0; i < REPEATS; i++) {
        // Alternate so that noise from the shared machine hits both sides alike.
        await runWindow(direct.submit, window, WARMUP_MS);
        runs.direct.push(await runWindow(direct.submit, window, RUN_MS));
        await runWindow(brokered, window, WARMUP_MS);
        runs.brokered.push(await runWindow(brokered, window, RUN_MS));
      }
      results[String(window)] = { direct: median(runs.direct), brokered: median(runs.brokered) };
    }
    client.close();
    direct.close();
    directWorker.kill('SIGKILL');
    return results;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    rmSync(runDir, { recursive: true, force: true });
  }
}

function median(runs: RunResult[]): RunResult {
  const pick = (key: keyof RunResult) =>
    [...runs].map((r) => r[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)] as number;
  return { jobsPerSecond: pick('jobsPerSecond'), p50us: pick('p50us'), p99us: pick('p99us') };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const all: Record<string, unknown> = {};
const rows: string[] = [];
for (const transport of ['ipc', 'tcp'] as Transport[]) {
  const results = await benchTransport(transport);
  all[transport] = results;
  for (const [window, { direct, brokered }] of Object.entries(results)) {
    rows.push(
      `| ${transport} | ${window} | ${Math.round(direct.jobsPerSecond)} | ${Math.round(brokered.jobsPerSecond)} | ` +
        `${(brokered.jobsPerSecond / direct.jobsPerSecond).toFixed(2)} | ${Math.round(direct.p50us)} / ${Math.round(direct.p99us)} | ` +
        `${Math.round(brokered.p50us)} / ${Math.round(brokered.p99us)} | ${Math.round(brokered.p50us - direct.p50us)} |`,
    );
  }
}
console.log(
  '| transport | in flight | direct jobs/s | brokered jobs/s | ratio | direct p50/p99 µs | brokered p50/p99 µs | added p50 µs |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);

// What any relay process adds here, measured with libzmq's native proxy: the floor under "added p50".
const floorDir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
try {
  const floor = await measureRelayFloor(floorDir, REPEATS);
  all.relayFloor = floor;
  console.log(
    '\n| relay at 1 in flight (ipc) | direct p50 µs | through a native zmq_proxy process p50 µs | added p50 µs |',
  );
  console.log('|---|---|---|---|');
  console.log(
    `| libzmq zmq_proxy, no JavaScript per message | ${Math.round(floor.directP50us)} | ${Math.round(floor.proxiedP50us)} | ${Math.round(floor.proxiedP50us - floor.directP50us)} |`,
  );
} finally {
  rmSync(floorDir, { recursive: true, force: true });
}
mkdirSync(join(ROOT, 'loadtest/results'), { recursive: true });
writeFileSync(join(ROOT, 'loadtest/results/bench-broker.json'), `${JSON.stringify(all, null, 2)}\n`);
process.exit(0);
