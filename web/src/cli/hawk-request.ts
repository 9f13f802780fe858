import { readFileSync } from 'node:fs';
import { HawkClient, type HawkTokenCredentials } from '@tokenserver/shared/hawk/client';
import type { Command } from 'commander';

// `tokenserver hawk-request METHOD URL`: one Hawk-signed request to a service node with the credentials of a
// token-server answer, as a Sync client would send it (the README walk-through's last step).

interface HawkRequestOptions {
  token: string;
  data?: string;
  contentType: string;
  include: boolean;
}

export function registerHawkRequestCommand(program: Command): void {
  program
    .command('hawk-request')
    .description('send a Hawk-signed request to a service node with a token-server answer (JSON) as credentials')
    .argument('<method>', 'HTTP method, e.g. GET, PUT, DELETE')
    .argument('<url>', "absolute URL, or relative to the token's api_endpoint (e.g. storage/greeting)")
    .option('-t, --token <file>', 'the token-server answer, "-" for stdin', '-')
    .option('-d, --data <body>', 'request body (its hash is signed)')
    .option('--content-type <type>', 'content type of the body', 'application/json')
    .option('-i, --include', 'print the status line and headers before the body', false)
    .action((method: string, url: string, options: HawkRequestOptions) => hawkRequestCommand(method, url, options));
}

async function hawkRequestCommand(method: string, url: string, options: HawkRequestOptions): Promise<void> {
  const token = readToken(options.token);
  let response: Response;
  try {
    response = await new HawkClient(token).request(method, url, options.data, { contentType: options.contentType });
  } catch (err) {
    fail(`${method.toUpperCase()} ${url}: ${describeFetchError(err as Error)}`);
  }
  const body = await response.text();
  if (options.include) process.stdout.write(`${statusLine(response)}\n${headerLines(response)}\n`);
  process.stdout.write(body.endsWith('\n') || body === '' ? body : `${body}\n`);
  if (!response.ok) fail(`the node answered ${statusLine(response)}`);
}

/** The credentials of a token-server success answer, read from a file or stdin. */
function readToken(path: string): HawkTokenCredentials {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    fail(`cannot read the token from ${path === '-' ? 'stdin' : path}: ${(err as Error).message}`);
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    fail('the token is not JSON: pass the body of a 200 answer of GET /1.0/{application}/{version}');
  }
  const { id, key, api_endpoint } = (answer ?? {}) as Record<string, unknown>;
  if (typeof id !== 'string' || typeof key !== 'string') {
    fail('the token has no "id" and "key" strings: pass the body of a 200 token answer');
  }
  return { id, key, ...(typeof api_endpoint === 'string' ? { api_endpoint } : {}) };
}

function statusLine(response: Response): string {
  return `HTTP ${response.status} ${response.statusText}`.trimEnd();
}

function headerLines(response: Response): string {
  return [...response.headers].map(([name, value]) => `${name}: ${value}\n`).join('');
}

function describeFetchError(err: Error): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? err.message;
}

function fail(message: string): never {
  process.stderr.write(`tokenserver hawk-request: ${message}\n`);
  process.exit(1);
}
