const BODY = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url: `=` padding is optional but only accepted where it belongs, and no other
 * character is skipped (Buffer.from alone ignores junk). Returns undefined when `text` is not base64url.
 */
export function decodeBase64Url(text: string, { allowPadding = true } = {}): Buffer | undefined {
  const end = text.indexOf('=');
  const body = end === -1 ? text : text.slice(0, end);
  if (!BODY.test(body) || body.length % 4 === 1) return undefined;
  if (end !== -1) {
    const padding = text.length - end;
    if (!allowPadding || padding > 2 || text.length % 4 !== 0 || text.slice(end) !== '='.repeat(padding)) {
      return undefined;
    }
  }
  return Buffer.from(body, 'base64url');
}
