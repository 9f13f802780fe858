import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { apiErrors } from './api-errors.js';
import { sendError } from './responses.js';

// `[web] max_body_bytes`, for every route (the token route, the FxA webhook and the rest): no route reads a
// request body, so a body is read and dropped before the route runs, and one past the limit is refused with 413
// and the connection closed, instead of being drained however large it is. Requests without a body (every GET a
// client sends) go straight through.

export function withBodyLimit(handler: RequestListener, maxBodyBytes: number): RequestListener {
  return (req, res) => {
    const declared = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (declared !== undefined && Number(declared) > maxBodyBytes) return refuseBody(req, res);
    if (!chunked && (declared === undefined || Number(declared) === 0)) return handler(req, res);
    readBodyWithin(
      req,
      maxBodyBytes,
      () => handler(req, res),
      () => refuseBody(req, res),
    );
  };
}

function readBodyWithin(req: IncomingMessage, maxBodyBytes: number, onEnd: () => void, onTooLarge: () => void): void {
  let received = 0;
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (received <= maxBodyBytes) return;
    req.off('data', onData).off('end', onEnd).pause();
    onTooLarge();
  };
  // An aborted upload: the socket is gone, there is no one to answer.
  req.on('error', () => {});
  req.on('data', onData).once('end', onEnd);
}

function refuseBody(req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  sendError(res, apiErrors.bodyTooLarge(), { Connection: 'close' });
  // The rest of the body is not read: the connection ends with the answer.
  res.once('finish', () => req.socket.destroySoon());
}
