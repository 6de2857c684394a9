import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { authenticationPlugin } from './auth/authenticate.js';
import type { Config } from './config/config.js';
import { problemPlugin, sendProblem } from './errors/problem.js';
import { docsPlugin } from './plugins/docs.js';
import { metricsPlugin } from './plugins/metrics.js';
import { bundleRoutes } from './routes/bundles.js';
import { downloadRoutes } from './routes/downloads.js';
import { operationRoutes } from './routes/operations.js';
import { uploadRoutes } from './routes/uploads.js';
import { grantsPlugin } from './services/grants-plugin.js';
import { createCloudFrontSigner } from './signing/cloudfront-signer.js';
import { createS3Signer, type S3Signer } from './signing/s3-signer.js';
import type { EntitlementStore } from './store/entitlement-store.js';
import { openSqliteStore } from './store/sqlite-store.js';

export interface AppOptions {
  readonly config: Config;
  /** Replaces the SQLite store in DATA_DIR (tests, fault injection). */
  readonly store?: EntitlementStore;
  readonly s3Signer?: S3Signer;
  readonly now?: () => Date;
  readonly logger?: FastifyServerOptions['logger'];
}

/**
 * Never logged: tokens, cookies, signatures, policies. Fastify's request
 * serializer logs no headers; these paths cover anything that adds them.
 */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'token',
  'url',
  'fields',
  'cookies',
  'signature',
  'policy',
];

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/u;

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return { level: config.logLevel, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    // A caller's x-request-id is kept when it is harmless, so traces join up across services.
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    requestIdHeader: false,
    trustProxy: config.trustProxy,
    bodyLimit: 256 * 1024,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    // Unknown properties are refused rather than dropped, and "12" is not a number: typos surface as 400s.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    // Router errors (malformed percent-encoding, over-long path parameters) happen before any
    // plugin runs; without this they would answer in Fastify's own shape.
    frameworkErrors: (error, request, reply) => {
      const detail = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed';
      sendProblem(request, reply, 'BROKER_VALIDATION', detail);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const store = options.store ?? (await openSqliteStore(join(config.dataDir, 'entitlements.sqlite')));
  const s3 = options.s3Signer ?? createS3Signer(config.s3);
  const cloudfront = config.cloudfront ? createCloudFrontSigner(config.cloudfront) : undefined;
  app.addHook('onReady', async () => {
    // Not fatal: credentials may appear later (a role being attached); /readyz reports it, and the first grant retries.
    await s3.prepare().catch((error: unknown) => app.log.warn({ err: error }, 'S3 presigning could not be prepared at start-up'));
  });
  app.addHook('onClose', async () => {
    s3.close();
    await store.close();
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
  });

  await app.register(problemPlugin);
  await app.register(cookie);
  await app.register(cors, {
    origin: [...config.corsOrigins],
    credentials: true, // bundle cookies are set on cross-origin fetches with credentials: 'include'
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
    exposedHeaders: ['x-request-id'],
    maxAge: 600,
  });
  await app.register(metricsPlugin);
  await app.register(docsPlugin);
  await app.register(authenticationPlugin, { config });
  await app.register(grantsPlugin, { config, store, s3, cloudfront, now: options.now ?? (() => new Date()) });

  await app.register(operationRoutes, { store, s3 });
  // Everything registered in this context needs a verified token; nothing outside it does.
  await app.register(async (authenticated) => {
    authenticated.addHook('onRequest', (request) => authenticated.authenticate(request));
    // A grant is a bearer credential: no shared cache or browser history may keep it.
    authenticated.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });
    await authenticated.register(uploadRoutes);
    await authenticated.register(downloadRoutes);
    await authenticated.register(bundleRoutes, { config });
  });
  return app;
}
