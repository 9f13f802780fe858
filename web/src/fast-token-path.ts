import type { IncomingMessage, RequestListener } from 'node:http';
import type { TokenHandler } from './token-route.js';

// The token route without Express: on this path Express's own per-request work (router, request and response
// prototypes, query parsing) costs more than everything the web front itself does. Everything that is not a
// plain `GET /1.0/{application}/{version}` still goes through Express, which answers it as before.

const TOKEN_URL = /^\/1\.0\/([^/?#]+)\/([^/?#]+)\/?(?:\?(.*))?$/;
/** The route label the request logs and metrics use, as Express would name it. */
const TOKEN_ROUTE = { path: '/1.0/:application/:version' };

export function withFastTokenPath(app: RequestListener, handleToken: TokenHandler): RequestListener {
  return (req, res) => {
    const target = req.method === 'GET' ? tokenTarget(req.url) : undefined;
    if (!target) return app(req, res);
    (req as IncomingMessage & { route?: typeof TOKEN_ROUTE }).route = TOKEN_ROUTE;
    void handleToken(req, res, target);
  };
}

function tokenTarget(url: string | undefined): Parameters<TokenHandler>[2] | undefined {
  const match = url === undefined ? null : TOKEN_URL.exec(url);
  if (!match) return undefined;
  const application = decode(match[1] as string);
  const version = decode(match[2] as string);
  // Undecodable segments go to Express, which answers 400 as for any other bad path.
  if (application === undefined || version === undefined) return undefined;
  const query = match[3];
  return {
    application,
    version,
    duration: query ? (new URLSearchParams(query).get('duration') ?? undefined) : undefined,
  };
}

function decode(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
