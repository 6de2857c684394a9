import { Type, type Static } from '@sinclair/typebox';
import { SIGV4_MAX_TTL_SECONDS } from './defaults.js';

/** Rule and bundle ids: short, lowercase, safe in URLs, logs and metric labels. */
export const POLICY_ID = '^[a-z0-9][a-z0-9._-]{0,63}$';

export const ActionSchema = Type.Union([Type.Literal('read'), Type.Literal('write')], {
  description: '`read`: download grants and bundle cookies. `write`: upload grants.',
});
export type Action = Static<typeof ActionSchema>;

export const BundleIdSchema = Type.String({ pattern: POLICY_ID, examples: ['demo'] });

const MediaRangeSchema = Type.String({
  pattern: '^[a-z0-9][a-z0-9!#$&^_.+-]*/([a-z0-9][a-z0-9!#$&^_.+-]*|\\*)$',
  description: 'A media type, or a type with `*` as subtype (`image/*`).',
});

export const LimitsSchema = Type.Object(
  {
    maxBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Largest upload, in bytes.' })),
    contentTypes: Type.Optional(Type.Array(MediaRangeSchema, { minItems: 1 })),
    maxTtlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: SIGV4_MAX_TTL_SECONDS })),
  },
  { additionalProperties: false },
);
export type Limits = Static<typeof LimitsSchema>;

export const ConditionsSchema = Type.Object(
  {
    notBefore: Type.Optional(
      Type.String({
        // RFC 3339 with its offset, so the instant does not depend on the broker's time zone; compilePolicy checks the date exists.
        pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
        examples: ['2027-01-01T09:00:00Z'],
        description: 'Grants open only from this instant (an embargo): CloudFront `DateGreaterThan`. They may be handed out before it.',
      }),
    ),
    sourceIp: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Grants open only from this IPv4 address or CIDR range: CloudFront `IpAddress` (it matches IPv4 only).',
      }),
    ),
    bindToCallerIp: Type.Optional(
      Type.Boolean({
        description:
          "Grants open only from the caller's own IPv4 address, as the broker sees it (TRUST_PROXY behind a proxy); IPv6 callers are refused.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type Conditions = Static<typeof ConditionsSchema>;

export const CreateOnlySchema = Type.Boolean({
  description:
    'Uploads it grants may create a key, never replace one: PUTs sign `If-None-Match: *` and multipart completion sends it, so S3 answers 412 when the key holds an object. POST forms cannot carry it and are refused.',
});

export const QuotaSchema = Type.Object(
  {
    bytesPerDay: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Bytes a subject may upload under the rule per UTC day: verified bytes plus the size granted to uploads in flight.',
      }),
    ),
    objectsPerDay: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Uploads a subject may be granted under the rule per UTC day, rejected and expired ones not counted.',
      }),
    ),
    concurrentUploads: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Uploads a subject may have granted and not yet verified, rejected or expired at once.' }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Upload quotas, counted per subject for this rule at grant time; a grant that would exceed one is refused (429).',
  },
);
export type Quota = Static<typeof QuotaSchema>;

export const RequireVerifiedSchema = Type.Boolean({
  description:
    'Download grants only for keys whose latest upload the broker verified (its bytes checked against its grant); others are refused with BROKER_UPLOAD_NOT_VERIFIED.',
});

const ClaimValueSchema = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

export const MatchSchema = Type.Object(
  {
    subjects: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    roles: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    claims: Type.Optional(
      // An empty claim name is refused by compilePolicy: TypeBox does not apply a Record key's minLength.
      Type.Record(Type.String(), Type.Union([ClaimValueSchema, Type.Array(ClaimValueSchema, { minItems: 1 })])),
    ),
  },
  { additionalProperties: false },
);
export type Match = Static<typeof MatchSchema>;

export const RuleSchema = Type.Object(
  {
    id: Type.String({ pattern: POLICY_ID }),
    description: Type.Optional(Type.String()),
    when: Type.Optional(MatchSchema),
    actions: Type.Array(ActionSchema, { minItems: 1, uniqueItems: true }),
    resources: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    bundles: Type.Optional(Type.Array(BundleIdSchema, { minItems: 1 })),
    limits: Type.Optional(LimitsSchema),
    createOnly: Type.Optional(CreateOnlySchema),
    /** CloudFront conditions on every read grant the rule makes; S3 URLs cannot carry them, so without CloudFront it grants nothing. */
    conditions: Type.Optional(ConditionsSchema),
    quota: Type.Optional(QuotaSchema),
    requireVerified: Type.Optional(RequireVerifiedSchema),
  },
  { additionalProperties: false },
);
export type Rule = Static<typeof RuleSchema>;

export const BundleSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    resource: Type.String({
      minLength: 1,
      description:
        'One resource pattern. CloudFront custom policies hold a single statement, so a bundle is one pattern, usually a prefix ending in `*`.',
    }),
    // Cookie path grammar: printable ASCII without ';' (it would start another attribute).
    cookiePath: Type.Optional(Type.String({ pattern: '^/[\\x21-\\x3a\\x3c-\\x7e]*$', maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type Bundle = Static<typeof BundleSchema>;

export const PolicyDocumentSchema = Type.Object(
  {
    version: Type.Literal(1),
    rules: Type.Array(RuleSchema),
    bundles: Type.Optional(Type.Record(Type.String(), BundleSchema)),
  },
  { additionalProperties: false },
);
export type PolicyDocument = Static<typeof PolicyDocumentSchema>;
