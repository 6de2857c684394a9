import { randomBytes } from 'node:crypto';
import { PutBucketNotificationConfigurationCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SQSClient, type QueueAttributeName } from '@aws-sdk/client-sqs';
import type { S3Config } from '../../src/config/config.js';
import { createS3Client } from '../../src/signing/s3-signer.js';

export interface S3EventQueue {
  /** The queue's URL as SQS gave it (LocalStack's names sqs.<region>.localhost.localstack.cloud). */
  readonly queueUrl: string;
  /** The SQS endpoint (AWS_ENDPOINT_URL_SQS, or the LocalStack S3_ENDPOINT names). */
  readonly endpoint: string;
  /** A client for that endpoint, with the tests' credentials. */
  readonly client: SQSClient;
  /** Messages waiting and messages received but not yet deleted. */
  depth(): Promise<{ visible: number; inFlight: number }>;
  stop(): Promise<void>;
}

const HOW_TO_PROVIDE = `The S3 event tests need LocalStack with S3 and SQS, one notifying the other, and found none.
Provide one of:
  - \`npm run s3\` in another terminal (LocalStack with s3,secretsmanager,sqs), then S3_ENDPOINT=http://127.0.0.1:4566 npm test;
  - S3_ENDPOINT=http://127.0.0.1:4566 for a LocalStack with sqs among its SERVICES
    (or AWS_ENDPOINT_URL_SQS naming the SQS of the LocalStack S3_ENDPOINT names);
  - on a bare Linux machine: \`bash .ci/run\`.
The testcontainers LocalStack the S3 tests start runs S3 alone, so it cannot serve these.`;

/** LocalStack's services and their states, or undefined when `endpoint` answers but is not LocalStack (versitygw). */
async function localStackServices(endpoint: string): Promise<Record<string, string> | undefined> {
  const health = await fetch(new URL('/_localstack/health', endpoint), { signal: AbortSignal.timeout(2_000) });
  try {
    return ((await health.json()) as { services?: Record<string, string> }).services;
  } catch {
    return undefined;
  }
}

/**
 * Why the S3 event tests cannot run against this S3, or false. Only LocalStack's S3 can notify an SQS queue here:
 * with S3_ENDPOINT naming another S3 (CI's versitygw run) they are skipped; the LocalStack run covers them. An
 * endpoint that does not answer is no reason to skip: the tests then fail, saying so.
 */
export async function s3EventsSkipReason(): Promise<string | false> {
  const endpoint = process.env.S3_ENDPOINT;
  if (!endpoint) return false;
  const services = await localStackServices(endpoint).catch(() => 'unreachable');
  return services === undefined ? `S3_ENDPOINT (${endpoint}) is not LocalStack: that S3 cannot notify an SQS queue` : false;
}

/**
 * A fresh queue on the LocalStack behind `s3` (or AWS_ENDPOINT_URL_SQS), and `s3`'s bucket configured to notify it
 * of every s3:ObjectCreated:* event. Configuring it makes S3 send its s3:TestEvent first, as on AWS.
 */
export async function startS3EventQueue(s3: S3Config): Promise<S3EventQueue> {
  let endpoint = process.env.AWS_ENDPOINT_URL_SQS;
  if (!endpoint && s3.endpoint) {
    const state = (await localStackServices(s3.endpoint).catch(() => undefined))?.sqs ?? '';
    if (['available', 'running'].includes(state)) endpoint = s3.endpoint;
  }
  if (!endpoint) throw new Error(HOW_TO_PROVIDE);
  const client = new SQSClient({ region: s3.region, endpoint, ...(s3.credentials ? { credentials: s3.credentials } : {}) });
  const { QueueUrl: queueUrl } = await client.send(new CreateQueueCommand({ QueueName: `broker-it-${randomBytes(4).toString('hex')}` }));
  if (!queueUrl) throw new Error('CreateQueue returned no QueueUrl');
  const attributes = async (...names: QueueAttributeName[]): Promise<Partial<Record<string, string>>> =>
    (await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }))).Attributes ?? {};
  const { QueueArn } = await attributes('QueueArn');
  const s3Client = createS3Client(s3);
  try {
    await s3Client.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: s3.bucket,
        NotificationConfiguration: { QueueConfigurations: [{ QueueArn, Events: ['s3:ObjectCreated:*'] }] },
      }),
    );
  } finally {
    s3Client.destroy();
  }
  return {
    queueUrl,
    endpoint,
    client,
    async depth() {
      const counts = await attributes('ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible');
      return { visible: Number(counts.ApproximateNumberOfMessages), inFlight: Number(counts.ApproximateNumberOfMessagesNotVisible) };
    },
    async stop() {
      await client.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
      client.destroy();
    },
  };
}
