import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const OPENAPI_INFO = {
  title: 'Access Broker',
  version: '1.0.0',
  description:
    'Issues short-lived grants to private content: S3 presigned uploads, CloudFront signed URLs and cookies (S3 presigned GETs without a CDN). ' +
    'Every grant is decided by the entitlement policy; errors are RFC 9457 problem details with a stable `code`.',
};

/** The OpenAPI document is generated from the route schemas; openapi.yaml is a checked-in copy (npm run openapi). */
export const docsPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: OPENAPI_INFO,
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
        tags: [
          { name: 'grants', description: 'Uploads, downloads and bundle cookies' },
          { name: 'uploads', description: 'Multipart uploads: large files, resumable from a phone' },
          {
            name: 'uppy',
            description: "Uppy Companion's S3 protocol, for @uppy/aws-s3 5.x (errors in Companion's shape: {message, code, requestId})",
          },
          { name: 'operations', description: 'Health and readiness' },
        ],
      },
      // Components keep the names given by `$id` (Problem, UploadGrant, ...), not def-0, def-1.
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'access-broker-docs' },
);
