/**
 * Percent-encodes each key segment. `*` is escaped too (encodeURIComponent
 * leaves it): in a policy it is a wildcard, and a key must never widen a grant.
 * `?` is already escaped, so it cannot start a query string either.
 */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replaceAll('*', '%2A'))
    .join('/');
}
