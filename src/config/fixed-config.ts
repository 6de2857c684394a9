import { DEFAULT_MAX_TOKEN_AGE_SECONDS } from '../auth/token-rules.js';
import type { Config } from './config.js';
import { DEVELOPMENT_S3 } from './load.js';
import { GRANT_DEFAULTS } from '../policy/defaults.js';
import { developmentPolicy } from '../policy/development-policy.js';
import { validatePolicyDocument } from '../policy/load.js';

/**
 * A complete configuration that touches no environment and no files: for
 * generating the OpenAPI document, and the base of test and bench configs.
 * Its JWT secret is public, so it must never serve traffic.
 */
export function fixedConfig(overrides: Partial<Config> = {}): Config {
  return {
    mode: 'test',
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    logRequestSampleRate: 1,
    trustProxy: false,
    dataDir: '/nonexistent',
    store: { kind: 'sqlite', filename: ':memory:' },
    policy: validatePolicyDocument(developmentPolicy, 'development policy'),
    s3: { ...DEVELOPMENT_S3, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    cloudfront: undefined,
    jwt: {
      verification: { kind: 'secret', secret: 'fixed-config-secret-never-serve-traffic' },
      issuer: undefined,
      audience: undefined,
      clockToleranceSeconds: 5,
      maxTokenAgeSeconds: DEFAULT_MAX_TOKEN_AGE_SECONDS,
    },
    grants: GRANT_DEFAULTS,
    cookies: { domain: undefined, sameSite: 'lax', secure: true },
    corsOrigins: [],
    admin: { scope: 'broker:admin' },
    // No audit lines: tests that read logs look for their own lines, and the bench compares with the runs before.
    audit: { log: false, database: false, queueMax: 10_000 },
    rateLimits: { perSubject: 0, perAddress: 0, windowMs: 60_000, redisUrl: undefined, onStoreFailure: 'open' },
    // Off unless a test asks: most tests write to the store behind the app's back and expect it seen at once.
    decisionCache: { maxAgeMs: 0, maxSubjects: 10_000 },
    // Sweeps and events only where a test starts them.
    uploads: { graceSeconds: 900, sweepIntervalMs: 0, quarantinePrefix: undefined, eventsQueue: undefined },
    webhooks: undefined,
    developmentDefaults: [],
    ...overrides,
  };
}
