import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../config/config.js';
import { BrokerError } from '../errors/catalogue.js';
import { problemResponses } from '../errors/problem.js';
import { checkObjectKey } from '../keys/object-key.js';
import { statusOf } from '../lifecycle/upload-lifecycle.js';
import { UploadKeyBodySchema, UploadKeyQuerySchema, UploadStatusSchema } from '../lifecycle/schemas.js';
import { refTo } from '../grants/schemas.js';

const validKey = (key: string, path: string): string => {
  const check = checkObjectKey(key);
  if (!check.ok) throw new BrokerError('BROKER_INVALID_KEY', check.reason, { errors: [{ path, message: check.reason }] });
  return key;
};

const common = [
  'BROKER_VALIDATION',
  'BROKER_INVALID_KEY',
  'BROKER_UNAUTHENTICATED',
  'BROKER_AUTH_UNAVAILABLE',
  'BROKER_STORE_UNAVAILABLE',
] as const;

/** Where a client or a backend learns what became of an upload: by asking the broker to check now, or by polling. */
export const uploadStatusRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const status = refTo(UploadStatusSchema);
  app.post(
    '/v1/uploads/confirm',
    {
      config: { operation: 'confirmUpload' },
      schema: {
        operationId: 'confirmUpload',
        tags: ['uploads'],
        summary: 'Say an upload is done: the broker checks the object now',
        description:
          'The broker looks at the object itself (size, Content-Type, checksum, its first bytes) against your latest grant for the key, ' +
          'and answers with the outcome: `verified`, or `rejected` with the reason (the object is then removed). ' +
          'Confirming again, or after an S3 event got there first, changes nothing. 409 while nothing has arrived.',
        security: [{ bearerAuth: [] }],
        body: UploadKeyBodySchema,
        response: {
          200: { ...status, description: 'The upload, settled.' },
          ...problemResponses(
            '/v1/uploads/confirm',
            ...common,
            'BROKER_NOT_FOUND',
            'BROKER_UPLOAD_INCOMPLETE',
            'BROKER_STORAGE_UNAVAILABLE',
            'BROKER_PAYLOAD_TOO_LARGE',
            'BROKER_UNSUPPORTED_MEDIA_TYPE',
          ),
        },
      },
    },
    async (request) => statusOf(await app.uploadLifecycle.confirm(validKey(request.body.key, 'body/key'), request.principal.sub)),
  );

  app.get(
    '/v1/uploads/status',
    {
      config: { operation: 'getUploadStatus' },
      schema: {
        operationId: 'getUploadStatus',
        tags: ['uploads'],
        summary: "An upload's state, for polling instead of waiting for its event",
        description: `Your latest upload grant for the key and what became of it. Tokens with the admin scope (${config.admin.scope}) see anyone's.`,
        security: [{ bearerAuth: [] }],
        querystring: UploadKeyQuerySchema,
        response: { 200: status, ...problemResponses('/v1/uploads/status', ...common, 'BROKER_NOT_FOUND') },
      },
    },
    async (request) => {
      const admin = request.principal.scopes.includes(config.admin.scope);
      return statusOf(
        await app.uploadLifecycle.status(validKey(request.query.key, 'querystring/key'), admin ? undefined : request.principal.sub),
      );
    },
  );
};
