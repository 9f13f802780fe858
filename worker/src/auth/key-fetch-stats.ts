/**
 * Counts of remote key fetches (BrowserID support documents, OAuth JWKS) and cache hits, kept by
 * the verifiers of one job thread and reported to the supervisor's metrics.
 */
export interface KeyFetchStats {
  idpFetches: number;
  idpFetchFailures: number;
  idpCacheHits: number;
  jwksFetches: number;
  jwksFetchFailures: number;
  /** Token verifications whose key came from the cached JWKS, with no download. */
  jwksCacheHits: number;
}

export function emptyKeyFetchStats(): KeyFetchStats {
  return {
    idpFetches: 0,
    idpFetchFailures: 0,
    idpCacheHits: 0,
    jwksFetches: 0,
    jwksFetchFailures: 0,
    jwksCacheHits: 0,
  };
}

/** Adds `more` into `into`, field by field. */
export function addKeyFetchStats(into: KeyFetchStats, more: Readonly<KeyFetchStats>): KeyFetchStats {
  for (const key of Object.keys(into) as Array<keyof KeyFetchStats>) into[key] += more[key];
  return into;
}
