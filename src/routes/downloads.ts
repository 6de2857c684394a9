import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DownloadsRequestSchema, DownloadsResponseSchema, MAX_DOWNLOAD_KEYS, problemResponses } from './schemas.js';

export const downloadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/downloads',
    {
      config: { operation: 'createDownloads', grantKind: 'download' },
      schema: {
        operationId: 'createDownloads',
        tags: ['grants'],
        summary: `Grant downloads for up to ${MAX_DOWNLOAD_KEYS} keys at once`,
        description:
          'Each key gets a grant or an error, in request order (partial success answers 200). ' +
          'A CloudFront signed URL (canned policy) when CLOUDFRONT_DOMAIN is set, otherwise an S3 presigned GET.',
        security: [{ bearerAuth: [] }],
        body: DownloadsRequestSchema,
        response: { 200: DownloadsResponseSchema, ...problemResponses(400, 401, 415, 503) },
      },
    },
    async (request) => ({
      results: await app.grants.downloads(request.principal, request.body.keys, request.body.ttlSeconds, request.log),
    }),
  );
};
