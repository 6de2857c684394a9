import { dockerAvailable } from './s3-endpoint.js';

export const REDIS_IMAGE = 'redis:7';

const HOW_TO_PROVIDE = `The Redis tests need a server and found none.
Provide one of:
  - \`npm run redis\` in another terminal, then TEST_REDIS_URL=redis://127.0.0.1:56379;
  - a running Docker engine: the tests then start ${REDIS_IMAGE} with testcontainers;
  - on a bare Linux machine: \`bash .ci/run\`.`;

/** A Redis for tests: TEST_REDIS_URL, else redis:7 through testcontainers where Docker runs, else a failure saying how to provide one. */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const url = process.env.TEST_REDIS_URL;
  if (url) return { url, stop: async () => undefined };
  if (!dockerAvailable()) throw new Error(HOW_TO_PROVIDE);
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer(REDIS_IMAGE).start();
  return { url: container.getConnectionUrl(), stop: async () => void (await container.stop()) };
}
