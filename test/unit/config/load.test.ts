import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Config } from '../../../src/config/config.js';
import { DEVELOPMENT_S3, loadConfig, type ConfigResult } from '../../../src/config/load.js';

const made: string[] = [];
after(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

// Making the development CloudFront key pair (RSA 2048) dominates a development load; most tests
// start from a DATA_DIR that already holds one, as it would after a first start. Tests about
// creating the secrets use an empty directory.
const SEED_CLOUDFRONT_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

/** A fresh directory per test: loadConfig writes development secrets into DATA_DIR. */
async function freshDir(options: { empty?: boolean } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'broker-config-'));
  made.push(dir);
  if (!options.empty) await writeFile(join(dir, 'dev-cloudfront-private.pem'), SEED_CLOUDFRONT_KEY, { mode: 0o600 });
  return dir;
}

type RawEnv = Record<string, string | undefined>;

/** loadConfig with DATA_DIR set to a fresh directory unless the env names one. */
async function load(env: RawEnv = {}): Promise<ConfigResult> {
  return loadConfig({ DATA_DIR: await freshDir(), ...env });
}

function configOf(result: ConfigResult): Config {
  if (!result.ok) assert.fail(`expected a valid configuration, got:\n  ${result.errors.join('\n  ')}`);
  return result.config;
}

function errorsOf(result: ConfigResult): string[] {
  if (result.ok) assert.fail('expected the configuration to be refused');
  assert.ok(result.errors.length > 0, 'a refused configuration says why');
  return result.errors;
}

const findError = (errors: readonly string[], pattern: RegExp): string => {
  const found = errors.find((error) => pattern.test(error));
  assert.ok(found !== undefined, `no error matches ${pattern} in:\n  ${errors.join('\n  ')}`);
  return found;
};

const VALID_SECRET = 'x'.repeat(32);

const PRODUCTION_JWKS = {
  JWKS_URL: 'https://auth.example.com/.well-known/jwks.json',
  JWT_ISSUER: 'https://auth.example.com/',
  JWT_AUDIENCE: 'access-broker',
};

const POLICY_YAML = `
version: 1
rules:
  - id: from-file
    actions: [read]
    resources: ["files/*"]
`;

