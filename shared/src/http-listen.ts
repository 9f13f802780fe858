import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import { type AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';

/** Kept-alive connections still idle this long after close() starts are closed (see close()). */
const IDLE_CLOSE_DELAY_MS = 200;

export interface HttpListening {
  /** `http://host:port` (IPv6 hosts in brackets). */
  url: string;
  /** Stops accepting connections, drops idle keep-alive ones, and resolves once the server is closed. */
  close(): Promise<void>;
}

/** Starts `server` on host:port (0 = any free port); rejects on EADDRINUSE and the like. */
export async function listenHttp(server: Server, port: number, host: string): Promise<HttpListening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Kept-alive clients would otherwise go on being served: every answer from now on closes its connection.
        server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
          if (!res.headersSent) res.setHeader('Connection', 'close');
          res.shouldKeepAlive = false;
        });
        // Stop accepting, but unlike http's close() do not drop idle kept-alive connections at once: a request
        // already on its way over one would be reset unanswered. It is answered (and its connection closed); the
        // connections that stay idle are closed a moment later.
        NetServer.prototype.close.call(server, () => resolve());
        setTimeout(() => server.closeIdleConnections(), IDLE_CLOSE_DELAY_MS).unref();
      }),
  };
}

/** An answer written straight to a socket, outside any request handler. */
export interface RawHttpAnswer {
  httpStatus: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Requests Node cannot parse (bad syntax, headers past `maxHeaderSize`) get `answerFor(err.code)` — a JSON body,
 * the server's own headers — instead of Node's bare 400/431, and never a bare reset.
 */
export function answerClientErrors(server: Server, answerFor: (code: string | undefined) => RawHttpAnswer): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (err as { bytesParsed?: number }).bytesParsed === 0) {
      socket.destroy();
      return;
    }
    const { httpStatus, headers, body } = answerFor(err.code);
    const allHeaders = { ...headers, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' };
    const head = Object.entries(allHeaders)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.end(`HTTP/1.1 ${httpStatus} ${STATUS_CODES[httpStatus] ?? ''}\r\n${head}\r\n${body}`);
  });
}
