import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp, loggerOptions, type AppOptions } from '../../src/app.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { testConfig } from './config.js';

/** An app on an in-memory store; close it with `after(() => app.close())`. */
export async function testApp(options: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  return buildApp({
    config: options.config ?? testConfig(),
    store: options.store ?? (await openSqliteStore(':memory:')),
    logger: options.logger ?? false,
    ...(options.s3Signer ? { s3Signer: options.s3Signer } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}

/** Collects every log line the app writes, with the production redaction settings. */
export function capturedLogger(config = testConfig()): { logger: AppOptions['logger']; lines: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const options = loggerOptions({ ...config, logLevel: 'trace' });
  return { logger: { ...(options as object), stream }, lines: () => chunks.join('') };
}

export type { FastifyInstance };
