/**
 * Content that browsers execute: served from an origin, it runs script there
 * (and reads whatever that origin's cookies unlock, bundle content included).
 * Uploads of these types need a rule that names the type itself; a wildcard
 * (`image/*` covers `image/svg+xml`) or no list at all is not enough.
 */
// XHTML, SVG, XSLT and every other `+xml` type are caught by the suffix rule in isActiveMediaType.
const ACTIVE_MEDIA_TYPES = new Set([
  'text/html',
  'text/xml',
  'application/xml',
  'text/xsl',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'text/ecmascript',
  'application/ecmascript',
  'application/x-shockwave-flash',
  'multipart/x-mixed-replace',
  'message/rfc822',
  'application/x-mimearchive',
]);

/** `type/subtype`, lower case, without parameters. */
export function mediaTypeOf(contentType: string): string {
  const end = contentType.indexOf(';');
  return (end === -1 ? contentType : contentType.slice(0, end)).trim().toLowerCase();
}

/** HTML, SVG, XML (any `+xml`), JavaScript and their kin. */
export function isActiveMediaType(contentType: string): boolean {
  const type = mediaTypeOf(contentType);
  return ACTIVE_MEDIA_TYPES.has(type) || type.endsWith('+xml');
}

// Extensions S3 (through the Content-Type stored at upload) or a browser sniffing a download would treat as active.
const ACTIVE_EXTENSION = /\.(?:html?|shtml|xhtml?|xht|mht|mhtml|svgz?|xml|xslt?|js|mjs|cjs|swf|hta)$/iu;

/** Downloads of such keys are signed to arrive as attachments, never rendered in the content origin. */
export const hasActiveExtension = (key: string): boolean => ACTIVE_EXTENSION.test(key);
