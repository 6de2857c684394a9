import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ErrorCode } from '../errors/catalogue.js';
import { GRANT_PROBLEMS, problemResponses } from '../errors/problem.js';
import {
  MultipartCompletedSchema,
  MultipartCompleteRequestSchema,
  MultipartPartsGrantedSchema,
  MultipartPartsRequestSchema,
  MultipartStartedSchema,
  MultipartStartRequestSchema,
  refTo,
  UploadedPartsSchema,
  UploadIdParamsSchema,
} from '../grants/schemas.js';
import { callerOf } from './caller.js';

const EXAMPLE_PATH = '/v1/uploads/multipart/VXBsb2FkSWQ';
// Every route on an existing upload: the id may be unknown (or another caller's), closed, or refused by S3.
const UPLOAD_PROBLEMS = [
  'BROKER_VALIDATION',
  'BROKER_UNAUTHENTICATED',
  'BROKER_UPLOAD_NOT_FOUND',
  'BROKER_UPLOAD_CLOSED',
  'BROKER_STORAGE_UNAVAILABLE',
  'BROKER_AUTH_UNAVAILABLE',
  'BROKER_STORE_UNAVAILABLE',
] as const satisfies readonly ErrorCode[];
const DECIDED = ['BROKER_FORBIDDEN', 'BROKER_LIMIT_EXCEEDED', 'BROKER_SIGNING_UNAVAILABLE'] as const satisfies readonly ErrorCode[];

export const multipartRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const grants = () => app.multipartGrants;

  app.post(
    '/v1/uploads/multipart',
    {
      config: { operation: 'startMultipartUpload', grantKind: 'upload' },
      schema: {
        operationId: 'startMultipartUpload',
        tags: ['uploads'],
        summary: 'Start a multipart upload (large files, resumable uploads)',
        description:
          'Decided like a single upload (the same key rules and limits, on the whole size). The broker starts the upload on S3 ' +
          'and binds its id to the key and to you: nobody else can grant parts for it, list, complete or abort it.',
        security: [{ bearerAuth: [] }],
        body: MultipartStartRequestSchema,
        response: {
          201: { ...refTo(MultipartStartedSchema), description: 'The upload is open.' },
          ...problemResponses(
            '/v1/uploads/multipart',
            'BROKER_VALIDATION',
            'BROKER_INVALID_KEY',
            'BROKER_UNAUTHENTICATED',
            ...DECIDED,
            'BROKER_UNSUPPORTED_MEDIA_TYPE',
            'BROKER_OBJECT_EXISTS',
            'BROKER_STORAGE_UNAVAILABLE',
            'BROKER_AUTH_UNAVAILABLE',
            ...GRANT_PROBLEMS,
          ),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await grants().start(callerOf(request), request.body)),
  );

  app.post(
    '/v1/uploads/multipart/:uploadId/parts',
    {
      config: { operation: 'grantMultipartParts', grantKind: 'upload' },
      schema: {
        operationId: 'grantMultipartParts',
        tags: ['uploads'],
        summary: 'Presigned URLs for some parts, each signing its exact length',
        security: [{ bearerAuth: [] }],
        params: UploadIdParamsSchema,
        body: MultipartPartsRequestSchema,
        response: {
          200: { ...refTo(MultipartPartsGrantedSchema), description: 'One URL per part asked for.' },
          ...problemResponses(EXAMPLE_PATH, ...UPLOAD_PROBLEMS, ...DECIDED, ...GRANT_PROBLEMS),
        },
      },
    },
    async (request) => grants().grantParts(callerOf(request), request.params.uploadId, request.body.partNumbers, request.body.checksums),
  );

  app.get(
    '/v1/uploads/multipart/:uploadId/parts',
    {
      config: { operation: 'listMultipartParts' },
      schema: {
        operationId: 'listMultipartParts',
        tags: ['uploads'],
        summary: 'The parts uploaded so far, to resume an interrupted upload',
        security: [{ bearerAuth: [] }],
        params: UploadIdParamsSchema,
        response: {
          200: { ...refTo(UploadedPartsSchema), description: 'What S3 holds of this upload.' },
          ...problemResponses(EXAMPLE_PATH, ...UPLOAD_PROBLEMS),
        },
      },
    },
    async (request) => grants().uploadedParts(callerOf(request), request.params.uploadId),
  );

  app.post(
    '/v1/uploads/multipart/:uploadId/complete',
    {
      config: { operation: 'completeMultipartUpload', grantKind: 'upload' },
      schema: {
        operationId: 'completeMultipartUpload',
        tags: ['uploads'],
        summary: 'Complete the upload; the broker checks the object has the size the grant named',
        description: 'An object of any other size (parts left out) is deleted and the answer is 422 BROKER_UPLOAD_REJECTED.',
        security: [{ bearerAuth: [] }],
        params: UploadIdParamsSchema,
        body: MultipartCompleteRequestSchema,
        response: {
          200: { ...refTo(MultipartCompletedSchema), description: 'The object exists.' },
          ...problemResponses(
            EXAMPLE_PATH,
            ...UPLOAD_PROBLEMS,
            ...DECIDED,
            ...GRANT_PROBLEMS,
            'BROKER_OBJECT_EXISTS',
            'BROKER_UPLOAD_REJECTED',
          ),
        },
      },
    },
    async (request) => grants().complete(callerOf(request), request.params.uploadId, request.body.parts),
  );

  app.delete(
    '/v1/uploads/multipart/:uploadId',
    {
      config: { operation: 'abortMultipartUpload' },
      schema: {
        operationId: 'abortMultipartUpload',
        tags: ['uploads'],
        summary: 'Abort the upload: S3 frees its parts',
        security: [{ bearerAuth: [] }],
        params: UploadIdParamsSchema,
        response: { 204: Type.Null({ description: 'Aborted.' }), ...problemResponses(EXAMPLE_PATH, ...UPLOAD_PROBLEMS) },
      },
    },
    async (request, reply) => {
      await grants().abort(callerOf(request), request.params.uploadId);
      return reply.code(204).send(null);
    },
  );
};
