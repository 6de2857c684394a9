/**
 * A key as a path in a CloudFront URL or policy: each segment percent-encoded
 * as CloudFront's signer does (encodeURIComponent), plus `*`, which
 * encodeURIComponent leaves alone: in a policy it is a wildcard, and a key must
 * never widen a grant. `?` is already escaped, so it cannot start a query
 * string either. S3 paths use encodeKeyForS3Path (signing/s3-presign-template.ts),
 * which also escapes `!'()` as the S3 SDK does.
 */
export function encodeKeyForCloudFront(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replaceAll('*', '%2A'))
    .join('/');
}
