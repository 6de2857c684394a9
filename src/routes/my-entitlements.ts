import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MyEntitlementsSchema } from '../admin/schemas.js';
import { problemResponses } from '../errors/problem.js';

/** What the caller may do, for frontends to build their UI from: the same rules and entitlements that decide its grants. */
export const myEntitlementsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/me/entitlements',
    {
      config: { operation: 'listMyEntitlements' },
      schema: {
        operationId: 'listMyEntitlements',
        tags: ['caller'],
        summary: 'What the caller may do',
        description:
          "Every rule and live entitlement that grants the caller something, in decision order: its actions, resource patterns (with the caller's claims filled in), bundles, limits, CloudFront conditions and when it ends.",
        security: [{ bearerAuth: [] }],
        response: {
          200: MyEntitlementsSchema,
          ...problemResponses('/v1/me/entitlements', 'BROKER_UNAUTHENTICATED', 'BROKER_AUTH_UNAVAILABLE', 'BROKER_STORE_UNAVAILABLE'),
        },
      },
    },
    async (request) => app.admin.mine(request.principal),
  );
};
