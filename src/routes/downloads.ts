import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { GRANT_PROBLEMS, problemResponses } from '../errors/problem.js';
import { DownloadsRequestSchema, DownloadsResponseSchema, MAX_DOWNLOAD_KEYS, refTo } from '../grants/schemas.js';
import { callerOf } from './caller.js';

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
        response: {
          200: { ...refTo(DownloadsResponseSchema), description: 'One grant or one error per key, in request order.' },
          ...problemResponses(
            '/v1/downloads',
            'BROKER_VALIDATION',
            'BROKER_UNAUTHENTICATED',
            'BROKER_PAYLOAD_TOO_LARGE',
            'BROKER_UNSUPPORTED_MEDIA_TYPE',
            'BROKER_AUTH_UNAVAILABLE',
            'BROKER_SIGNING_UNAVAILABLE',
            ...GRANT_PROBLEMS,
          ),
        },
      },
    },
    async (request) => ({ results: await app.downloadGrants.grant(callerOf(request), request.body) }),
  );
};