describe('loadConfig: development defaults', () => {
  test('an empty environment gives a working development configuration', async () => {
    const dataDir = await freshDir();
    const config = configOf(await loadConfig({ DATA_DIR: dataDir }));
    assert.equal(config.mode, 'development');
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8080);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.trustProxy, false);
    assert.equal(config.dataDir, dataDir);
    assert.equal(config.jwt.verification.kind, 'secret');
    assert.equal(config.jwt.issuer, undefined);
    assert.equal(config.jwt.audience, undefined);
    assert.equal(config.jwt.clockToleranceSeconds, 30);
    assert.deepEqual(config.s3, {
      region: DEVELOPMENT_S3.region,
      bucket: DEVELOPMENT_S3.bucket,
      endpoint: DEVELOPMENT_S3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    assert.equal(config.cloudfront?.origin, 'http://localhost:8787', 'the local edge, run beside the broker');
    assert.deepEqual(config.grants, { defaultTtlSeconds: 900, maxTtlSeconds: 86_400, maxBytes: 5 * 1024 ** 3 });
    assert.deepEqual(config.cookies, { domain: undefined, sameSite: 'lax', secure: true });
    assert.deepEqual(config.corsOrigins, []);
    assert.deepEqual(
      config.policy.rules.map((rule) => rule.id),
      ['dev-own-uploads', 'dev-public'],
    );
  });

  test('every development default in use is listed in developmentDefaults', async () => {
    const config = configOf(await load());
    assert.equal(config.developmentDefaults.length, 4, config.developmentDefaults.join('\n'));
    findError(config.developmentDefaults, /^JWT: HS256 with the development secret/);
    findError(config.developmentDefaults, /^CloudFront: a local edge at http:\/\/localhost:8787/);
    findError(config.developmentDefaults, /^S3: bucket access-broker-dev at http:\/\/localhost:4566/);
    findError(config.developmentDefaults, /^policy: the development policy/);
  });

  test('developmentDefaults is empty once everything is configured', async () => {
    const dir = await freshDir();
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(policyFile, POLICY_YAML);
    const config = configOf(
      await loadConfig({ DATA_DIR: dir, JWT_SECRET: VALID_SECRET, S3_BUCKET: 'my-bucket', POLICY_FILE: policyFile, CLOUDFRONT_DOMAIN: '' }),
    );
    assert.deepEqual(config.developmentDefaults, []);
  });

  test('the development secrets are written into DATA_DIR', async () => {
    const dir = await freshDir({ empty: true });
    configOf(await loadConfig({ DATA_DIR: dir }));
    const files = await readdir(dir);
    assert.ok(files.includes('dev-jwt-secret'), files.join(', '));
    assert.ok(files.includes('dev-cloudfront-private.pem'), files.join(', '));
    assert.ok(files.includes('dev-cloudfront-public.pem'), files.join(', '));
  });

  test('the development JWT secret and CloudFront key pair persist across two loads of the same DATA_DIR', async () => {
    const dir = await freshDir({ empty: true });
    const env = { DATA_DIR: dir, CLOUDFRONT_DOMAIN: 'cdn.localhost' };
    const first = configOf(await loadConfig(env));
    const second = configOf(await loadConfig(env));
    assert.equal(first.jwt.verification.kind, 'secret');
    assert.deepEqual(second.jwt.verification, first.jwt.verification);
    assert.ok(first.cloudfront && second.cloudfront);
    assert.deepEqual(second.cloudfront.keys, first.cloudfront.keys);
  });

  test('different DATA_DIRs get different development JWT secrets', async () => {
    const first = configOf(await load());
    const second = configOf(await load());
    assert.notDeepEqual(first.jwt.verification, second.jwt.verification);
  });

  test('an existing development key pair in DATA_DIR is reused', async () => {
    const config = configOf(await load({ CLOUDFRONT_DOMAIN: 'cdn.localhost' }));
    assert.equal(config.cloudfront?.keys[0].privateKey, SEED_CLOUDFRONT_KEY);
  });

  test('the development JWT secret is long enough for HS256', async () => {
    const { verification } = configOf(await load()).jwt;
    assert.ok(verification.kind === 'secret');
    assert.ok(verification.secret.length >= 32, `secret has ${verification.secret.length} characters`);
  });

  test('real AWS credentials in the environment win over the LocalStack test credentials', async () => {
    const config = configOf(await load({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' }));
    assert.equal(config.s3.credentials, undefined);
  });

  test('NODE_ENV=test behaves like development', async () => {
    const config = configOf(await load({ NODE_ENV: 'test' }));
    assert.equal(config.mode, 'test');
    assert.ok(config.developmentDefaults.length > 0);
  });
});

describe('loadConfig: values', () => {
  test('typed values are converted from their string form', async () => {
    const config = configOf(
      await load({
        HOST: '0.0.0.0',
        PORT: '9000',
        LOG_LEVEL: 'debug',
        TRUST_PROXY: 'true',
        AWS_REGION: 'eu-west-1',
        S3_BUCKET: 'my-bucket',
        JWT_SECRET: VALID_SECRET,
        JWT_ISSUER: 'https://auth.example.com/',
        JWT_AUDIENCE: 'access-broker',
        JWT_CLOCK_TOLERANCE_SECONDS: '5',
        GRANT_DEFAULT_TTL_SECONDS: '60',
        GRANT_MAX_TTL_SECONDS: '120',
        UPLOAD_MAX_BYTES: '1000',
        COOKIE_DOMAIN: '.example.com',
        COOKIE_SAMESITE: 'strict',
        COOKIE_SECURE: 'false',
        CORS_ORIGINS: ' https://app.example.com , http://localhost:3000 ',
      }),
    );
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 9000);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.trustProxy, true);
    assert.deepEqual(config.s3, {
      region: 'eu-west-1',
      bucket: 'my-bucket',
      endpoint: undefined,
      forcePathStyle: false,
      credentials: undefined,
    });
    assert.deepEqual(config.jwt, {
      verification: { kind: 'secret', secret: VALID_SECRET },
      issuer: 'https://auth.example.com/',
      audience: 'access-broker',
      clockToleranceSeconds: 5,
      maxTokenAgeSeconds: 86_400,
    });
    assert.deepEqual(config.grants, { defaultTtlSeconds: 60, maxTtlSeconds: 120, maxBytes: 1000 });
    assert.deepEqual(config.cookies, { domain: '.example.com', sameSite: 'strict', secure: false });
    assert.deepEqual(config.corsOrigins, ['https://app.example.com', 'http://localhost:3000']);
  });

  test('empty and whitespace-only values count as unset', async () => {
    const config = configOf(await load({ PORT: '', HOST: '   ', JWT_SECRET: '' }));
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
  });

  test('a custom S3 endpoint with a bucket uses path-style addressing by default', async () => {
    const config = configOf(await load({ S3_BUCKET: 'my-bucket', S3_ENDPOINT: 'http://minio:9000' }));
    assert.equal(config.s3.endpoint, 'http://minio:9000');
    assert.equal(config.s3.forcePathStyle, true);
    const virtualHosted = configOf(await load({ S3_BUCKET: 'my-bucket', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'false' }));
    assert.equal(virtualHosted.s3.forcePathStyle, false);
  });

  test('GRANT_DEFAULT_TTL_SECONDS above GRANT_MAX_TTL_SECONDS is refused', async () => {
    const errors = errorsOf(await load({ GRANT_DEFAULT_TTL_SECONDS: '7200', GRANT_MAX_TTL_SECONDS: '3600' }));
    findError(errors, /^GRANT_DEFAULT_TTL_SECONDS: 7200 exceeds GRANT_MAX_TTL_SECONDS \(3600\)/);
  });

  test('a CORS origin with a path is refused', async () => {
    const errors = errorsOf(await load({ CORS_ORIGINS: 'https://app.example.com/path' }));
    findError(errors, /^CORS_ORIGINS: "https:\/\/app\.example\.com\/path" is not an origin; for example/);
  });
});

describe('loadConfig: production', () => {
  test('an empty environment is refused, naming the JWT, S3_BUCKET and POLICY_FILE variables all at once', async () => {
    const errors = errorsOf(await load({ NODE_ENV: 'production' }));
    const jwt = findError(errors, /JWT_SECRET/);
    assert.match(jwt, /JWT_PUBLIC_KEY/);
    assert.match(jwt, /JWKS_URL/);
    findError(errors, /^S3_BUCKET: must be set in production/);
    findError(errors, /^POLICY_FILE: must be set in production/);
    assert.equal(errors.length, 3, errors.join('\n'));
  });

  test('production writes no development secrets', async () => {
    const dir = await freshDir({ empty: true });
    errorsOf(await loadConfig({ DATA_DIR: dir, NODE_ENV: 'production' }));
    assert.deepEqual(await readdir(dir), []);
  });

  test('a complete production environment loads with no development defaults', async () => {
    const dir = await freshDir();
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(policyFile, POLICY_YAML);
    const config = configOf(
      await loadConfig({ ...PRODUCTION_JWKS, NODE_ENV: 'production', DATA_DIR: dir, S3_BUCKET: 'my-bucket', POLICY_FILE: policyFile }),
    );
    assert.equal(config.mode, 'production');
    assert.deepEqual(config.jwt.verification, { kind: 'jwks', url: 'https://auth.example.com/.well-known/jwks.json' });
    assert.deepEqual(config.developmentDefaults, []);
    assert.equal(config.s3.credentials, undefined);
  });

  test('production refuses plain-http JWKS, a missing audience or issuer, insecure cookies and http origins, all at once', async () => {
    const dir = await freshDir();
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(policyFile, POLICY_YAML);
    const errors = errorsOf(
      await loadConfig({
        NODE_ENV: 'production',
        DATA_DIR: dir,
        S3_BUCKET: 'my-bucket',
        POLICY_FILE: policyFile,
        JWKS_URL: 'http://auth.example.com/jwks.json',
        COOKIE_SECURE: 'false',
        CORS_ORIGINS: 'https://app.example.com,http://old.example.com',
      }),
    );
    findError(errors, /^JWKS_URL: must use https in production/);
    findError(errors, /^JWT_AUDIENCE: must be set in production/);
    findError(errors, /^JWT_ISSUER: must be set in production/);
    findError(errors, /^COOKIE_SECURE: must not be false in production/);
    findError(errors, /^CORS_ORIGINS: "http:\/\/old\.example\.com" is not https/);
    assert.equal(errors.length, 5, errors.join('\n'));
  });

  test('the same settings are allowed in development, for localhost work', async () => {
    configOf(await load({ JWKS_URL: 'http://localhost:9000/jwks.json', COOKIE_SECURE: 'false', CORS_ORIGINS: 'http://localhost:5173' }));
  });

  test('RSA keys under 2048 bits are refused for CloudFront and for JWT verification', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const errors = errorsOf(
      await load({
        CLOUDFRONT_DOMAIN: 'd111111abcdef8.cloudfront.net',
        CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
        CLOUDFRONT_PRIVATE_KEY: weak.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        JWT_PUBLIC_KEY: weak.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      }),
    );
    findError(errors, /^CLOUDFRONT_PRIVATE_KEY: an RSA key in a key group must have 2048 bits/);
    findError(errors, /^JWT_PUBLIC_KEY: RSA keys shorter than 2048 bits/);
  });

  test('CloudFront keys: RSA 2048 and ECDSA P-256 are accepted; other curves and key types are named and refused', async () => {
    const pem = (key: { privateKey: { export(options: { type: 'pkcs8'; format: 'pem' }): string | Buffer } }) =>
      key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const withKey = (privateKey: string) =>
      load({
        CLOUDFRONT_DOMAIN: 'd111111abcdef8.cloudfront.net',
        CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
        CLOUDFRONT_PRIVATE_KEY: privateKey,
      });
    const accepted = await withKey(pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' })));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    assert.equal(accepted.config.cloudfront?.keys[0].id, 'K2JCJMDEHXQW5F');
    findError(
      errorsOf(await withKey(pem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' })))),
      /^CLOUDFRONT_PRIVATE_KEY: an ECDSA key in a key group must be on P-256/,
    );
    findError(
      errorsOf(await withKey(pem(generateKeyPairSync('ed25519')))),
      /^CLOUDFRONT_PRIVATE_KEY: a key in a key group must be RSA 2048 or ECDSA P-256/,
    );
  });

  test('CLOUDFRONT_DOMAIN alone is refused in production (the development key pair is refused)', async () => {
    const errors = errorsOf(await load({ NODE_ENV: 'production', CLOUDFRONT_DOMAIN: 'd111111abcdef8.cloudfront.net' }));
    findError(
      errors,
      /^CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_PRIVATE_KEY\(_FILE\), or CLOUDFRONT_KEY_RING\(_FILE, _SECRET_ID\): must be set in production/,
    );
  });
});

describe('loadConfig: bad values', () => {
  test('several bad values are each reported, naming the variable and showing an example', async () => {
    const errors = errorsOf(await load({ PORT: 'abc', S3_ENDPOINT: 'ftp://x', COOKIE_SAMESITE: 'bogus' }));
    for (const name of ['PORT', 'S3_ENDPOINT', 'COOKIE_SAMESITE']) {
      const error = findError(errors, new RegExp(`^${name}: `));
      assert.match(error, /for example/, error);
      assert.match(error, new RegExp(`for example ${name}=`), error);
    }
    assert.equal(errors.length, 3, errors.join('\n'));
  });

  test('a bad value is shown back, so the operator sees what was read', async () => {
    const errors = errorsOf(await load({ PORT: 'abc' }));
    assert.match(findError(errors, /^PORT: /), /got "abc"/);
  });

  for (const [name, value] of [
    ['PORT', '70000'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'verbose'],
    ['TRUST_PROXY', 'maybe'],
    ['AWS_REGION', 'Europe'],
    ['S3_BUCKET', 'My_Bucket'],
    ['CLOUDFRONT_HASH_ALGORITHM', 'MD5'],
    ['JWKS_URL', 'not-a-url'],
    ['JWT_CLOCK_TOLERANCE_SECONDS', '301'],
    ['GRANT_MAX_TTL_SECONDS', '604801'],
    ['UPLOAD_MAX_BYTES', '0'],
    ['COOKIE_DOMAIN', 'https://example.com'],
    ['COOKIE_SECURE', 'yes please'],
  ] as const) {
    test(`${name}=${value} is refused, naming ${name}`, async () => {
      const errors = errorsOf(await load({ [name]: value }));
      findError(errors, new RegExp(`^${name}: .*for example ${name}=`));
    });
  }

  test('regression: a JWT_SECRET shorter than 32 characters is refused without echoing it', async () => {
    const secret = 'short-but-secret-value-1234';
    assert.ok(secret.length < 32);
    const errors = errorsOf(await load({ JWT_SECRET: secret }));
    const error = findError(errors, /^JWT_SECRET: /);
    assert.match(error, /32/);
    assert.match(error, /value hidden/);
    for (const message of errors) assert.ok(!message.includes(secret), `the secret leaked into: ${message}`);
  });

  test('regression: a malformed CLOUDFRONT_PRIVATE_KEY is never echoed', async () => {
    const key = 'not-a-pem-super-secret-material';
    const errors = errorsOf(
      await load({ CLOUDFRONT_DOMAIN: 'cdn.example.com', CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F', CLOUDFRONT_PRIVATE_KEY: key }),
    );
    findError(errors, /^CLOUDFRONT_PRIVATE_KEY: /);
    for (const message of errors) assert.ok(!message.includes(key), `the key leaked into: ${message}`);
  });

  test('JWT_SECRET together with JWKS_URL is refused (algorithm confusion), without echoing the secret', async () => {
    const errors = errorsOf(await load({ JWT_SECRET: VALID_SECRET, JWKS_URL: 'https://auth.example.com/.well-known/jwks.json' }));
    const error = findError(errors, /exclusive/);
    assert.match(error, /JWT_SECRET and JWKS_URL/);
    for (const message of errors) assert.ok(!message.includes(VALID_SECRET), `the secret leaked into: ${message}`);
  });

  test('JWT_SECRET together with JWT_PUBLIC_KEY is refused', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const errors = errorsOf(
      await load({ JWT_SECRET: VALID_SECRET, JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString() }),
    );
    findError(errors, /exclusive/);
  });

  test('COOKIE_SAMESITE=none with COOKIE_SECURE=false is refused', async () => {
    const errors = errorsOf(await load({ COOKIE_SAMESITE: 'none', COOKIE_SECURE: 'false' }));
    findError(errors, /^COOKIE_SAMESITE: "none" requires COOKIE_SECURE=true/);
  });

  test('COOKIE_SAMESITE=none is accepted with the default COOKIE_SECURE', async () => {
    const config = configOf(await load({ COOKIE_SAMESITE: 'none' }));
    assert.deepEqual(config.cookies, { domain: undefined, sameSite: 'none', secure: true });
  });
});

describe('loadConfig: CloudFront', () => {
  test('unset in development: the broker runs the local edge on localhost, signing with the development key pair', async () => {
    const config = configOf(await load({ EDGE_PORT: '9797', EDGE_HOST: '0.0.0.0' }));
    assert.ok(config.cloudfront);
    const {
      keys: [key, ...others],
      ...rest
    } = config.cloudfront;
    assert.match(key.id, /^KDEV[0-9A-F]{12}$/u);
    assert.equal(createPrivateKey(key.privateKey).asymmetricKeyType, 'rsa');
    assert.equal(key.hashAlgorithm, 'SHA1');
    assert.deepEqual(others, []);
    assert.deepEqual(rest, { domain: 'localhost:9797', origin: 'http://localhost:9797', localEdge: { host: '0.0.0.0', port: 9797 } });
    findError(config.developmentDefaults, /^CloudFront: a local edge at http:\/\/localhost:9797, run beside the broker/u);
  });

  test('set empty, or in test or production mode: no CDN (S3 presigned GETs, no bundle cookies)', async () => {
    assert.equal(configOf(await load({ CLOUDFRONT_DOMAIN: '' })).cloudfront, undefined);
    assert.equal(configOf(await load({ CLOUDFRONT_DOMAIN: '  ' })).cloudfront, undefined);
    assert.equal(configOf(await load({ NODE_ENV: 'test' })).cloudfront, undefined);
  });

  test('EDGE_PORT and EDGE_ORIGIN_URL are checked like every other variable', async () => {
    findError(errorsOf(await load({ EDGE_PORT: '70000' })), /^EDGE_PORT: /u);
    findError(errorsOf(await load({ EDGE_ORIGIN_URL: 'https://cdn.example.com/path' })), /^EDGE_ORIGIN_URL: /u);
  });

  test('CLOUDFRONT_DOMAIN alone in development uses the development key pair', async () => {
    const dir = await freshDir();
    const config = configOf(await loadConfig({ DATA_DIR: dir, CLOUDFRONT_DOMAIN: 'd111111abcdef8.cloudfront.net' }));
    assert.ok(config.cloudfront);
    assert.equal(config.cloudfront.domain, 'd111111abcdef8.cloudfront.net');
    const [key] = config.cloudfront.keys;
    assert.match(key.id, /^KDEV[0-9A-F]{12}$/);
    assert.equal(createPrivateKey(key.privateKey).asymmetricKeyType, 'rsa');
    assert.equal(key.hashAlgorithm, 'SHA1');
    findError(config.developmentDefaults, new RegExp(`^CloudFront: development key pair ${key.id}`));
  });

  test('an explicit key pair is used as given', async () => {
    const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const config = configOf(
      await load({
        CLOUDFRONT_DOMAIN: 'cdn.example.com',
        CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
        CLOUDFRONT_PRIVATE_KEY: privateKey,
        CLOUDFRONT_HASH_ALGORITHM: 'SHA256',
      }),
    );
    assert.deepEqual(config.cloudfront, {
      domain: 'cdn.example.com',
      keys: [{ id: 'K2JCJMDEHXQW5F', privateKey, hashAlgorithm: 'SHA256' }],
    });
  });

  test('a key pair id without a private key is refused', async () => {
    const errors = errorsOf(await load({ CLOUDFRONT_DOMAIN: 'cdn.example.com', CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F' }));
    findError(errors, /set both or neither/);
  });

  test('a CloudFront key without CLOUDFRONT_DOMAIN is refused', async () => {
    const errors = errorsOf(await load({ CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F' }));
    findError(errors, /^CLOUDFRONT_DOMAIN: must be set when a CloudFront key is configured/);
  });

  test('a missing CLOUDFRONT_PRIVATE_KEY_FILE is refused, naming the variable', async () => {
    const dir = await freshDir();
    const errors = errorsOf(
      await loadConfig({
        DATA_DIR: dir,
        CLOUDFRONT_DOMAIN: 'cdn.example.com',
        CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
        CLOUDFRONT_PRIVATE_KEY_FILE: join(dir, 'missing.pem'),
      }),
    );
    findError(errors, /^CLOUDFRONT_PRIVATE_KEY_FILE: cannot read .*ENOENT/);
  });
});

describe('loadConfig: JWT public keys', () => {
  const pem = (key: { export(options: { type: 'spki'; format: 'pem' }): string | Buffer }): string =>
    key.export({ type: 'spki', format: 'pem' }).toString();

  test('an RSA JWT_PUBLIC_KEY gives RS256', async () => {
    const publicKey = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    const { verification } = configOf(await load({ JWT_PUBLIC_KEY: publicKey })).jwt;
    assert.deepEqual(verification, { kind: 'public-key', publicKey: publicKey.trim(), algorithm: 'RS256' });
  });

  test('an EC P-256 JWT_PUBLIC_KEY gives ES256', async () => {
    const publicKey = pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey);
    const { verification } = configOf(await load({ JWT_PUBLIC_KEY: publicKey })).jwt;
    assert.equal(verification.kind, 'public-key');
    assert.equal(verification.kind === 'public-key' ? verification.algorithm : undefined, 'ES256');
  });

  test('JWT_PUBLIC_KEY_FILE is read from disk', async () => {
    const dir = await freshDir();
    const file = join(dir, 'jwt.pem');
    await writeFile(file, pem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey));
    const { verification } = configOf(await loadConfig({ DATA_DIR: dir, JWT_PUBLIC_KEY_FILE: file })).jwt;
    assert.equal(verification.kind === 'public-key' ? verification.algorithm : undefined, 'ES256');
  });

  test('an EC key on another curve is refused', async () => {
    const publicKey = pem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey);
    const errors = errorsOf(await load({ JWT_PUBLIC_KEY: publicKey }));
    findError(errors, /^JWT_PUBLIC_KEY: only RSA \(RS256\) and EC P-256 \(ES256\)/);
  });

  test('an Ed25519 key is refused', async () => {
    const publicKey = pem(generateKeyPairSync('ed25519').publicKey);
    const errors = errorsOf(await load({ JWT_PUBLIC_KEY: publicKey }));
    findError(errors, /^JWT_PUBLIC_KEY: only RSA/);
  });

  test('something that only looks like PEM is refused', async () => {
    const errors = errorsOf(await load({ JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }));
    findError(errors, /^JWT_PUBLIC_KEY: not a PEM public key/);
  });
});

describe('loadConfig: POLICY_FILE', () => {
  test('a valid YAML policy file is used instead of the development policy', async () => {
    const dir = await freshDir();
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(policyFile, POLICY_YAML);
    const config = configOf(await loadConfig({ DATA_DIR: dir, POLICY_FILE: policyFile }));
    assert.deepEqual(
      config.policy.rules.map((rule) => rule.id),
      ['from-file'],
    );
    assert.ok(!config.developmentDefaults.some((item) => item.startsWith('policy:')));
  });

  test('a missing file is refused, naming POLICY_FILE and the path', async () => {
    const dir = await freshDir();
    const policyFile = join(dir, 'missing.yaml');
    const errors = errorsOf(await loadConfig({ DATA_DIR: dir, POLICY_FILE: policyFile }));
    const error = findError(errors, /^POLICY_FILE: /);
    assert.ok(error.includes(policyFile), error);
    assert.match(error, /ENOENT/);
  });

  test('every problem of an invalid policy file is reported, each under POLICY_FILE', async () => {
    const dir = await freshDir();
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(
      policyFile,
      'version: 1\nrules:\n  - id: a\n    actions: [read]\n  - id: a\n    actions: [read]\n    resources: ["?"]\n',
    );
    const errors = errorsOf(await loadConfig({ DATA_DIR: dir, POLICY_FILE: policyFile }));
    findError(errors, /^POLICY_FILE: rule "a" names no resources and no bundles$/);
    findError(errors, /^POLICY_FILE: rule "a" is defined twice$/);
    findError(errors, /^POLICY_FILE: rule "a": pattern "\?"/);
    assert.equal(errors.length, 3, errors.join('\n'));
  });
});

describe('the upload lifecycle settings', () => {
  test('defaults: a 15-minute grace, a sweep a minute, rejected objects deleted, no queue, no webhooks', async () => {
    const { uploads, webhooks } = configOf(await load());
    assert.deepEqual(uploads, { graceSeconds: 900, sweepIntervalMs: 60_000, quarantinePrefix: undefined, eventsQueue: undefined });
    assert.equal(webhooks, undefined);
  });

  test('a quarantine a rule could grant is refused, naming the rule', async () => {
    const errors = errorsOf(await load({ UPLOAD_QUARANTINE_PREFIX: 'public/quarantine/' }));
    findError(errors, /^UPLOAD_QUARANTINE_PREFIX: rule "dev-public": resource "public\/\*" may match keys under public\/quarantine\//);
    assert.equal(configOf(await load({ UPLOAD_QUARANTINE_PREFIX: 'quarantine/' })).uploads.quarantinePrefix, 'quarantine/');
  });

  test('webhooks: URLs need the secret, the secret needs URLs, and the secret is never shown', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    findError(errorsOf(await load({ WEBHOOK_URLS: 'https://app.example.com/hooks' })), /^WEBHOOK_SECRET: required with WEBHOOK_URLS/);
    findError(errorsOf(await load({ WEBHOOK_SECRET: secret })), /^WEBHOOK_SECRET: set, but WEBHOOK_URLS names no receiver/);
    const short = errorsOf(await load({ WEBHOOK_URLS: 'https://a.example/h', WEBHOOK_SECRET: 'whsec_c2hvcnQ=' }));
    findError(short, /^WEBHOOK_SECRET: holds 5 bytes/);
    assert.ok(!short.join('\n').includes('c2hvcnQ='), 'the secret is not echoed');
    findError(
      errorsOf(await load({ WEBHOOK_URLS: 'https://user:pw@a.example/h', WEBHOOK_SECRET: secret })),
      /^WEBHOOK_URLS: "https:\/\/a.example\/h" is not/,
    );
    const { webhooks } = configOf(await load({ WEBHOOK_URLS: 'https://a.example/h, https://b.example/h', WEBHOOK_SECRET: secret }));
    assert.deepEqual(webhooks?.urls, ['https://a.example/h', 'https://b.example/h']);
    assert.equal(webhooks?.maxAttempts, 12);
  });
});
