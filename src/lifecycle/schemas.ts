import { Type, type Static } from '@sinclair/typebox';
import { KeySchema, refTo } from '../grants/schemas.js';

/** The upload lifecycle's contract: what clients poll, what receivers get, what admins see of deliveries. */

const Instant = Type.String({ format: 'date-time' });

export const UploadStatusSchema = Type.Object(
  {
    id: Type.String({ description: 'The upload record: one per upload grant.', examples: ['upl_019ad1a2-3b4c-7d5e-9f60-718293a4b5c6'] }),
    key: KeySchema,
    state: Type.Union(
      ['granted', 'uploaded', 'verified', 'rejected', 'expired'].map((state) => Type.Literal(state)),
      {
        description:
          '`granted`: nothing has arrived yet. `uploaded`: found, being verified. `verified`: its bytes match the grant. ' +
          '`rejected`: they do not (see reason); the object was removed. `expired`: nothing arrived before the grant and its grace ended.',
      },
    ),
    reason: Type.Optional(Type.String({ description: 'Why it was rejected or expired.' })),
    contentType: Type.String({ description: 'The Content-Type the grant signed.' }),
    maxBytes: Type.Integer({ description: 'The size the grant allowed: exactly this for PUT and multipart, at most this for POST.' }),
    size: Type.Optional(Type.Integer({ description: 'The size of the object found.' })),
    etag: Type.Optional(Type.String({ description: 'The ETag of the object found: which object the state is about.' })),
    grantedAt: Instant,
    expiresAt: Instant,
    updatedAt: Instant,
  },
  { $id: 'UploadStatus', additionalProperties: false },
);
export type UploadStatusBody = Static<typeof UploadStatusSchema>;

export const UploadKeyBodySchema = Type.Object({ key: KeySchema }, { additionalProperties: false });
export const UploadKeyQuerySchema = Type.Object({ key: KeySchema }, { additionalProperties: false });

export const UploadEventSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('upload.verified'), Type.Literal('upload.rejected'), Type.Literal('upload.expired')]),
    timestamp: Instant,
    data: refTo(UploadStatusSchema),
  },
  {
    $id: 'UploadEvent',
    description:
      'The body of every webhook (Standard Webhooks): signed with WEBHOOK_SECRET, sent with `webhook-id` (the same on every retry: deduplicate by it), ' +
      '`webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`).',
  },
);

const DeliveryStateSchema = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]);

export const DeliveryQuerySchema = Type.Object(
  {
    state: Type.Optional(DeliveryStateSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,2048}$', description: 'The `next` of the previous page.' })),
  },
  { additionalProperties: false },
);

const DeliverySchema = Type.Object(
  {
    eventId: Type.String(),
    eventType: Type.String(),
    eventCreatedAt: Instant,
    url: Type.String({ description: 'The receiver, without its query string.' }),
    state: DeliveryStateSchema,
    attempts: Type.Integer(),
    nextAttemptAt: Instant,
    lastError: Type.Union([Type.String(), Type.Null()]),
    deliveredAt: Type.Union([Instant, Type.Null()]),
  },
  { additionalProperties: false },
);

export const DeliveryPageSchema = Type.Object(
  {
    deliveries: Type.Array(DeliverySchema),
    next: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last.' }),
  },
  { additionalProperties: false },
);

export const EventParamsSchema = Type.Object(
  { eventId: Type.String({ pattern: '^msg_[0-9a-f-]{36}$', examples: ['msg_7d1b2c3e-4f5a-4b6c-8d9e-0f1a2b3c4d5e'] }) },
  { additionalProperties: false },
);

export const AttemptsSchema = Type.Object(
  {
    attempts: Type.Array(
      Type.Object(
        {
          url: Type.String(),
          attempt: Type.Integer(),
          at: Instant,
          status: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's HTTP status; null when none came." }),
          error: Type.Union([Type.String(), Type.Null()]),
          durationMs: Type.Integer(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ReplayedSchema = Type.Object(
  {
    replayed: Type.Integer({
      description: 'Failed deliveries of the event now pending again (delivered and pending ones are left alone).',
    }),
  },
  { additionalProperties: false },
);

export const lifecycleSchemas = [UploadStatusSchema, UploadEventSchema];
