// The widths of the store's columns (web/src/db/migrations.ts): what the config schema's [[bootstrap.*]] entries
// and the ops commands' arguments must fit in, defined once for both.

export const SERVICE_NAME_MAX = 30;
export const SERVICE_PATTERN_MAX = 128;
export const NODE_URL_MAX = 255;
export const EMAIL_MAX = 255;
/** Node counters are MySQL INT columns. */
export const NODE_COUNT_MAX = 2_147_483_647;
