/**
 * Object keys as the README ("Object keys") and src/keys/object-key.ts's comments describe them,
 * written out independently, and a generator of valid keys full of characters that need escaping.
 */
import fc from 'fast-check';

/**
 * Valid UTF-8, at most 1024 bytes, no control characters, no look-alike or invisible characters
 * (format, line and paragraph separators, spaces other than U+0020, private use), no U+FFFD, no `${`
 * (S3 expands `${filename}` in POST form keys), no leading `/`, no empty, `.` or `..` segment.
 */
export function keyIsValid(key: string): boolean {
  if (key === '' || key.startsWith('/') || key.includes('${') || key.includes('\uFFFD')) return false;
  try {
    encodeURIComponent(key); // throws URIError on a lone surrogate
  } catch {
    return false;
  }
  if (new TextEncoder().encode(key).length > 1024) return false;
  for (const char of key) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return false;
    if (/^[\p{Cf}\p{Zl}\p{Zp}\p{Co}]$/u.test(char) || (char !== ' ' && /^\p{Zs}$/u.test(char))) return false;
  }
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

const keyPiece = fc.constantFrom(
  ...['a', 'Z', '0', ' ', '*', '?', '%', '#', '+', "'", '~', '!', '(', ')', '&', '=', ';', ',', '"', '\\', '<', '>'],
  ...['^', '`', '{', '}', '[', ']', '|', '@', ':', '$', 'ü', 'é', 'e\u0301', 'ñ', '文件', '😀', '.', '-', '_', '%2A', '%20', '%2F', '..'],
);
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: keyPiece, minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }) },
);
const shortKey = fc.array(segment, { minLength: 1, maxLength: 6 }).map((segments) => segments.join('/'));
/** Up to the 1024-byte limit, in characters of 1 to 4 UTF-8 bytes. */
const longKey = fc
  .tuple(shortKey, fc.constantFrom('a', 'é', '文', '😀'), fc.integer({ min: 0, max: 1024 }))
  .map(
    ([key, char, bytes]) =>
      `${key}/${char.repeat(Math.max(1, Math.floor((bytes - Buffer.byteLength(key) - 1) / Buffer.byteLength(char))))}`,
  );

/** Keys checkObjectKey accepts: spaces, unicode, wildcards, percent signs, quotes, very long ones. */
export const validKey: fc.Arbitrary<string> = fc
  .oneof({ weight: 4, arbitrary: shortKey }, { weight: 1, arbitrary: longKey })
  .filter(keyIsValid);
