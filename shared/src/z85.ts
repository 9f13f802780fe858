// Z85 (ZeroMQ RFC 32) decoding, for comparing CURVE public keys given as text in config with the
// 32-byte keys ZAP hands the broker.
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const VALUES = new Map([...ALPHABET].map((char, i) => [char, i]));

/** Decodes Z85 text (length a multiple of 5) to bytes; undefined if it is not valid Z85. */
export function z85Decode(text: string): Buffer | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = VALUES.get(text[i + j] as string);
      if (digit === undefined) return undefined;
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return undefined;
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}

/** A CURVE key as config gives it: 40 characters of Z85 for 32 bytes. */
export function isCurveKey(text: string): boolean {
  return text.length === 40 && z85Decode(text) !== undefined;
}
