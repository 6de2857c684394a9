import { safeFilename } from '../keys/object-key.js';
import { uriEscape } from '../signing/sigv4.js';

export type Disposition = 'inline' | 'attachment';

/**
 * The Content-Disposition a download grant asks S3 to answer with (RFC 6266): the type, and the filename twice,
 * as a quoted ASCII fallback and as RFC 8187 UTF-8 (`filename*`), so every browser saves it under a readable name.
 * The filename is cleaned as upload filenames are (no path, no control or format characters).
 */
export function contentDisposition(disposition: Disposition, filename: string | undefined): string {
  const name = filename === undefined ? undefined : safeFilename(filename);
  if (name === undefined) return disposition;
  // Quoted-string: no `"` or `\` (already replaced or meaningless here), ASCII only.
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/gu, '_');
  // RFC 8187 percent-encoding: RFC 3986's unreserved characters stay, as SigV4 escapes them.
  const extended = uriEscape(name);
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${extended}`;
}
