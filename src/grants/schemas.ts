import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { MAX_KEY_BYTES } from '../keys/object-key.js';
import { GRANT_DEFAULTS, S3_MAX_OBJECT_BYTES, S3_MAX_PUT_BYTES, SIGV4_MAX_TTL_SECONDS } from '../policy/defaults.js';
import { BundleIdSchema } from '../policy/schema.js';

/**
 * The grant API's contract. Each schema validates requests (or serialises
 * responses), gives the TypeScript types through Static, and appears by its
 * `$id` under the OpenAPI document's schemas.
 */

/** Keys per POST /v1/downloads call: bounds the work (and signatures) one request can demand. */
export const MAX_DOWNLOAD_KEYS = 100;

// Characters are checked here, bytes and segments by checkObjectKey, which gives the precise reason.
export const KeySchema = Type.String({
  minLength: 1,
  maxLength: MAX_KEY_BYTES,
  description: 'S3 object key, at most 1024 UTF-8 bytes.',
  examples: ['uploads/alice/report.pdf'],
});

const TtlSchema = Type.Integer({
  minimum: 1,
  maximum: SIGV4_MAX_TTL_SECONDS,
  description: `Requested lifetime in seconds; capped by the matching rule and the broker maximum. Defaults to GRANT_DEFAULT_TTL_SECONDS (${GRANT_DEFAULTS.defaultTtlSeconds}).`,
  examples: [GRANT_DEFAULTS.defaultTtlSeconds],
});

const TOKEN = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*';
const OWS = ' *';
const MEDIA_TYPE_PATTERN = `^${TOKEN}/${TOKEN}(${OWS};${OWS}[A-Za-z0-9_.-]+=("[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"|[A-Za-z0-9_.-]+))*$`;

const ExpiresAt = Type.String({ format: 'date-time', description: 'When the grant stops working, in whole seconds.' });

/** The checksums S3 verifies on arrival, with the size of each digest (base64 of that many bytes). */
export const CHECKSUM_BYTES = { SHA256: 32, CRC32: 4, CRC32C: 4, CRC64NVME: 8 } as const;
export type ChecksumAlgorithm = keyof typeof CHECKSUM_BYTES;

const base64Of = (bytes: number): string =>
  `^[A-Za-z0-9+/]{${4 * Math.floor(bytes / 3)}}${bytes % 3 === 0 ? '' : bytes % 3 === 1 ? '[A-Za-z0-9+/]{2}==' : '[A-Za-z0-9+/]{3}='}$`;

export const ChecksumSchema = Type.Union(
  (Object.keys(CHECKSUM_BYTES) as ChecksumAlgorithm[]).map((algorithm) =>
    Type.Object(
      {
        algorithm: Type.Literal(algorithm),
        value: Type.String({ pattern: base64Of(CHECKSUM_BYTES[algorithm]), description: `The ${algorithm} of the body, base64.` }),
      },
      { additionalProperties: false },
    ),
  ),
  {
    description: "The body's checksum. It is signed, with the header S3 checks it by, so S3 refuses any other body.",
    examples: [{ algorithm: 'SHA256', value: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' }],
  },
);
export type Checksum = Static<typeof ChecksumSchema>;

export const UploadRequestSchema = Type.Object(
  {
    contentType: Type.String({
      // RFC 9110 §8.3.1: type "/" subtype, then parameters separated by optional spaces. No CR, LF, NBSP or other
      // Unicode space (the value goes into a signed header and a POST policy condition), and no tab either: SigV4
      // canonicalisation collapses spaces only, so a tab would make S3's signature and ours disagree.
      pattern: MEDIA_TYPE_PATTERN,
      maxLength: 255,
      description: 'The Content-Type the upload will carry; it is signed, so S3 refuses any other.',
      examples: ['image/png'],
    }),
    contentLength: Type.Integer({
      minimum: 0,
      maximum: S3_MAX_PUT_BYTES,
      description: 'PUT: the exact size in bytes (signed). POST: the largest size the form accepts.',
      examples: [48213],
    }),
    filename: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: 'Original file name, kept (sanitised) at the end of a generated key.',
        examples: ['cat.png'],
      }),
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
    checksum: Type.Optional(ChecksumSchema),
  },
  {
    additionalProperties: false,
    $id: 'UploadRequest',
    title: 'UploadRequest',
    examples: [{ contentType: 'image/png', contentLength: 48213, filename: 'cat.png' }],
  },
);
export type UploadRequest = Static<typeof UploadRequestSchema>;

