import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
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

const webhookHeader = (description: string, example: string) => ({
  required: true,
  description,
  schema: { type: 'string' as const, examples: [example] },
});

/** What the broker sends to WEBHOOK_URLS: OpenAPI 3.1's webhooks, one per event type, all with the UploadEvent body. */
type Webhooks = NonNullable<Extract<NonNullable<FastifyDynamicSwaggerOptions['openapi']>, { webhooks?: unknown }>['webhooks']>;

const uploadWebhooks: Webhooks = Object.fromEntries(
  (
    [
      ['upload.verified', 'An upload matched its grant.'],
      ['upload.rejected', 'An upload broke its grant; the object was removed (or quarantined). `data.reason` says why.'],
      ['upload.expired', 'Nothing arrived before the grant and its grace ended.'],
    ] as const
  ).map(([type, summary]) => [
    type,
    {
      post: {
        summary,
        description: 'Signed the Standard Webhooks way with WEBHOOK_SECRET. Retried with backoff until a 2xx; deduplicate by `webhook-id`.',
        parameters: [
          {
            in: 'header',
            name: 'webhook-id',
            ...webhookHeader('The event id, the same on every retry.', 'msg_7d1b2c3e-4f5a-4b6c-8d9e-0f1a2b3c4d5e'),
          },
          {
            in: 'header' as const,
            name: 'webhook-timestamp',
            ...webhookHeader('When this attempt was sent, in Unix seconds.', '1795982400'),
          },
          {
            in: 'header' as const,
            name: 'webhook-signature',
            ...webhookHeader('`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`.', 'v1,<base64 of the HMAC>'),
          },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/UploadEvent' } } } },
        responses: { '2XX': { description: 'Received; any other answer (or none within WEBHOOK_TIMEOUT_MS) is retried.' } },
      },
    },
  ]),
);

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
        webhooks: uploadWebhooks,
      },
      // Components keep the names given by `$id` (Problem, UploadGrant, ...), not def-0, def-1.
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'access-broker-docs' },
);
