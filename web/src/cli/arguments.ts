import { EMAIL_MAX, NODE_COUNT_MAX, NODE_URL_MAX, SERVICE_NAME_MAX, SERVICE_PATTERN_MAX } from '@tokenserver/shared';
import { InvalidArgumentError } from 'commander';

// Commander parsers for the ops commands' arguments and options. A value the schema cannot hold (see
// db/migrations.ts) is refused here, before anything is stored: commander prints "error: … expected …" and
// the program exits 2.

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('expected a whole number');
  }
  return Number(value);
}

export function positiveNumber(value: string): number {
  const parsed = wholeNumber(value);
  if (parsed === 0) throw new InvalidArgumentError('expected a number above 0');
  return parsed;
}

/** --available and --current-load: 0 up to the largest INT. */
export function nodeCount(value: string): number {
  const parsed = wholeNumber(value);
  if (parsed > NODE_COUNT_MAX) throw new InvalidArgumentError(`expected a whole number up to ${NODE_COUNT_MAX}`);
  return parsed;
}

/** --capacity: 1 up to the largest INT. */
export function nodeCapacity(value: string): number {
  const parsed = nodeCount(value);
  if (parsed === 0) throw new InvalidArgumentError('expected a number above 0');
  return parsed;
}

/** Service names appear in token URLs as /1.0/{application}/{version} (`sync-1.5`). */
export function serviceName(value: string): string {
  if (!new RegExp(`^[A-Za-z0-9._-]{1,${SERVICE_NAME_MAX}}$`).test(value)) {
    throw new InvalidArgumentError(`expected 1 to ${SERVICE_NAME_MAX} letters, digits, ".", "_" or "-"`);
  }
  return value;
}

export function servicePattern(value: string): string {
  if (value.trim() === '' || value.length > SERVICE_PATTERN_MAX) {
    throw new InvalidArgumentError(`expected 1 to ${SERVICE_PATTERN_MAX} characters, e.g. "{node}/1.5/{uid}"`);
  }
  return value;
}

/** Node URLs are stored and matched exactly as given, so anything but an http(s) URL is refused up front. */
export function nodeUrl(value: string): string {
  if (value.length > NODE_URL_MAX) throw new InvalidArgumentError(`expected at most ${NODE_URL_MAX} characters`);
  if (!isHttpUrl(value)) throw new InvalidArgumentError('expected an http:// or https:// URL');
  return value;
}

function isHttpUrl(value: string): boolean {
  if (/\s/.test(value)) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Users are keyed by `{fxa uid}@{issuer}` (or a BrowserID email): something@somewhere, no spaces. */
export function userEmail(value: string): string {
  if (value.length > EMAIL_MAX || !/^[^\s@]+@[^\s@]+$/.test(value)) {
    throw new InvalidArgumentError(`expected an email-like user@host of at most ${EMAIL_MAX} characters`);
  }
  return value;
}
