import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  AuditPageSchema,
  AuditQuerySchema,
  EntitlementPageSchema,
  EntitlementSchema,
  ExplainRequestSchema,
  ExplainResponseSchema,
  IdempotencyHeadersSchema,
  ListQuerySchema,
  NewEntitlementSchema,
} from '../admin/schemas.js';
import type { Config } from '../config/config.js';
import { BrokerError } from '../errors/catalogue.js';
import { problemResponses } from '../errors/problem.js';
import { AttemptsSchema, DeliveryPageSchema, DeliveryQuerySchema, EventParamsSchema, ReplayedSchema } from '../lifecycle/schemas.js';
import { receiverAddress } from '../webhooks/delivery.js';
import type { DeliveryCursor } from '../webhooks/outbox-queries.js';

const toDeliveryCursor = (cursor: DeliveryCursor): string =>
  Buffer.from(JSON.stringify([cursor.eventCreatedAt.getTime(), cursor.eventId, cursor.url])).toString('base64url');

function fromDeliveryCursor(text: string): DeliveryCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 3 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'string' &&
      typeof value[2] === 'string'
    ) {
      return { eventCreatedAt: new Date(value[0] as number), eventId: value[1], url: value[2] };
    }
  } catch {
    // not JSON: refused below
  }
  throw new BrokerError('BROKER_VALIDATION', 'querystring/cursor is not a cursor this API gave out', {
    errors: [{ path: 'querystring/cursor', message: 'is not a cursor this API gave out' }],
  });
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** The admin API: for tokens with the admin scope only (ADMIN_SCOPE, default broker:admin). Every write records the admin's `sub`. */
export const adminRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const { scope } = config.admin;
  // Before the body is parsed and validated: a caller without the scope learns nothing about the API.
  app.addHook('onRequest', async (request) => {
    if (!request.principal.scopes.includes(scope))
      throw new BrokerError('BROKER_FORBIDDEN', `the admin API needs a token with the scope ${scope}`);
  });
  const security = [{ bearerAuth: [] }];
  const tags = ['admin'];
  const common = [
    'BROKER_VALIDATION',
    'BROKER_UNAUTHENTICATED',
    'BROKER_FORBIDDEN',
    'BROKER_AUTH_UNAVAILABLE',
    'BROKER_STORE_UNAVAILABLE',
  ] as const;

  app.post(
    '/v1/admin/entitlements',
    {
      config: { operation: 'createEntitlement' },
      schema: {
        operationId: 'createEntitlement',
        tags,
        summary: 'Grant an entitlement',
        description:
          "Recorded as granted by the admin token's `sub`. With an `Idempotency-Key`, a retry with the same key and body returns the same entitlement (200, `Idempotent-Replayed: true`); the same key with another body gets 409.",
        security,
        headers: IdempotencyHeadersSchema,
        body: NewEntitlementSchema,
        response: {
          201: { ...EntitlementSchema, description: 'The entitlement, as stored.' },
          200: { ...EntitlementSchema, description: 'A retry: the entitlement the first request with this Idempotency-Key made.' },
          ...problemResponses(
            '/v1/admin/entitlements',
            ...common,
            'BROKER_IDEMPOTENCY_CONFLICT',
            'BROKER_PAYLOAD_TOO_LARGE',
            'BROKER_UNSUPPORTED_MEDIA_TYPE',
          ),
        },
      },
    },
    async (request, reply) => {
      const { entitlement, replayed } = await app.admin.create(request.principal, request.body, request.headers['idempotency-key']);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(replayed ? 200 : 201).send(entitlement);
    },
  );

  app.get(
    '/v1/admin/entitlements',
    {
      config: { operation: 'listEntitlements' },
      schema: {
        operationId: 'listEntitlements',
        tags,
        summary: 'List entitlements, oldest first, a page at a time',
        security,
        querystring: ListQuerySchema,
        response: { 200: EntitlementPageSchema, ...problemResponses('/v1/admin/entitlements', ...common) },
      },
    },
    async (request) => app.admin.list(request.query),
  );

  app.get(
    '/v1/admin/entitlements/:id',
    {
      config: { operation: 'getEntitlement' },
      schema: {
        operationId: 'getEntitlement',
        tags,
        summary: 'One entitlement, in any state',
        security,
        params: IdParams,
        response: { 200: EntitlementSchema, ...problemResponses('/v1/admin/entitlements/{id}', ...common, 'BROKER_NOT_FOUND') },
      },
    },
    async (request) => app.admin.get(request.params.id),
  );

  app.delete(
    '/v1/admin/entitlements/:id',
    {
      config: { operation: 'revokeEntitlement' },
      schema: {
        operationId: 'revokeEntitlement',
        tags,
        summary: 'Revoke an entitlement',
        description:
          "Revoked now; the row stays, with the admin token's `sub` as `revokedBy`. Revoking a revoked entitlement changes nothing.",
        security,
        params: IdParams,
        response: {
          204: Type.Null({ description: 'Revoked.' }),
          ...problemResponses('/v1/admin/entitlements/{id}', ...common, 'BROKER_NOT_FOUND'),
        },
      },
    },
    async (request, reply) => {
      await app.admin.revoke(request.principal, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/admin/audit',
    {
      config: { operation: 'listAuditRecords' },
      schema: {
        operationId: 'listAuditRecords',
        tags,
        summary: 'The audit trail: every grant and denial, newest first',
        description: 'Kept in the database with AUDIT_DATABASE=true (written in batches, so the last second may not be there yet).',
        security,
        querystring: AuditQuerySchema,
        response: { 200: AuditPageSchema, ...problemResponses('/v1/admin/audit', ...common, 'BROKER_AUDIT_NOT_CONFIGURED') },
      },
    },
    async (request) => app.admin.audit(request.query),
  );

  app.get(
    '/v1/admin/webhooks/deliveries',
    {
      config: { operation: 'listWebhookDeliveries' },
      schema: {
        operationId: 'listWebhookDeliveries',
        tags,
        summary: 'Webhook deliveries, newest event first: `state=failed` lists what needs a replay',
        description:
          'One delivery per event and receiver. A delivery is retried with exponential backoff and jitter until it succeeds or ' +
          'WEBHOOK_MAX_ATTEMPTS is reached; then it is `failed` until replayed.',
        security,
        querystring: DeliveryQuerySchema,
        response: { 200: DeliveryPageSchema, ...problemResponses('/v1/admin/webhooks/deliveries', ...common) },
      },
    },
    async (request) => {
      const { state, limit = 50, cursor } = request.query;
      const page = await app.outbox.listDeliveries({ state, limit, cursor: cursor === undefined ? undefined : fromDeliveryCursor(cursor) });
      return {
        deliveries: page.deliveries.map((delivery) => ({
          eventId: delivery.eventId,
          eventType: delivery.eventType,
          eventCreatedAt: delivery.eventCreatedAt.toISOString(),
          url: receiverAddress(delivery.url),
          state: delivery.state,
          attempts: delivery.attempts,
          nextAttemptAt: delivery.nextAttemptAt.toISOString(),
          lastError: delivery.lastError,
          deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
        })),
        next: page.next === undefined ? null : toDeliveryCursor(page.next),
      };
    },
  );

  app.get(
    '/v1/admin/webhooks/events/:eventId/attempts',
    {
      config: { operation: 'listWebhookAttempts' },
      schema: {
        operationId: 'listWebhookAttempts',
        tags,
        summary: "Every attempt at an event's deliveries, in order",
        security,
        params: EventParamsSchema,
        response: { 200: AttemptsSchema, ...problemResponses('/v1/admin/webhooks/events/{eventId}/attempts', ...common) },
      },
    },
    async (request) => ({
      attempts: (await app.outbox.attempts(request.params.eventId)).map((attempt) => ({
        url: receiverAddress(attempt.url),
        attempt: attempt.attempt,
        at: attempt.at.toISOString(),
        status: attempt.status,
        error: attempt.error,
        durationMs: attempt.durationMs,
      })),
    }),
  );

  app.post(
    '/v1/admin/webhooks/events/:eventId/replay',
    {
      config: { operation: 'replayWebhookEvent' },
      schema: {
        operationId: 'replayWebhookEvent',
        tags,
        summary: "Send an event's failed deliveries again",
        description:
          'Its failed deliveries become pending, due now; their attempt count and history continue. Receivers deduplicate by `webhook-id`.',
        security,
        params: EventParamsSchema,
        response: { 200: ReplayedSchema, ...problemResponses('/v1/admin/webhooks/events/{eventId}/replay', ...common) },
      },
    },
    async (request) => {
      const replayed = await app.outbox.replay(request.params.eventId, new Date());
      request.log.info({ eventId: request.params.eventId, replayed, admin: request.principal.sub }, 'webhook deliveries replayed');
      return { replayed };
    },
  );

  app.post(
    '/v1/admin/explain',
    {
      config: { operation: 'explainDecision' },
      schema: {
        operationId: 'explainDecision',
        tags,
        summary: 'Explain the decision for a caller, without granting anything',
        description:
          'Decides as a grant route would for a token with these claims (rules, then live entitlements), and says why. Nothing is signed or recorded as a grant.',
        security,
        body: ExplainRequestSchema,
        response: {
          200: ExplainResponseSchema,
          ...problemResponses('/v1/admin/explain', ...common, 'BROKER_PAYLOAD_TOO_LARGE', 'BROKER_UNSUPPORTED_MEDIA_TYPE'),
        },
      },
    },
    async (request) => app.admin.explain(request.body),
  );
};
