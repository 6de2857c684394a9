import { Type, type Static } from '@sinclair/typebox';
import { MAX_KEY_BYTES } from '../keys/object-key.js';
import { ActionSchema, BundleIdSchema } from '../policy/schema.js';

/** The admin API's contract: requests validated at the edge, responses serialised, both in the OpenAPI document. */

export const MAX_PAGE = 200;
const DateTime = Type.String({ format: 'date-time' });
const NullableDateTime = Type.Union([DateTime, Type.Null()]);

export const NewEntitlementSchema = Type.Object(
  {
    subject: Type.String({ minLength: 1, maxLength: 256, description: 'The `sub` of the tokens it is for.', examples: ['alice'] }),
    bundleId: Type.Optional(BundleIdSchema),
    resources: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: MAX_KEY_BYTES }), {
        minItems: 1,
        maxItems: 50,
        description: 'Resource patterns (`*`, `{claim}`), as in the policy.',
        examples: [['courses/rust/*']],
      }),
    ),
    actions: Type.Array(ActionSchema, { minItems: 1, maxItems: 2, uniqueItems: true }),
    notBefore: Type.Optional(DateTime),
    expiresAt: Type.Optional(DateTime),
    createOnly: Type.Optional(Type.Boolean({ description: 'Its uploads may create a key, never replace one.' })),
    reason: Type.String({ minLength: 1, maxLength: 500, examples: ['order 42'] }),
  },
  { additionalProperties: false, description: 'A bundle, resource patterns, or both.' },
);
export type NewEntitlementRequest = Static<typeof NewEntitlementSchema>;

export const EntitlementSchema = Type.Object({
  id: Type.String(),
  subject: Type.String(),
  bundleId: Type.Union([Type.String(), Type.Null()]),
  resources: Type.Array(Type.String()),
  actions: Type.Array(ActionSchema),
  notBefore: NullableDateTime,
  expiresAt: NullableDateTime,
  revokedAt: NullableDateTime,
  revokedBy: Type.Union([Type.String(), Type.Null()], { description: 'The admin who revoked it.' }),
  createOnly: Type.Boolean(),
  grantedBy: Type.String({ description: 'The admin (token `sub`) or CLI user who granted it.' }),
  reason: Type.String(),
  createdAt: DateTime,
  live: Type.Boolean({ description: 'Whether it grants anything now.' }),
});
export type EntitlementView = Static<typeof EntitlementSchema>;

export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      pattern: '^[\\x21-\\x7e]{1,255}$',
      description: 'A retry with the same key and body returns the same entitlement; the same key with another body gets 409.',
    }),
  ),
});

export const ListQuerySchema = Type.Object(
  {
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    bundleId: Type.Optional(BundleIdSchema),
    resource: Type.Optional(
      Type.String({ minLength: 1, maxLength: MAX_KEY_BYTES, description: 'Entitlements naming exactly this pattern.' }),
    ),
    live: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,512}$', description: 'The `next` of the previous page.' })),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: `Page size, 1 to ${MAX_PAGE} (default 50).` })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuerySchema>;

export const EntitlementPageSchema = Type.Object({
  entitlements: Type.Array(EntitlementSchema),
  next: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last.' }),
});

export const ExplainRequestSchema = Type.Object(
  {
    claims: Type.Record(Type.String(), Type.Unknown(), { description: "The token's claims to decide for; `sub` is required." }),
    action: ActionSchema,
    key: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_KEY_BYTES })),
    bundleId: Type.Optional(BundleIdSchema),
    contentType: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    contentLength: Type.Optional(Type.Integer({ minimum: 0 })),
    clientAddress: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 45,
        pattern: '^[0-9A-Fa-f:.]+$',
        description: "The caller's address, for rules whose conditions bind to it; without it they are explained as unmet.",
      }),
    ),
  },
  { additionalProperties: false, description: 'Exactly one of key and bundleId.' },
);
export type ExplainRequest = Static<typeof ExplainRequestSchema>;

const SourceSchema = Type.Object({ kind: Type.Union([Type.Literal('rule'), Type.Literal('entitlement')]), id: Type.String() });

export const ExplainResponseSchema = Type.Object({
  allow: Type.Boolean(),
  code: Type.Optional(Type.String({ description: 'Why not, as the grant routes would answer.' })),
  reason: Type.String(),
  source: Type.Optional(SourceSchema),
  ttlSeconds: Type.Optional(Type.Integer()),
});

const GrantSummarySchema = Type.Object({
  source: SourceSchema,
  actions: Type.Array(ActionSchema),
  resources: Type.Array(Type.String(), { description: "Patterns with the caller's claims filled in." }),
  bundles: Type.Array(Type.String()),
  limits: Type.Object({
    maxBytes: Type.Optional(Type.Integer()),
    contentTypes: Type.Optional(Type.Array(Type.String())),
    maxTtlSeconds: Type.Optional(Type.Integer()),
  }),
  conditions: Type.Optional(
    Type.Object({
      notBefore: Type.Optional(DateTime),
      sourceIp: Type.Optional(Type.String()),
      bindToCallerIp: Type.Optional(Type.Boolean()),
    }),
  ),
  createOnly: Type.Boolean(),
  endsAt: NullableDateTime,
});
export type GrantSummary = Static<typeof GrantSummarySchema>;

export const MyEntitlementsSchema = Type.Object({
  grants: Type.Array(GrantSummarySchema, {
    description: 'What the caller may do, rule by rule and entitlement by entitlement, in decision order.',
  }),
});

export const AuditQuerySchema = Type.Object(
  {
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    allow: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Records at or after this instant.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Records before this instant.' })),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,512}$', description: 'The `next` of the previous page.' })),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: `Page size, 1 to ${MAX_PAGE} (default 50).` })),
  },
  { additionalProperties: false },
);
export type AuditQueryRequest = Static<typeof AuditQuerySchema>;

const AuditRecordSchema = Type.Object({
  id: Type.Integer(),
  at: DateTime,
  requestId: Type.String(),
  subject: Type.String(),
  clientAddress: Type.String(),
  kind: Type.String({ description: '`upload`, `download` or `bundle`.' }),
  action: ActionSchema,
  targetKind: Type.Union([Type.Literal('key'), Type.Literal('bundle')]),
  target: Type.String(),
  allow: Type.Boolean(),
  code: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  decidedBy: Type.Union([Type.String(), Type.Null()], { description: '`rule:<id>` or `entitlement:<id>`.' }),
  expiresAt: NullableDateTime,
});
export type AuditRecordView = Static<typeof AuditRecordSchema>;

export const AuditPageSchema = Type.Object({
  records: Type.Array(AuditRecordSchema, { description: 'Newest first.' }),
  next: Type.Union([Type.String(), Type.Null()]),
});
