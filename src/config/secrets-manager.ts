/** Where a secret is read from: the broker's region, and an endpoint only for a local stand-in (LocalStack). */
export interface SecretsManagerAccess {
  readonly region: string;
  readonly endpoint: string | undefined;
}

/**
 * The text of one secret (its SecretString), read once at start-up with the AWS default credential chain.
 * Bounded: a few seconds and one retry, so an unreachable service stops the start rather than hanging it.
 * The SDK is loaded only here, so brokers without the secret never pay for it.
 */
export async function readSecretString(secretId: string, access: SecretsManagerAccess): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({
    region: access.region,
    ...(access.endpoint === undefined ? {} : { endpoint: access.endpoint }),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 },
  });
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (SecretString === undefined) throw new Error('the secret holds binary data, not the key ring text');
    return SecretString;
  } finally {
    client.destroy();
  }
}
