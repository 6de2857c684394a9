import { CreateSecretCommand, DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { dockerAvailable, LOCALSTACK_IMAGE } from './s3-endpoint.js';

export interface SecretsManager {
  /** What the broker reads: AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly endpoint: string;
  /** Stores `text` as a new secret and returns its name. */
  createSecret(text: string): Promise<string>;
  stop(): Promise<void>;
}

const HOW_TO_PROVIDE = `The key-ring tests need Secrets Manager and found none.
Provide one of:
  - \`npm run s3\` (LocalStack with S3 and Secrets Manager), then S3_ENDPOINT=http://127.0.0.1:4566 npm test;
  - AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:4566 (a LocalStack with secretsmanager among its SERVICES);
  - a running Docker engine: the tests then start ${LOCALSTACK_IMAGE} with testcontainers;
  - on a bare Linux machine: \`bash .ci/run\`.`;

/** S3_ENDPOINT itself when it is a LocalStack serving Secrets Manager too (`npm run s3` starts both). */
async function localStackBehind(s3Endpoint: string | undefined): Promise<string | undefined> {
  if (!s3Endpoint) return undefined;
  try {
    const health = await fetch(new URL('/_localstack/health', s3Endpoint), { signal: AbortSignal.timeout(2_000) });
    const { services } = (await health.json()) as { services?: Record<string, string> };
    return ['available', 'running'].includes(services?.secretsmanager ?? '') ? s3Endpoint : undefined;
  } catch {
    return undefined; // not LocalStack (versitygw, AWS)
  }
}

/**
 * LocalStack's Secrets Manager: AWS_ENDPOINT_URL_SECRETS_MANAGER from the environment, else S3_ENDPOINT when it is
 * that LocalStack, else LocalStack through
 * testcontainers where Docker runs, else a failure that says how to provide one. The broker reads secrets with the
 * default credential chain; LocalStack takes any, so test/test stand in where none are set.
 */
export async function startSecretsManager(): Promise<SecretsManager> {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  let endpoint = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? (await localStackBehind(process.env.S3_ENDPOINT));
  let stopContainer = async (): Promise<void> => undefined;
  if (!endpoint) {
    if (!dockerAvailable()) throw new Error(HOW_TO_PROVIDE);
    const { LocalstackContainer } = await import('@testcontainers/localstack');
    const container = await new LocalstackContainer(LOCALSTACK_IMAGE).withEnvironment({ SERVICES: 'secretsmanager' }).start();
    endpoint = container.getConnectionUri();
    stopContainer = async () => void (await container.stop());
  }
  const client = new SecretsManagerClient({ region: process.env.AWS_REGION ?? 'us-east-1', endpoint });
  const created: string[] = [];
  return {
    endpoint,
    async createSecret(text) {
      const name = `access-broker-test/${randomBytes(6).toString('hex')}`;
      await client.send(new CreateSecretCommand({ Name: name, SecretString: text }));
      created.push(name);
      return name;
    },
    async stop() {
      for (const name of created) await client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
      client.destroy();
      await stopContainer();
    },
  };
}
