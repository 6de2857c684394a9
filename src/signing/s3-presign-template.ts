import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { presignPostPolicy, presignQuery, uriEscape } from './sigv4.js';

/**
 * The fast path for presigned PUT and GET URLs. `getSignedUrl` resolves the
 * endpoint and runs the client's whole middleware stack on every call (about
 * 300 µs); the signature itself is a few HMACs. Here the SDK signs one probe
 * URL at start-up, which fixes everything that does not depend on the key
 * (scheme, host, bucket path, signing region and service), and each grant then
 * only signs its own path and headers (sigv4.ts), every header given.
 * test/unit/signing/s3-signer.test.ts proves the URLs identical to
 * getSignedUrl's for the same inputs.
 */
export interface PresignTemplate {
  presign(input: {
    command: PresignedCommand;
    key: string;
    headers: Record<string, string>;
    /** Extra signed query parameters (`response-content-disposition`). */
    query?: Record<string, string>;
    signingDate: Date;
    expiresInSeconds: number;
  }): Promise<string>;
  /** A POST form for one key, its size capped by content-length-range and its Content-Type fixed. */
  post(input: { key: string; contentType: string; maxBytes: number; signingDate: Date; expiresInSeconds: number }): Promise<PresignedForm>;
}

export interface PresignedForm {
  readonly url: string;
  readonly fields: Record<string, string>;
}

/** The operations presigned here, by their SDK names (S3's `x-id` query parameter). */
export type PresignedCommand = 'PutObject' | 'GetObject' | 'UploadPart';
const METHODS: Record<PresignedCommand, string> = { PutObject: 'PUT', GetObject: 'GET', UploadPart: 'PUT' };

const PROBE_KEY = 'probe';

/**
 * S3's encoding of a key in the path: each segment RFC 3986-escaped (`!'()*` too), `/` kept,
 * exactly as the SDK serialises it. Not encodeKeyForCloudFront (keys/cloudfront-path.ts), whose encoding matches CloudFront's signer.
 */
export const encodeKeyForS3Path = (key: string): string => key.split('/').map(uriEscape).join('/');

export async function createPresignTemplate(client: S3Client, bucket: string): Promise<PresignTemplate> {
  const probe = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: PROBE_KEY }), { expiresIn: 60 }));
  if (!probe.pathname.endsWith(`/${PROBE_KEY}`)) throw new Error(`unexpected presigned URL shape: ${probe.pathname}`);
  const pathPrefix = probe.pathname.slice(0, -PROBE_KEY.length);
  // X-Amz-Credential is <access key>/<date>/<region>/<service>/aws4_request.
  const [, , region, service] = (probe.searchParams.get('X-Amz-Credential') ?? '').split('/');
  if (!region || !service) throw new Error('presigned probe URL has no credential scope');
  // The form's action is the bucket's URL, whatever the key: the SDK resolves it once.
  const { url: formUrl } = await createPresignedPost(client, { Bucket: bucket, Key: PROBE_KEY, Expires: 60 });
  const protocol = probe.protocol;
  const host = probe.host;

  return {
    async presign({ command, key, headers, query = {}, signingDate, expiresInSeconds }) {
      // The client's provider caches long-lived keys and refreshes role credentials before they expire.
      const credentials = await client.config.credentials();
      return presignQuery({
        method: METHODS[command],
        protocol,
        host,
        path: `${pathPrefix}${encodeKeyForS3Path(key)}`,
        query: { ...query, 'x-id': command },
        headers: { ...headers, host },
        credentials,
        region,
        service,
        signingDate,
        expiresInSeconds,
      });
    },
    async post({ key, contentType, maxBytes, signingDate, expiresInSeconds }) {
      const credentials = await client.config.credentials();
      return presignPostPolicy({
        url: formUrl,
        bucket,
        key,
        fields: { 'Content-Type': contentType },
        conditions: [
          ['content-length-range', 0, maxBytes],
          ['eq', '$Content-Type', contentType],
        ],
        credentials,
        region,
        signingDate,
        expiresInSeconds,
      });
    },
  };
}
