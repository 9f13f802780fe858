// Audience matching. A configured audience with a scheme ("https://token.example.com") must match
// the assertion's origin exactly (default ports filled in); one without a scheme
// ("token.example.com" or "token.example.com:8443") matches that host and port over any scheme.

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

interface Origin {
  scheme: string;
  host: string;
  port: string;
  /** True when the port was not written and is the scheme's default. */
  defaultPort: boolean;
}

export class AudienceMatcher {
  private readonly origins = new Set<string>();
  private readonly hosts = new Set<string>();

  constructor(audiences: readonly string[]) {
    for (const audience of audiences) this.add(audience);
  }

  matches(audience: unknown): audience is string {
    if (typeof audience !== 'string' || audience.length > 2048) return false;
    const origin = parseOrigin(audience);
    if (!origin) return false;
    return (
      this.origins.has(`${origin.scheme}//${origin.host}:${origin.port}`) ||
      this.hosts.has(`${origin.host}:${origin.port}`) ||
      (origin.defaultPort && this.hosts.has(origin.host))
    );
  }

  private add(audience: string): void {
    if (audience.includes('://')) {
      const origin = parseOrigin(audience);
      if (!origin) throw new TypeError(`invalid audience ${JSON.stringify(audience)}`);
      this.origins.add(`${origin.scheme}//${origin.host}:${origin.port}`);
    } else {
      this.hosts.add(audience.toLowerCase());
    }
  }
}

function parseOrigin(text: string): Origin | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.pathname.length > 1 || url.search || url.hash || url.username || url.password || !url.hostname)
    return undefined;
  const implied = DEFAULT_PORTS[url.protocol] ?? '';
  return { scheme: url.protocol, host: url.hostname, port: url.port || implied, defaultPort: url.port === '' };
}
