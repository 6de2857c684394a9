import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { loadDevelopmentSecrets } from '../../../src/config/development-secrets.js';

const made: string[] = [];
after(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

const pem = (key: { export: (options: { type: 'pkcs8'; format: 'pem' }) => string | Buffer }): string =>
  key.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A production environment that loads, in a fresh DATA_DIR; each test changes one thing. */
async function production(): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'broker-production-'));
  made.push(dir);
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, 'version: 1\nrules: []\n');
  return {
    NODE_ENV: 'production',
    DATA_DIR: dir,
    S3_BUCKET: 'my-app-uploads',
    POLICY_FILE: policyFile,
    JWT_SECRET: randomBytes(32).toString('base64'),
  };
}

async function problemsOf(env: Record<string, string>): Promise<string[]> {
  const result = await loadConfig(env);
  return result.ok ? [] : result.errors;
}

async function refused(env: Record<string, string>, pattern: RegExp): Promise<void> {
  const problems = await problemsOf(env);
  assert.ok(
    problems.some((problem) => pattern.test(problem)),
    `expected a problem matching ${pattern}, got:\n  ${problems.join('\n  ') || '(none: it loaded)'}`,
  );
}

describe('production refuses what anyone could know or guess', () => {
  test('the baseline loads: a random secret, own bucket, own policy', async () => {
    assert.deepEqual(await problemsOf(await production()), []);
  });

  test('a hex secret from `openssl rand -hex 32` loads too', async () => {
    assert.deepEqual(await problemsOf({ ...(await production()), JWT_SECRET: randomBytes(32).toString('hex') }), []);
  });

  const weakSecrets: [string, string][] = [
    ['regression: the example from .env.example and the error hint', 'a-random-string-of-at-least-32-characters'],
    ['regression: "a" × 32', 'a'.repeat(32)],
    ['"a" × 200', 'a'.repeat(200)],
    ["the test suite's secret", 'test-secret-that-is-at-least-32-characters-long'],
    ['a repeated pattern', 'Abcdefghij12345-_'.repeat(4)],
    ['a passphrase', 'correct horse battery staple and then some more words'],
    ['24 random bytes (192 bits)', randomBytes(24).toString('base64')],
  ];
  for (const [name, secret] of weakSecrets) {
    test(`JWT_SECRET: ${name} is refused, without showing it`, async () => {
      const problems = await problemsOf({ ...(await production()), JWT_SECRET: secret });
      const problem = problems.find((item) => item.startsWith('JWT_SECRET:'));
      assert.ok(problem, problems.join('\n'));
      assert.match(problem, /256 bits|publicly known/);
      assert.ok(!problem.includes(secret), 'the secret is echoed');
    });
  }

  test('JWT_SECRET: the development secret from DATA_DIR, passed explicitly, is refused', async () => {
    const env = await production();
    const { jwtSecret } = await loadDevelopmentSecrets(env.DATA_DIR!);
    await refused({ ...env, JWT_SECRET: jwtSecret }, /^JWT_SECRET: is a publicly known value/);
  });

  test('S3_ENDPOINT over plain http', async () => {
    await refused({ ...(await production()), S3_ENDPOINT: 'http://s3.internal:9000' }, /^S3_ENDPOINT: must use https/);
    assert.deepEqual(await problemsOf({ ...(await production()), S3_ENDPOINT: 'https://s3.internal:9000' }), []);
  });

  test('the development bucket name', async () => {
    await refused({ ...(await production()), S3_BUCKET: 'access-broker-dev' }, /^S3_BUCKET: "access-broker-dev" is the development bucket/);
  });

  test("LocalStack's test/test credentials", async () => {
    await refused(
      { ...(await production()), AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      /^AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY/,
    );
    await refused({ ...(await production()), AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'test' }, /LocalStack/);
  });

  test('LOG_LEVEL=trace', async () => {
    await refused({ ...(await production()), LOG_LEVEL: 'trace' }, /^LOG_LEVEL: trace/);
    assert.deepEqual(await problemsOf({ ...(await production()), LOG_LEVEL: 'debug' }), []);
  });

  test('the development CloudFront key pair, or a development key id, passed explicitly', async () => {
    const env = await production();
    const development = await loadDevelopmentSecrets(env.DATA_DIR!);
    const cloudfront = { CLOUDFRONT_DOMAIN: 'cdn.example.com', CLOUDFRONT_KEY_PAIR_ID: development.cloudfrontKeyPairId };
    await refused(
      { ...env, ...cloudfront, CLOUDFRONT_PRIVATE_KEY: development.cloudfrontPrivateKey },
      /^CloudFront key KDEV[0-9A-F]+: ids starting with KDEV/,
    );
    const devKeyFile = join(env.DATA_DIR!, 'dev-cloudfront-private.pem');
    await refused(
      { ...env, ...cloudfront, CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F', CLOUDFRONT_PRIVATE_KEY_FILE: devKeyFile },
      /^CloudFront key K2JCJMDEHXQW5F: is the development key pair/,
    );
    const own = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    assert.deepEqual(
      await problemsOf({ ...env, ...cloudfront, CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F', CLOUDFRONT_PRIVATE_KEY: own }),
      [],
    );
    assert.ok((await readFile(devKeyFile, 'utf8')).includes('PRIVATE KEY'));
  });
});

describe('COOKIE_DOMAIN on a public suffix is refused in every mode', () => {
  for (const domain of ['.com', 'com', '.co.uk', '.cloudfront.net', '.github.io', '.s3.amazonaws.com']) {
    test(`"${domain}"`, async () => {
      await refused({ ...(await production()), COOKIE_DOMAIN: domain }, /^COOKIE_DOMAIN: ".*" is a public suffix/);
      await refused({ DATA_DIR: (await production()).DATA_DIR!, COOKIE_DOMAIN: domain }, /^COOKIE_DOMAIN: ".*" is a public suffix/);
    });
  }
  test('a registrable domain, a subdomain and localhost are fine', async () => {
    for (const domain of ['.example.com', 'cdn.example.co.uk', 'localhost']) {
      assert.deepEqual(await problemsOf({ ...(await production()), COOKIE_DOMAIN: domain }), [], domain);
    }
  });
});
