import { generateKeyPairSync } from 'node:crypto';
import type { Config } from '../../src/config/config.js';
import { DEVELOPMENT_S3 } from '../../src/config/load.js';
import { developmentPolicy } from '../../src/policy/development-policy.js';
import { validatePolicyDocument } from '../../src/policy/load.js';
import type { PolicyDocument } from '../../src/policy/schema.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';

let cloudfrontKeys: { privateKey: string; publicKey: string } | undefined;

/** One RSA key pair per test process: generating them is the slow part. */
export function cloudfrontKeyPair(): { privateKey: string; publicKey: string } {
  cloudfrontKeys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return cloudfrontKeys;
}

export interface TestConfigOptions {
  policy?: PolicyDocument;
  cloudfront?: boolean;
  overrides?: Partial<Config>;
}

/** A complete Config with test values; tests never go through process.env. */
export function testConfig(options: TestConfigOptions = {}): Config {
  return {
    mode: 'test',
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    trustProxy: false,
    dataDir: '/nonexistent',
    policy: validatePolicyDocument(options.policy ?? developmentPolicy, 'test policy'),
    s3: { ...DEVELOPMENT_S3, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    cloudfront: options.cloudfront
      ? { domain: 'd111111abcdef8.cloudfront.net', keyPairId: 'KTESTKEYPAIR01', privateKey: cloudfrontKeyPair().privateKey, hashAlgorithm: 'SHA1' }
      : undefined,
    jwt: { verification: { kind: 'secret', secret: TEST_JWT_SECRET }, issuer: undefined, audience: undefined, clockToleranceSeconds: 5 },
    grants: { defaultTtlSeconds: 900, maxTtlSeconds: 86_400, maxBytes: 5 * 1024 ** 3 },
    cookies: { domain: undefined, sameSite: 'lax', secure: true },
    corsOrigins: ['https://app.example.com'],
    developmentDefaults: [],
    ...options.overrides,
  };
}
