import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.js';
import { loggerOptions } from '../../src/logging/logger-options.js';
import { testConfig } from './config.js';

/**
 * An app on an in-memory store (testConfig's); close it with `after(() => app.close())`.
 * A store passed in belongs to the test, and is closed with the app for convenience.
 */
export async function testApp(options: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  const app = await buildApp({ ...options, config: options.config ?? testConfig(), logger: options.logger ?? false });
  const { store } = options;
  if (store) app.addHook('onClose', async () => store.close());
  return app;
}

/** Collects every log line the app writes, with the production redaction settings. */
export function capturedLogger(config = testConfig(), level: string = 'trace'): { logger: AppOptions['logger']; lines: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const options = loggerOptions({ ...config, logLevel: level });
  return { logger: { ...options, stream }, lines: () => chunks.join('') };
}

export type { FastifyInstance };
