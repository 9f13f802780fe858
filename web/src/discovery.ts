import type { Config } from '@tokenserver/shared';
import type { Request } from 'express';

// GET /: what a client needs to know about this server: the services it issues tokens for and how it
// verifies credentials.

export interface DiscoveryDocument {
  services: Readonly<Record<string, string[]>>;
  auth: string;
  browserid: { allowed_issuers: string[]; trusted_issuers: string[] };
  oauth: { default_issuer: string; scope: string; server_url: string };
}

const SAFE_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export function discoveryDocument(
  config: Pick<Config, 'browserid' | 'oauth' | 'web'>,
  services: Readonly<Record<string, string[]>>,
  req: Pick<Request, 'headers'>,
): DiscoveryDocument {
  return {
    services,
    auth: publicUrl(config.web, req.headers.host),
    browserid: {
      allowed_issuers: config.browserid.allowed_issuers,
      trusted_issuers: config.browserid.trusted_issuers,
    },
    oauth: {
      default_issuer: config.oauth.issuer ?? config.oauth.email_domain,
      scope: config.oauth.scope,
      server_url: config.oauth.jwks_url.replace(/\/jwks$/, ''),
    },
  };
}

/** This server's URL as the client reached it; the configured address when Host is absent or odd. */
function publicUrl(web: Config['web'], host: string | undefined): string {
  return host !== undefined && SAFE_HOST.test(host) ? `http://${host}` : `http://${web.host}:${web.port}`;
}
