/**
 * Object key rules, applied before anything is signed. S3 itself accepts almost
 * any key; these rules keep keys that confuse path-based tooling, CloudFront URL
 * normalisation or our own prefix checks from ever being granted.
 */
export const MAX_KEY_BYTES = 1024;

export type KeyCheck = { ok: true } | { ok: false; reason: string };

// C0 controls, DEL and C1 controls: invisible in logs and consoles, mangled by proxies.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/u;
// Characters that make a key look like another: format characters (bidirectional overrides such as
// U+202E, zero-width characters, U+FEFF, soft hyphens, tags), line and paragraph separators, spaces
// other than U+0020 (NBSP, U+3000), and private-use characters.
const DECEPTIVE_CHARACTERS = /[\p{Cf}\p{Zl}\p{Zp}\p{Co}]|(?! )\p{Zs}/u;

const codePoint = (char: string): string => `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

export function checkObjectKey(key: string): KeyCheck {
  if (key.length === 0) return { ok: false, reason: 'key is empty' };
  // Lone surrogates cannot be encoded as UTF-8, so S3 and the signature would disagree.
  if (!key.isWellFormed()) return { ok: false, reason: 'key is not valid UTF-8 (lone surrogate)' };
  const bytes = Buffer.byteLength(key); // UTF-8, Buffer's default
  if (bytes > MAX_KEY_BYTES) return { ok: false, reason: `key is ${bytes} bytes; the limit is ${MAX_KEY_BYTES}` };
  if (CONTROL_CHARACTERS.test(key)) return { ok: false, reason: 'key contains a control character' };
  const deceptive = DECEPTIVE_CHARACTERS.exec(key);
  if (deceptive) return { ok: false, reason: `key contains ${codePoint(deceptive[0])}, an invisible or look-alike character` };
  // The replacement character is what a decoder leaves of bytes that were not UTF-8: the key is not the one meant.
  if (key.includes('\uFFFD')) return { ok: false, reason: 'key contains U+FFFD (the bytes sent were probably not UTF-8)' };
  // S3 replaces ${filename} in a POST form's key, and the SDK then signs only the prefix: one grant, any key under it.
  if (key.includes('${')) return { ok: false, reason: 'key must not contain "${" (S3 expands ${filename} in POST form keys)' };
  if (key.startsWith('/')) return { ok: false, reason: 'key must not start with "/"' };
  for (const segment of key.split('/')) {
    if (segment === '') return { ok: false, reason: 'key must not contain an empty segment ("//" or a trailing "/")' };
    // "." and ".." segments are collapsed by URL normalisation, so the signed path and the fetched path would differ.
    if (segment === '.' || segment === '..') return { ok: false, reason: `key must not contain a "${segment}" segment` };
  }
  return { ok: true };
}

/** The S3 key for a caller-supplied filename: the last path segment, with anything risky replaced. */
export function safeFilename(filename: string): string | undefined {
  const base = filename.slice(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1);
  const cleaned = Array.from(base)
    .slice(0, 200)
    .join('')
    .normalize('NFC')
    .replace(new RegExp(CONTROL_CHARACTERS.source, 'gu'), '')
    .replace(/[\p{Zs}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/[\p{Cf}\p{Co}\uFFFD]/gu, '')
    // Wildcards and reserved URL characters buy nothing in a generated key.
    .replace(/[*?#%"<>|{}^`[\]]/gu, '_')
    .trim();
  if (cleaned === '' || cleaned === '.' || cleaned === '..' || !cleaned.isWellFormed()) return undefined;
  return cleaned;
}