export const PutGrantSchema = Type.Object(
  {
    method: Type.Literal('PUT'),
    url: Type.String({ description: 'The URL to send the bytes to.' }),
    headers: Type.Record(Type.String(), Type.String(), { description: 'Send these headers exactly: they are signed.' }),
    key: KeySchema,
    expiresAt: ExpiresAt,
  },
  { $id: 'PutGrant', title: 'PutGrant', description: 'A presigned PUT: Content-Type and the exact Content-Length are signed.' },
);

export const PostGrantSchema = Type.Object(
  {
    method: Type.Literal('POST'),
    url: Type.String({ description: 'The form action.' }),
    fields: Type.Record(Type.String(), Type.String(), { description: 'Form fields to send, in order, before the `file` field.' }),
    key: KeySchema,
    expiresAt: ExpiresAt,
  },
  {
    $id: 'PostGrant',
    title: 'PostGrant',
    description: 'A presigned POST form: its policy carries content-length-range and the Content-Type.',
  },
);

export type PutGrant = Static<typeof PutGrantSchema>;
export type PostGrant = Static<typeof PostGrantSchema>;
export type UploadGrant = PutGrant | PostGrant;

export const DownloadsRequestSchema = Type.Object(
  {
    keys: Type.Array(KeySchema, { minItems: 1, maxItems: MAX_DOWNLOAD_KEYS, description: `One to ${MAX_DOWNLOAD_KEYS} object keys.` }),
    ttlSeconds: Type.Optional(TtlSchema),
    disposition: Type.Optional(
      Type.Union([Type.Literal('inline'), Type.Literal('attachment')], {
        description:
          'How the browser treats the object: S3 answers with this Content-Disposition (signed as `response-content-disposition`). Keys that look like active content (HTML, SVG...) are always `attachment`.',
      }),
    ),
    notBefore: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          "CloudFront only: the URLs work from this instant on (a custom policy with DateGreaterThan); it must be before they expire. A rule's own start (its `conditions`) still holds: the later one wins.",
      }),
    ),
    bindToCallerIp: Type.Optional(
      Type.Boolean({
        description:
          "CloudFront only: the URLs work only from the caller's own IPv4 address, as the broker sees it (TRUST_PROXY behind a proxy). IPv6 callers are refused: CloudFront matches IPv4 only. Rules may also require it, or a range (their `conditions`); a key whose rule the caller cannot meet gets its own error.",
      }),
    ),
    filename: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description:
          'The name a browser saves the object under (one key only); cleaned like upload filenames. Implies `attachment` unless `disposition` says otherwise.',
      }),
    ),
  },
  {
    additionalProperties: false,
    $id: 'DownloadsRequest',
    title: 'DownloadsRequest',
    examples: [{ keys: ['uploads/alice/report.pdf', 'public/logo.png'] }],
  },
);
export type DownloadsRequest = Static<typeof DownloadsRequestSchema>;

export const DownloadGrantSchema = Type.Object(
  { key: Type.String(), url: Type.String({ description: 'CloudFront signed URL, or S3 presigned GET.' }), expiresAt: ExpiresAt },
  { $id: 'DownloadGrant', title: 'DownloadGrant' },
);
export const DownloadErrorSchema = Type.Object(
  {
    key: Type.String(),
    error: Type.Object({ code: Type.String({ description: 'A code from the error catalogue.' }), detail: Type.String() }),
  },
  { $id: 'DownloadError', title: 'DownloadError', description: 'Why this key got no grant.' },
);
export type DownloadResult = Static<typeof DownloadGrantSchema> | Static<typeof DownloadErrorSchema>;

