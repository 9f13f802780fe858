// The part of @hapi/hawk (CommonJS, untyped) this package uses. Written here rather than taken
// from @types/hapi__hawk, whose request type is http.IncomingMessage only, whose payloads are
// strings only, and which brings in the typings of all of hapi.
declare module '@hapi/hawk' {
  export interface HawkCredentials {
    id?: string;
    key: string;
    algorithm: 'sha256' | 'sha1';
  }

  export interface HawkArtifacts {
    method: string;
    host: string;
    port: number | string;
    resource: string;
    ts: string | number;
    nonce: string;
    hash?: string;
    ext?: string;
    mac?: string;
    id?: string;
  }

  /** A node request, or its already-parsed parts (then `headers` is absent). */
  export type HawkRequest =
    | {
        method: string;
        url: string;
        headers: Record<string, string | string[] | undefined>;
        connection?: { encrypted?: boolean };
      }
    | { method: string; url: string; host: string; port: number; authorization: string; contentType: string };

  export interface AuthenticateOptions {
    hostHeaderName?: string;
    nonceFunc?: (key: string, nonce: string, ts: string) => void | Promise<void>;
    timestampSkewSec?: number;
    localtimeOffsetMsec?: number;
    host?: string;
    port?: number;
  }

  export interface UriLike {
    protocol: string;
    hostname: string;
    port: string | number;
    pathname: string;
    search: string;
  }

  export interface HeaderOptions {
    credentials: HawkCredentials & { id: string };
    timestamp?: number;
    nonce?: string;
    localtimeOffsetMsec?: number;
    payload?: string | Buffer;
    contentType?: string;
    ext?: string;
  }

  /** Boom errors as hawk throws them. */
  export interface HawkBoom extends Error {
    isBoom: true;
    output: { statusCode: number; headers: Record<string, string> };
  }

  export const server: {
    authenticate<C extends HawkCredentials>(
      req: HawkRequest,
      credentialsFunc: (id: string) => C | Promise<C>,
      options?: AuthenticateOptions,
    ): Promise<{ credentials: C; artifacts: HawkArtifacts }>;
    authenticatePayload(
      payload: string | Buffer,
      credentials: HawkCredentials,
      artifacts: HawkArtifacts,
      contentType: string | undefined,
    ): void;
  };

  export const client: {
    header(uri: string | UriLike, method: string, options: HeaderOptions): { header: string; artifacts: HawkArtifacts };
  };

  export const crypto: {
    calculateMac(type: 'header' | 'response', credentials: HawkCredentials, artifacts: HawkArtifacts): string;
    calculatePayloadHash(
      payload: string | Buffer,
      algorithm: HawkCredentials['algorithm'],
      contentType?: string,
    ): string;
    timestampMessage(credentials: HawkCredentials, localtimeOffsetMsec?: number): { ts: number; tsm: string };
    calculateTsMac(ts: string | number, credentials: HawkCredentials): string;
  };
}
