import { Type, type Static } from '@sinclair/typebox';
import { BundleIdSchema, SIGV4_MAX_TTL_SECONDS } from '../policy/schema.js';
import { MAX_KEY_BYTES } from '../keys/object-key.js';
import { problemRef } from '../errors/problem.js';

/** Keys per POST /v1/downloads call: bounds the work (and signatures) one request can demand. */
export const MAX_DOWNLOAD_KEYS = 100;

// Characters are checked here, bytes and segments by checkObjectKey, which gives the precise reason.
const KeySchema = Type.String({
  minLength: 1,
  maxLength: MAX_KEY_BYTES,
  description: 'S3 object key, at most 1024 UTF-8 bytes.',
  examples: ['uploads/alice/report.pdf'],
});

const TtlSchema = Type.Integer({
  minimum: 1,
  maximum: SIGV4_MAX_TTL_SECONDS,
  description: 'Requested lifetime in seconds; capped by the matching rule and the broker maximum. Defaults to GRANT_DEFAULT_TTL_SECONDS.',
});

export const UploadRequestSchema = Type.Object(
  {
    contentType: Type.String({
      pattern:
        '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\\s*;\\s*[A-Za-z0-9_.-]+=("[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"|[A-Za-z0-9_.-]+))*$',
      maxLength: 255,
      description: 'The Content-Type the upload will carry; it is signed, so S3 refuses any other.',
      examples: ['image/png'],
    }),
    contentLength: Type.Integer({
      minimum: 0,
      maximum: 5 * 1024 ** 3,
      description: 'PUT: the exact size in bytes (signed). POST: the largest size the form accepts.',
      examples: [48213],
    }),
    filename: Type.Optional(
      Type.String({ minLength: 1, maxLength: 255, description: 'Original file name, kept (sanitised) at the end of a generated key.' }),
    ),
    key: Type.Optional(
      Type.String({
        ...KeySchema,
        description: 'A key of your own choosing inside a prefix you may write. Omit it to let the broker generate one.',
      }),
    ),
    method: Type.Optional(
      Type.Union([Type.Literal('PUT'), Type.Literal('POST')], {
        default: 'PUT',
        description: 'PUT: a presigned URL. POST: a presigned HTML form.',
      }),
    ),
    ttlSeconds: Type.Optional(TtlSchema),
  },
  { additionalProperties: false, $id: 'UploadRequest', title: 'UploadRequest' },
);
export type UploadRequestBody = Static<typeof UploadRequestSchema>;

const ExpiresAt = Type.String({ format: 'date-time', description: 'When the grant stops working.' });

export const UploadGrantSchema = Type.Object(
  {
    method: Type.Union([Type.Literal('PUT'), Type.Literal('POST')]),
    url: Type.String({ description: 'PUT: the URL to send the bytes to. POST: the form action.' }),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'PUT only: send these headers exactly.' })),
    fields: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'POST only: form fields to send before the `file` field.' }),
    ),
    key: KeySchema,
    expiresAt: ExpiresAt,
  },
  { $id: 'UploadGrant', title: 'UploadGrant' },
);

export const DownloadsRequestSchema = Type.Object(
  {
    keys: Type.Array(KeySchema, { minItems: 1, maxItems: MAX_DOWNLOAD_KEYS, description: `One to ${MAX_DOWNLOAD_KEYS} object keys.` }),
    ttlSeconds: Type.Optional(TtlSchema),
  },
  { additionalProperties: false, $id: 'DownloadsRequest', title: 'DownloadsRequest' },
);
export type DownloadsRequestBody = Static<typeof DownloadsRequestSchema>;

const DownloadGrantSchema = Type.Object({ key: Type.String(), url: Type.String(), expiresAt: ExpiresAt }, { title: 'DownloadGrant' });
const DownloadErrorSchema = Type.Object(
  { key: Type.String(), error: Type.Object({ code: Type.String(), detail: Type.String() }) },
  { title: 'DownloadError' },
);

export const DownloadsResponseSchema = Type.Object(
  {
    results: Type.Array(Type.Union([DownloadGrantSchema, DownloadErrorSchema]), {
      description: 'One entry per requested key, in request order: a grant, or the reason there is none.',
    }),
  },
  { $id: 'DownloadsResponse', title: 'DownloadsResponse' },
);

export const BundleParamsSchema = Type.Object({ bundleId: BundleIdSchema }, { additionalProperties: false });
export type BundleParams = Static<typeof BundleParamsSchema>;

export const BundleCookiesSchema = Type.Object(
  {
    bundleId: Type.String(),
    resource: Type.String({ description: 'The CloudFront resource the cookies grant, with its wildcard.' }),
    expiresAt: ExpiresAt,
    cookies: Type.Array(Type.String(), { description: 'Names of the cookies set (their values are only in Set-Cookie).' }),
  },
  { $id: 'BundleCookies', title: 'BundleCookies' },
);

/** Error responses as they are served: `application/problem+json`, one Problem schema. */
export const problemResponses = (
  ...statuses: number[]
): Record<number, { description: string; content: Record<string, { schema: typeof problemRef }> }> =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: problemRef } } },
    ]),
  );
