import type { FastifyInstance } from 'fastify';

/**
 * The rule every port plugin follows: a port passed in belongs to whoever
 * passed it (tests, fault injection) and is not closed here; a port opened
 * here is closed with the app.
 */
export async function ownedPort<T>(
  app: FastifyInstance,
  given: T | undefined,
  open: () => T | Promise<T>,
  close: (port: T) => unknown,
): Promise<T> {
  if (given !== undefined) return given;
  const port = await open();
  app.addHook('onClose', async () => {
    await close(port);
  });
  return port;
}