export const DownloadsResponseSchema = Type.Object(
  {
    results: Type.Array(Type.Union([refTo(DownloadGrantSchema), refTo(DownloadErrorSchema)]), {
      description: 'One entry per requested key, in request order: a grant, or the reason there is none.',
    }),
  },
  { $id: 'DownloadsResponse', title: 'DownloadsResponse' },
);

const MultipartContentLength = Type.Integer({
  minimum: 1,
  maximum: S3_MAX_OBJECT_BYTES,
  description: 'The exact size of the whole object, in bytes. Each part URL signs its share of it.',
  examples: [12_582_912],
});

export const MultipartStartRequestSchema = Type.Object(
  {
    contentType: UploadRequestSchema.properties.contentType,
    contentLength: MultipartContentLength,
    filename: UploadRequestSchema.properties.filename,
    key: UploadRequestSchema.properties.key,
    partSize: Type.Optional(
      Type.Integer({
        minimum: 5 * 1024 * 1024,
        maximum: 5 * 1024 ** 3,
        description: 'Bytes per part (5 MiB to 5 GiB; the last part takes the rest). Omitted: 8 MiB, or more to stay within 10,000 parts.',
      }),
    ),
    ttlSeconds: Type.Optional(TtlSchema),
    checksumAlgorithm: Type.Optional(
      Type.Union(
        (Object.keys(CHECKSUM_BYTES) as ChecksumAlgorithm[]).map((algorithm) => Type.Literal(algorithm)),
        { description: 'Every part then carries its checksum (signed), and S3 refuses a part whose body differs.' },
      ),
    ),
  },
  {
    additionalProperties: false,
    $id: 'MultipartStartRequest',
    title: 'MultipartStartRequest',
    examples: [{ contentType: 'video/mp4', contentLength: 12_582_912, filename: 'clip.mp4' }],
  },
);
export type MultipartStartRequest = Static<typeof MultipartStartRequestSchema>;

const UploadIdSchema = Type.String({
  minLength: 1,
  maxLength: 1024,
  pattern: '^[\\x21-\\x7e]+$',
  description: "S3's id of the multipart upload, as the broker returned it.",
});

export const MultipartStartedSchema = Type.Object(
  {
    uploadId: UploadIdSchema,
    key: KeySchema,
    partSize: Type.Integer({ description: 'Bytes in every part but the last.' }),
    partCount: Type.Integer({ description: 'Parts numbered 1 to partCount.' }),
    expiresAt: ExpiresAt,
  },
  {
    $id: 'MultipartStarted',
    title: 'MultipartStarted',
    description: 'The upload is open: ask for part URLs, upload the parts, complete it.',
  },
);
export type MultipartStarted = Static<typeof MultipartStartedSchema>;

export const UploadIdParamsSchema = Type.Object({ uploadId: UploadIdSchema }, { additionalProperties: false });

const PartNumberSchema = Type.Integer({ minimum: 1, maximum: 10_000 });

export const MultipartPartsRequestSchema = Type.Object(
  {
    partNumbers: Type.Array(PartNumberSchema, { minItems: 1, maxItems: 100, description: 'Up to 100 part numbers per call.' }),
    checksums: Type.Optional(
      Type.Record(Type.String({ pattern: '^[1-9][0-9]{0,4}$' }), Type.String({ pattern: '^[A-Za-z0-9+/]{6,64}={0,2}$' }), {
        description: "Each part's checksum (base64, in the upload's checksumAlgorithm), by part number: required when the upload has one.",
      }),
    ),
  },
  { additionalProperties: false, $id: 'MultipartPartsRequest', title: 'MultipartPartsRequest', examples: [{ partNumbers: [1, 2, 3] }] },
);

