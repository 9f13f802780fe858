// The floor under the broker's added latency on this machine: the round trip at 1 in flight from a DEALER to an
// echoing ROUTER, directly and through libzmq's own zmq_proxy (zeromq.js Proxy: native, no JavaScript per message)
// running in a separate process. Whatever a relay process adds here, a broker process cannot add less.
// Used by bench-broker.ts; run as a child with a role (`echo` or `proxy`) it serves that role.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Dealer, Router, Proxy as ZmqProxy } from 'zeromq';

export interface FloorResult {
  directP50us: number;
  proxiedP50us: number;
}

const BODY = Buffer.alloc(64, 7);
const ROUND_TRIPS = 5000;
const WARMUP = 500;

async function serve(role: string, dir: string): Promise<void> {
  if (role === 'echo') {
    const router = new Router({ linger: 0 });
    await router.bind(`ipc://${dir}/floor-echo.sock`);
    process.send?.('up');
    for await (const frames of router) await router.send(frames);
  } else {
    const frontend = new Router({ linger: 0 });
    const backend = new Dealer({ linger: 0 });
    await frontend.bind(`ipc://${dir}/floor-proxy.sock`);
    backend.connect(`ipc://${dir}/floor-echo.sock`);
    process.send?.('up');
    await new ZmqProxy(frontend, backend).run();
  }
}

function start(role: string, dir: string): Promise<ChildProcess> {
  const child = fork(fileURLToPath(import.meta.url), [role, dir], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`relay-floor ${role} exited with ${code}`)));
  });
}

async function p50RoundTripUs(endpoint: string): Promise<number> {
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(endpoint);
  const latencies: number[] = [];
  for (let i = 0; i < ROUND_TRIPS + WARMUP; i++) {
    const started = performance.now();
    await dealer.send(BODY);
    await dealer.receive();
    if (i >= WARMUP) latencies.push(performance.now() - started);
  }
  dealer.close();
  latencies.sort((a, b) => a - b);
  return (latencies[latencies.length >> 1] as number) * 1000;
}

/** Median over `repeats` alternating runs of direct and proxied round trips. */
export async function measureRelayFloor(dir: string, repeats: number): Promise<FloorResult> {
  const echo = await start('echo', dir);
  const proxy = await start('proxy', dir);
  try {
    const direct: number[] = [];
    const proxied: number[] = [];
    for (let i = 0; i < repeats; i++) {
      direct.push(await p50RoundTripUs(`ipc://${dir}/floor-echo.sock`));
      proxied.push(await p50RoundTripUs(`ipc://${dir}/floor-proxy.sock`));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;
    return { directP50us: median(direct), proxiedP50us: median(proxied) };
  } finally {
    echo.kill('SIGKILL');
    proxy.kill('SIGKILL');
  }
}

const [role, dir] = process.argv.slice(2);
if ((role === 'echo' || role === 'proxy') && dir) await serve(role, dir);
