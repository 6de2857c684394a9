import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BrokerError } from '../errors/catalogue.js';
import { companionFormatter } from '../errors/companion.js';
import { errorHandlerFor, notFoundHandlerFor } from '../errors/error-handler.js';
import { UploadRequestSchema } from '../grants/schemas.js';
import type { UploadRef } from '../grants/multipart.js';
import { browserHeaders, callerOf } from './caller.js';

/**
 * Uppy Companion's S3 protocol, as `@uppy/aws-s3` 5.x speaks it with
 * `endpoint` set to the broker and the bearer token in `headers`. Every route
 * is authenticated and decided like the broker's own (they call the same
 * grant services); upload ids are bound to their caller and key, which
 * Companion itself does not do. Errors take Companion's shape here only.
 * The file's size must reach the broker: Uppy sends it only when the page adds
 * it to the file's meta (`setFileMeta(id, {size})`), and its absence is refused
 * with a message saying so.
 */
const sizeOf = (value: unknown): number => {
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new BrokerError(
      'BROKER_VALIDATION',
      'metadata.size is required: add the file size to its meta (uppy.setFileMeta(file.id, { size: file.size }))',
    );
  }
  const size = Number(value);
  if (!Number.isSafeInteger(size) || size < 0)
    throw new BrokerError('BROKER_VALIDATION', `metadata.size must be a whole number of bytes, got ${JSON.stringify(value)}`);
  return size;
};

const secondsUntil = (iso: string): number => Math.max(1, Math.floor((Date.parse(iso) - Date.now()) / 1000));

/** Companion names an upload by its id (in the path) and its key (in the query): both must match. */
const uploadOf = (request: { params: { uploadId: string }; query: { key: string } }): UploadRef => ({
  uploadId: request.params.uploadId,
  key: request.query.key,
});

const KeyQuery = Type.Object({ key: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
const UploadIdParams = Type.Object({ uploadId: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
const Meta = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]));

export const companionS3Routes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler(errorHandlerFor(companionFormatter));
  app.setNotFoundHandler(notFoundHandlerFor(app, companionFormatter));
  const multipart = () => app.multipartGrants;
  const doc = (operationId: string, summary: string) => ({ operationId, summary, tags: ['uppy'], security: [{ bearerAuth: [] }] });

  // Single upload: a presigned PUT with the type signed; `fields.key` is what Uppy reports as the key.
  app.get(
    '/params',
    {
      config: { operation: 'companionParams', grantKind: 'upload' },
      schema: {
        ...doc('companionParams', 'Uppy 5: a presigned PUT for one file (metadata[size] required)'),
        querystring: Type.Object(
          { filename: Type.String({ minLength: 1, maxLength: 255 }), type: UploadRequestSchema.properties.contentType },
          { additionalProperties: Type.String({ maxLength: 1024 }) },
        ),
      },
    },
    async (request) => {
      const { filename, type } = request.query;
      // Uppy sends meta as metadata[<name>]=<value>; the schema lets those through as strings.
      const size = sizeOf((request.query as Record<string, string | undefined>)['metadata[size]']);
      const grant = await app.uploadGrants.grant(callerOf(request), { contentType: type, contentLength: size, filename });
      if (grant.method !== 'PUT') throw new BrokerError('BROKER_INTERNAL', 'a single upload for Uppy is a PUT');
      return {
        method: 'PUT',
        url: grant.url,
        fields: { key: grant.key },
        headers: browserHeaders(grant.headers),
        expires: secondsUntil(grant.expiresAt),
      };
    },
  );

  app.post(
    '/multipart',
    {
      config: { operation: 'companionCreateMultipart', grantKind: 'upload' },
      schema: {
        ...doc('companionCreateMultipart', 'Uppy 5: start a multipart upload (metadata.size required)'),
        body: Type.Object(
          {
            filename: Type.String({ minLength: 1, maxLength: 255 }),
            type: UploadRequestSchema.properties.contentType,
            metadata: Type.Optional(Meta),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { filename, type, metadata } = request.body;
      const started = await multipart().start(callerOf(request), { contentType: type, contentLength: sizeOf(metadata?.size), filename });
      return { uploadId: started.uploadId, key: started.key };
    },
  );

  app.get(
    '/multipart/:uploadId',
    {
      config: { operation: 'companionListParts' },
      schema: { ...doc('companionListParts', 'Uppy 5: the parts uploaded so far'), params: UploadIdParams, querystring: KeyQuery },
    },
    async (request) => {
      const { parts } = await multipart().uploadedParts(callerOf(request), uploadOf(request));
      return parts.map((part) => ({ PartNumber: part.partNumber, Size: part.size, ETag: part.etag }));
    },
  );

  app.get(
    '/multipart/:uploadId/batch',
    {
      config: { operation: 'companionSignParts', grantKind: 'upload' },
      schema: {
        ...doc('companionSignParts', 'Uppy 5 (Companion parity): presigned URLs for several parts'),
        params: UploadIdParams,
        querystring: Type.Object(
          { key: KeyQuery.properties.key, partNumbers: Type.String({ pattern: '^[1-9][0-9]{0,4}(,[1-9][0-9]{0,4}){0,99}$' }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const numbers = request.query.partNumbers.split(',').map(Number);
      const { parts } = await multipart().grantParts(callerOf(request), uploadOf(request), numbers);
      return { presignedUrls: Object.fromEntries(parts.map((part) => [String(part.partNumber), part.url])) };
    },
  );

  app.get(
    '/multipart/:uploadId/:partNumber',
    {
      config: { operation: 'companionSignPart', grantKind: 'upload' },
      schema: {
        ...doc('companionSignPart', 'Uppy 5: a presigned URL for one part'),
        params: Type.Object(
          { uploadId: UploadIdParams.properties.uploadId, partNumber: Type.String({ pattern: '^[1-9][0-9]{0,4}$' }) },
          { additionalProperties: false },
        ),
        querystring: KeyQuery,
      },
    },
    async (request) => {
      const { parts } = await multipart().grantParts(callerOf(request), uploadOf(request), [Number(request.params.partNumber)]);
      const [part] = parts;
      if (!part) throw new BrokerError('BROKER_INTERNAL', 'no part URL was made');
      return { url: part.url, headers: {}, expires: secondsUntil(part.expiresAt) };
    },
  );

  app.post(
    '/multipart/:uploadId/complete',
    {
      config: { operation: 'companionComplete', grantKind: 'upload' },
      schema: {
        ...doc('companionComplete', 'Uppy 5: complete a multipart upload'),
        params: UploadIdParams,
        querystring: KeyQuery,
        body: Type.Object(
          {
            parts: Type.Array(
              Type.Object({
                PartNumber: Type.Integer({ minimum: 1, maximum: 10_000 }),
                ETag: Type.String({ minLength: 1, maxLength: 256 }),
              }),
              { minItems: 1, maxItems: 10_000 },
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const parts = request.body.parts.map((part) => ({ partNumber: part.PartNumber, etag: part.ETag }));
      const completed = await multipart().complete(callerOf(request), uploadOf(request), parts);
      return { location: completed.location ?? completed.key, key: completed.key };
    },
  );

  // 200 with `{}`: Uppy parses every answer as JSON, and an empty 204 would throw in the browser.
  app.delete(
    '/multipart/:uploadId',
    {
      config: { operation: 'companionAbort' },
      schema: { ...doc('companionAbort', 'Uppy 5: abort a multipart upload'), params: UploadIdParams, querystring: KeyQuery },
    },
    async (request) => {
      await multipart().abort(callerOf(request), uploadOf(request));
      return {};
    },
  );
};