export const MultipartPartsGrantedSchema = Type.Object(
  {
    parts: Type.Array(
      Type.Object({
        partNumber: PartNumberSchema,
        url: Type.String({ description: 'PUT the part here.' }),
        headers: Type.Record(Type.String(), Type.String(), {
          description: "Send these headers exactly: the part's exact Content-Length is signed.",
        }),
        expiresAt: ExpiresAt,
      }),
    ),
  },
  { $id: 'MultipartPartsGranted', title: 'MultipartPartsGranted' },
);
export type MultipartPartsGranted = Static<typeof MultipartPartsGrantedSchema>;

export const UploadedPartsSchema = Type.Object(
  {
    parts: Type.Array(
      Type.Object({ partNumber: PartNumberSchema, etag: Type.String(), size: Type.Integer() }, { description: 'A part S3 holds.' }),
      { description: 'The parts uploaded so far, by part number: resume with the others.' },
    ),
  },
  { $id: 'UploadedParts', title: 'UploadedParts' },
);
export type UploadedParts = Static<typeof UploadedPartsSchema>;

export const MultipartCompleteRequestSchema = Type.Object(
  {
    parts: Type.Array(
      Type.Object(
        {
          partNumber: PartNumberSchema,
          etag: Type.String({ minLength: 1, maxLength: 256, description: 'The ETag S3 answered the part with.' }),
          checksum: Type.Optional(
            Type.String({
              pattern: '^[A-Za-z0-9+/]{6,64}={0,2}$',
              description: "The part's checksum, when the upload has a checksumAlgorithm.",
            }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000, description: 'Every part, in order.' },
    ),
  },
  { additionalProperties: false, $id: 'MultipartCompleteRequest', title: 'MultipartCompleteRequest' },
);

export const MultipartCompletedSchema = Type.Object(
  {
    key: KeySchema,
    size: Type.Integer(),
    etag: Type.String(),
    location: Type.Optional(Type.String({ description: "S3's address of the object (not a grant: reading it needs a download grant)." })),
  },
  { $id: 'MultipartCompleted', title: 'MultipartCompleted', description: 'The object exists, with the size the grant named.' },
);
export type MultipartCompleted = Static<typeof MultipartCompletedSchema>;

export const BundleParamsSchema = Type.Object({ bundleId: BundleIdSchema }, { additionalProperties: false });

export const BundleCookiesQuerySchema = Type.Object(
  {
    ttlSeconds: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,5}$',
        description: `Requested lifetime in seconds (at most ${SIGV4_MAX_TTL_SECONDS}), capped by the rule. Defaults to GRANT_DEFAULT_TTL_SECONDS.`,
        examples: ['3600'],
      }),
    ),
  },
  { additionalProperties: false },
);

export const BundleCookiesSchema = Type.Object(
  {
    bundleId: Type.String(),
    resource: Type.String({ description: 'The CloudFront resource the cookies grant, with its wildcard.' }),
    expiresAt: ExpiresAt,
    cookies: Type.Array(Type.String(), { description: 'Names of the cookies set (their values are only in Set-Cookie).' }),
  },
  { $id: 'BundleCookies', title: 'BundleCookies' },
);

/**
 * Registered once (app.addSchema) so that responses refer to them by name and the document lists them.
 * Request bodies stay inline: Swagger UI fills its "Try it out" form from an inline schema's example.
 */
export const grantSchemas: readonly TSchema[] = [
  PutGrantSchema,
  PostGrantSchema,
  DownloadGrantSchema,
  DownloadErrorSchema,
  DownloadsResponseSchema,
  BundleCookiesSchema,
  MultipartStartedSchema,
  MultipartPartsGrantedSchema,
  UploadedPartsSchema,
  MultipartCompletedSchema,
];

/** A reference to a registered schema that keeps its static type. */
export function refTo<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new Error('refTo needs a schema with an $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}
