import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { GRANT_PROBLEMS, problemResponses } from '../errors/problem.js';
import { PostGrantSchema, PutGrantSchema, refTo, UploadRequestSchema } from '../grants/schemas.js';
import { Type } from '@sinclair/typebox';
import { callerOf } from './caller.js';

export const uploadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/uploads',
    {
      config: { operation: 'createUpload', grantKind: 'upload' },
      schema: {
        operationId: 'createUpload',
        tags: ['grants'],
        summary: 'Grant one upload: a presigned PUT URL or a presigned POST form',
        description:
          'PUT signs Content-Type and the exact Content-Length; POST carries a content-length-range and the Content-Type in its policy. ' +
          'Without `key`, the broker generates one under a prefix you may write.',
        security: [{ bearerAuth: [] }],
        body: UploadRequestSchema,
        response: {
          201: Type.Union([refTo(PutGrantSchema), refTo(PostGrantSchema)], {
            description: 'The upload grant: a PutGrant (method PUT) or a PostGrant (method POST), valid until expiresAt.',
          }),
          ...problemResponses(
            '/v1/uploads',
            'BROKER_VALIDATION',
            'BROKER_INVALID_KEY',
            'BROKER_UNAUTHENTICATED',
            'BROKER_FORBIDDEN',
            'BROKER_LIMIT_EXCEEDED',
            'BROKER_PAYLOAD_TOO_LARGE',
            'BROKER_UNSUPPORTED_MEDIA_TYPE',
            'BROKER_AUTH_UNAVAILABLE',
            'BROKER_SIGNING_UNAVAILABLE',
            ...GRANT_PROBLEMS,
          ),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await app.uploadGrants.grant(callerOf(request), request.body)),
  );
};
