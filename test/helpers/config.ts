import { generateKeyPairSync } from 'node:crypto';
import type { Config } from '../../src/config/config.js';
import { fixedConfig } from '../../src/config/fixed-config.js';
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
  return fixedConfig({
    ...(options.policy ? { policy: validatePolicyDocument(options.policy, 'test policy') } : {}),
    cloudfront: options.cloudfront
      ? {
          domain: 'd111111abcdef8.cloudfront.net',
          keys: [{ id: 'KTESTKEYPAIR01', privateKey: cloudfrontKeyPair().privateKey, hashAlgorithm: 'SHA1' }],
        }
      : undefined,
    jwt: { ...fixedConfig().jwt, verification: { kind: 'secret', secret: TEST_JWT_SECRET } },
    corsOrigins: ['https://app.example.com'],
    ...options.overrides,
  });
}
