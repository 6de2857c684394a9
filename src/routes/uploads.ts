import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { problemResponses, UploadGrantSchema, UploadRequestSchema } from './schemas.js';

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
        response: { 201: UploadGrantSchema, ...problemResponses(400, 401, 403, 415, 503) },
      },
    },
    async (request, reply) => {
      const grant = await app.grants.upload(request.principal, request.body, request.log);
      return reply.code(201).send(grant);
    },
  );
};
