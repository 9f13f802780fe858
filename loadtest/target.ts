import { isIP } from 'node:net';

// The load-test tool only ever targets this machine: a typo must not turn it against someone's server.

export class TargetNotAllowedError extends Error {
  readonly code = 'ERR_LOADTEST_TARGET';
}

/** Parses `url` and accepts it only for http:// on a loopback host (127.0.0.0/8, ::1, localhost). */
export function loopbackTarget(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetNotAllowedError(`loadtest: ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:') {
    throw new TargetNotAllowedError(`loadtest: refusing ${url}: only http:// loopback targets are load-tested`);
  }
  if (!isLoopbackHost(parsed.hostname)) {
    throw new TargetNotAllowedError(
      `loadtest: refusing ${url}: only loopback targets (127.0.0.0/8, ::1, localhost) are load-tested`,
    );
  }
  return parsed;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(host);
  return false;
}
