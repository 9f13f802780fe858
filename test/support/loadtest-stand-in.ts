import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from './hawk.js';

// A stand-in for a token server in loadtest_mode, for the load-test tool's own tests: its __heartbeat__ says the
// mode is on, and every other request is answered by `answer` (the n-th request gets n, from 0), so that a test can
// serve exactly the wrong answers the tool must catch without starting the whole stack.

export type StandInAnswer = (req: IncomingMessage, res: ServerResponse, n: number) => void;

export async function startLoadtestStandIn(answer: StandInAnswer): Promise<LoopbackServer> {
  let served = 0;
  return LoopbackServer.start(() => (req, res) => {
    if (req.url === '/__heartbeat__') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ status: 'Ok', loadtest_mode: true }));
      return;
    }
    answer(req, res, served++);
  });
}

/** Sends `body` as JSON with `status`. */
export function answerJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
