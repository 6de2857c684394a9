import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BrokerError } from '../errors/catalogue.js';
import { GRANT_PROBLEMS, problemResponses } from '../errors/problem.js';
import { planParts } from '../grants/multipart.js';
import { UploadRequestSchema } from '../grants/schemas.js';
import { browserHeaders, callerOf } from './caller.js';

/**
 * One route for `@uppy/aws-s3` 6.x's `signRequest(request)`: Uppy asks before
 * each S3 request it is about to make, and the broker answers after its own
 * checks. Uploads (PUT, UploadPart) get presigned S3 URLs. The multipart
 * control requests (create, list, complete, abort) are made by the broker
 * itself, so the upload stays bound to its caller and the final size is
 * checked; Uppy gets S3's XML answer as a `data:` URL, which it "sends" its
 * request to (verified in Chromium).
 */
const SignRequestSchema = Type.Object(
  {
    method: Type.Union([Type.Literal('PUT'), Type.Literal('POST'), Type.Literal('GET'), Type.Literal('DELETE')]),
    key: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: "Uppy's key: the page's proposal on PUT and create, the broker's after.",
    }),
    uploadId: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    partNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    contentType: Type.Optional(UploadRequestSchema.properties.contentType),
    size: Type.Optional(Type.Integer({ minimum: 0, description: "The file's size, which Uppy does not pass: the page adds it (README)." })),
    filename: Type.Optional(UploadRequestSchema.properties.filename),
  },
  { additionalProperties: false, $id: 'UppySignRequest', title: 'UppySignRequest' },
);

const SignedSchema = Type.Object(
  {
    url: Type.String({ description: "Where Uppy sends its request: a presigned S3 URL, or a data: URL holding S3's answer." }),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    key: Type.Optional(Type.String({ description: 'The key the broker chose (PUT and create).' })),
  },
  { $id: 'UppySigned', title: 'UppySigned' },
);

const xml = (body: string): string => `data:application/xml,${encodeURIComponent(`<?xml version="1.0" encoding="UTF-8"?>${body}`)}`;
const text = (value: string | number): string => String(value).replace(/[<>&'"]/gu, (char) => `&#${char.charCodeAt(0)};`);

function sizeOf(size: number | undefined): number {
  if (size === undefined)
    throw new BrokerError('BROKER_VALIDATION', "size is required: pass the file's size beside Uppy's request (README: Uppy 6)");
  return size;
}

export const uppySignRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/uploads/uppy-sign',
    {
      config: { operation: 'signUppyRequest', grantKind: 'upload' },
      schema: {
        operationId: 'signUppyRequest',
        tags: ['uppy'],
        summary: 'Uppy 6 (@uppy/aws-s3 signRequest): answer one S3 request Uppy is about to make',
        security: [{ bearerAuth: [] }],
        body: SignRequestSchema,
        response: {
          200: { ...SignedSchema, description: "The URL (and headers) for Uppy's request." },
          ...problemResponses(
            '/v1/uploads/uppy-sign',
            'BROKER_VALIDATION',
            'BROKER_INVALID_KEY',
            'BROKER_UNAUTHENTICATED',
            'BROKER_FORBIDDEN',
            'BROKER_LIMIT_EXCEEDED',
            'BROKER_UPLOAD_NOT_FOUND',
            'BROKER_UPLOAD_CLOSED',
            'BROKER_OBJECT_EXISTS',
            'BROKER_UPLOAD_REJECTED',
            'BROKER_STORAGE_UNAVAILABLE',
            'BROKER_SIGNING_UNAVAILABLE',
            ...GRANT_PROBLEMS,
            'BROKER_AUTH_UNAVAILABLE',
          ),
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { method, key, uploadId, partNumber, filename } = request.body;
      const contentType = request.body.contentType ?? 'application/octet-stream';
      const multipart = app.multipartGrants;
      if (uploadId === undefined) {
        // The page's proposed key is ignored: the broker names the key, as for its own uploads, and Uppy takes it.
        if (method === 'PUT') {
          const grant = await app.uploadGrants.grant(caller, { contentType, contentLength: sizeOf(request.body.size), filename });
          if (grant.method !== 'PUT') throw new BrokerError('BROKER_INTERNAL', 'a single upload for Uppy is a PUT');
          return { url: grant.url, headers: browserHeaders(grant.headers), key: grant.key };
        }
        if (method === 'POST') {
          const size = sizeOf(request.body.size);
          // The page cuts parts with the broker's default plan (README); an explicit partSize keeps them in step.
          const plan = planParts(size);
          const started = await multipart.start(caller, {
            contentType,
            contentLength: size,
            filename,
            ...(plan.ok ? { partSize: plan.partSize } : {}),
          });
          return {
            key: started.key,
            url: xml(
              `<InitiateMultipartUploadResult><Key>${text(started.key)}</Key><UploadId>${text(started.uploadId)}</UploadId></InitiateMultipartUploadResult>`,
            ),
          };
        }
        throw new BrokerError('BROKER_VALIDATION', `${method} needs an uploadId`);
      }
      const upload = { uploadId, key }; // Uppy names the key beside the id: any other key is not found
      if (method === 'PUT') {
        if (partNumber === undefined) throw new BrokerError('BROKER_VALIDATION', 'UploadPart needs a partNumber');
        const [part] = (await multipart.grantParts(caller, upload, [partNumber])).parts;
        if (!part) throw new BrokerError('BROKER_INTERNAL', 'no part URL was made');
        return { url: part.url, headers: browserHeaders(part.headers) };
      }
      if (method === 'GET') {
        const { parts } = await multipart.uploadedParts(caller, upload);
        const listed = parts
          .map((part) => `<Part><PartNumber>${part.partNumber}</PartNumber><ETag>${text(part.etag)}</ETag><Size>${part.size}</Size></Part>`)
          .join('');
        return { url: xml(`<ListPartsResult><Key>${text(key)}</Key><UploadId>${text(uploadId)}</UploadId>${listed}</ListPartsResult>`) };
      }
      if (method === 'POST') {
        // Uppy signs before it builds its list of parts: complete with what S3 holds, then check the size.
        const { parts } = await multipart.uploadedParts(caller, upload);
        const done = await multipart.complete(caller, upload, parts);
        return {
          url: xml(
            `<CompleteMultipartUploadResult><Location>${text(done.location ?? done.key)}</Location><Key>${text(done.key)}</Key><ETag>${text(done.etag)}</ETag></CompleteMultipartUploadResult>`,
          ),
        };
      }
      await multipart.abort(caller, upload);
      // Empty, as S3's 204: anything else that is not XML makes Uppy throw.
      return { url: 'data:application/xml,' };
    },
  );
};
