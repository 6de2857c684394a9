import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../../src/config/config.js';

/** LocalStack's last image that starts without an account token. */
export const LOCALSTACK_IMAGE = 'localstack/localstack:4.14.0';

export interface S3Endpoint {
  readonly config: S3Config;
  stop(): Promise<void>;
}

export function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const HOW_TO_PROVIDE = `The integration tests need a real S3 endpoint and found none.
Provide one of:
  - \`npm run s3\` in another terminal, then S3_ENDPOINT=http://127.0.0.1:4566 npm test;
  - S3_ENDPOINT=http://127.0.0.1:4566 (LocalStack 4.14.0 with S3_SKIP_SIGNATURE_VALIDATION=0, or another S3 server),
    with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY if it is not LocalStack's test/test;
  - a running Docker engine: the tests then start ${LOCALSTACK_IMAGE} with testcontainers;
  - on a bare Linux machine: \`bash .ci/run\` installs and starts LocalStack natively, then runs the tests.`;

async function createBucket(config: S3Config): Promise<void> {
  const client = new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    ...(config.credentials ? { credentials: config.credentials } : {}),
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: config.bucket }));
  } finally {
    client.destroy();
  }
}

/**
 * The S3 endpoint for integration tests: S3_ENDPOINT from the environment,
 * else LocalStack through testcontainers where Docker runs, else a failure
 * that says how to provide one. These tests never pass without an S3.
 */
export async function startS3Endpoint(): Promise<S3Endpoint> {
  const bucket = `broker-it-${randomBytes(4).toString('hex')}`;
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const endpoint = process.env.S3_ENDPOINT;
  if (endpoint) {
    const config: S3Config = {
      region,
      bucket,
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' },
    };
    await createBucket(config);
    return { config, stop: async () => undefined };
  }
  if (!dockerAvailable()) throw new Error(HOW_TO_PROVIDE);
  const { LocalstackContainer } = await import('@testcontainers/localstack');
  const container = await new LocalstackContainer(LOCALSTACK_IMAGE)
    .withEnvironment({ SERVICES: 's3', S3_SKIP_SIGNATURE_VALIDATION: '0' })
    .start();
  const config: S3Config = {
    region,
    bucket,
    endpoint: container.getConnectionUri(),
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  await createBucket(config);
  return { config, stop: async () => void (await container.stop()) };
}
