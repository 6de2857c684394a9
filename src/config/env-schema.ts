import { Type, type Static } from '@sinclair/typebox';
import { KEY_PAIR_ID_PATTERN } from './cloudfront-keys.js';
import { GRANT_DEFAULTS, S3_MAX_OBJECT_BYTES, SIGV4_MAX_TTL_SECONDS } from '../policy/defaults.js';

/**
 * Every environment variable the broker reads. `.env.example` documents the
 * same list, and test/unit/config/env-example.test.ts keeps the two in step.
 */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Optional(
    Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], { examples: ['production'] }),
  ),
  HOST: Type.Optional(Type.String({ minLength: 1, examples: ['0.0.0.0'] })),
  PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, examples: [8080] })),
  LOG_LEVEL: Type.Optional(
    Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
      {
        examples: ['info'],
      },
    ),
  ),
  LOG_REQUEST_SAMPLE_RATE: Type.Optional(Type.Number({ minimum: 0, maximum: 1, examples: [0.1] })),
  TRUST_PROXY: Type.Optional(Type.Boolean({ examples: [true] })),
  DATA_DIR: Type.Optional(Type.String({ minLength: 1, examples: ['./data'] })),
  POLICY_FILE: Type.Optional(Type.String({ minLength: 1, examples: ['/etc/access-broker/policy.yaml'] })),
  DATABASE_URL: Type.Optional(
    Type.String({ pattern: '^postgres(ql)?://\\S+$', examples: ['postgres://broker:secret@db.internal:5432/broker'] }),
  ),
  MIGRATE_ON_START: Type.Optional(Type.Boolean({ examples: [false] })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://\\S+$', examples: ['redis://redis.internal:6379'] })),
  RATE_LIMIT_PER_SUBJECT: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, examples: [600] })),
  RATE_LIMIT_PER_ADDRESS: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, examples: [1200] })),
  RATE_LIMIT_WINDOW_SECONDS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, examples: [60] })),
  RATE_LIMIT_ON_STORE_FAILURE: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')], { examples: ['closed'] })),
  AUDIT_LOG: Type.Optional(Type.Boolean({ examples: [false] })),
  AUDIT_DATABASE: Type.Optional(Type.Boolean({ examples: [true] })),
  AUDIT_QUEUE_MAX: Type.Optional(Type.Integer({ minimum: 100, maximum: 1_000_000, examples: [10000] })),
  REVOCATION_MAX_DELAY_SECONDS: Type.Optional(Type.Number({ minimum: 0, maximum: 300, examples: [5] })),
  DECISION_CACHE_SUBJECTS: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, examples: [10000] })),
  DATABASE_TIMEOUT_MS: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000, examples: [2000] })),
  DATABASE_POOL_SIZE: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, examples: [10] })),

  AWS_REGION: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$', examples: ['eu-west-1'] })),
  S3_BUCKET: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', examples: ['my-app-uploads'] })),
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+/?$', examples: ['http://localhost:4566'] })),
  S3_FORCE_PATH_STYLE: Type.Optional(Type.Boolean({ examples: [true] })),

  CLOUDFRONT_DOMAIN: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\\d{1,5})?$',
      examples: ['d111111abcdef8.cloudfront.net'],
    }),
  ),
  CLOUDFRONT_KEY_PAIR_ID: Type.Optional(Type.String({ pattern: KEY_PAIR_ID_PATTERN, examples: ['K2JCJMDEHXQW5F'] })),
  // PEM (anywhere in the text), or base64 of a PEM or DER key (no newlines to lose).
  CLOUDFRONT_PRIVATE_KEY: Type.Optional(
    Type.String({ pattern: '(-----BEGIN|^[A-Za-z0-9+/\\s]+={0,2}$)', examples: ['"<the PEM text of the key, or its base64>"'] }),
  ),
  CLOUDFRONT_PRIVATE_KEY_FILE: Type.Optional(Type.String({ minLength: 1, examples: ['/run/secrets/cloudfront.pem'] })),
  CLOUDFRONT_HASH_ALGORITHM: Type.Optional(Type.Union([Type.Literal('SHA1'), Type.Literal('SHA256')], { examples: ['SHA256'] })),
  CLOUDFRONT_KEY_RING: Type.Optional(
    Type.String({
      minLength: 1,
      examples: [
        '{"signingKeyId":"K2NEWKEY0001","keys":[{"id":"K2NEWKEY0001","algorithm":"ECDSA-SHA256","privateKeyFile":"/run/secrets/new.pem"}]}',
      ],
    }),
  ),
  CLOUDFRONT_KEY_RING_FILE: Type.Optional(Type.String({ minLength: 1, examples: ['/etc/access-broker/cloudfront-keys.yaml'] })),
  CLOUDFRONT_KEY_RING_SECRET_ID: Type.Optional(Type.String({ minLength: 1, examples: ['access-broker/cloudfront-keys'] })),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+/?$', examples: ['http://localhost:4566'] })),
  EDGE_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, examples: [8787] })),
  EDGE_HOST: Type.Optional(Type.String({ minLength: 1, examples: ['127.0.0.1'] })),
  EDGE_ORIGIN_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s/?#]+$', examples: ['https://d111111abcdef8.cloudfront.net'] })),

  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, examples: ['a-random-string-of-at-least-32-characters'] })),
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ pattern: '-----BEGIN', examples: ['"-----BEGIN PUBLIC KEY-----\\n..."'] })),
  JWT_PUBLIC_KEY_FILE: Type.Optional(Type.String({ minLength: 1, examples: ['/run/secrets/jwt-public.pem'] })),
  JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://\\S+$', examples: ['https://auth.example.com/.well-known/jwks.json'] })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1, examples: ['https://auth.example.com/'] })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1, examples: ['access-broker'] })),
  JWT_CLOCK_TOLERANCE_SECONDS: Type.Optional(Type.Integer({ minimum: 0, maximum: 300, examples: [30] })),
  ADMIN_SCOPE: Type.Optional(Type.String({ pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]{1,128}$', examples: ['broker:admin'] })),
  JWT_MAX_TOKEN_AGE_SECONDS: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86_400, examples: [3600] })),

  GRANT_DEFAULT_TTL_SECONDS: Type.Optional(
    Type.Integer({ minimum: 1, maximum: SIGV4_MAX_TTL_SECONDS, examples: [GRANT_DEFAULTS.defaultTtlSeconds] }),
  ),
  GRANT_MAX_TTL_SECONDS: Type.Optional(
    Type.Integer({ minimum: 1, maximum: SIGV4_MAX_TTL_SECONDS, examples: [GRANT_DEFAULTS.maxTtlSeconds] }),
  ),
  UPLOAD_MAX_BYTES: Type.Optional(Type.Integer({ minimum: 1, maximum: S3_MAX_OBJECT_BYTES, examples: [104857600] })),

  UPLOAD_GRACE_SECONDS: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400, examples: [900] })),
  UPLOAD_SWEEP_INTERVAL_SECONDS: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400, examples: [60] })),
  // A key prefix of its own: letters, digits and the key grammar's safe punctuation, ending with a slash.
  UPLOAD_QUARANTINE_PREFIX: Type.Optional(
    Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9!_.*()'-]*(/[A-Za-z0-9!_.*()'-]+)*/$", examples: ['quarantine/'] }),
  ),
  S3_EVENTS_QUEUE_URL: Type.Optional(
    Type.String({ pattern: '^https?://[^\\s/]+/\\S+$', examples: ['https://sqs.eu-west-1.amazonaws.com/111111111111/uploads'] }),
  ),
  AWS_ENDPOINT_URL_SQS: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+/?$', examples: ['http://localhost:4566'] })),
  WEBHOOK_URLS: Type.Optional(Type.String({ minLength: 1, examples: ['https://app.example.com/hooks/uploads'] })),
  WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: '^whsec_', examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] })),
  WEBHOOK_MAX_ATTEMPTS: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, examples: [12] })),
  WEBHOOK_RETRY_BASE_MS: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000, examples: [2000] })),
  WEBHOOK_RETRY_MAX_MS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000, examples: [3600000] })),
  WEBHOOK_TIMEOUT_MS: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000, examples: [5000] })),

  COOKIE_DOMAIN: Type.Optional(Type.String({ pattern: '^\\.?[a-z0-9.-]+$', examples: ['.example.com'] })),
  COOKIE_SAMESITE: Type.Optional(Type.Union([Type.Literal('strict'), Type.Literal('lax'), Type.Literal('none')], { examples: ['lax'] })),
  COOKIE_SECURE: Type.Optional(Type.Boolean({ examples: [true] })),
  CORS_ORIGINS: Type.Optional(Type.String({ examples: ['https://app.example.com,https://admin.example.com'] })),
});

export type Env = Static<typeof EnvSchema>;
export type EnvName = keyof Env;
