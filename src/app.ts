import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import { auditPlugin } from './audit/audit-plugin.js';
import { decisionRecorderPlugin, type DecisionRecorder } from './audit/decision-recorder.js';
import { authenticationPlugin } from './auth/authenticate.js';
import type { Config } from './config/config.js';
import { clientErrorHandler } from './errors/client-errors.js';
import { problemPlugin } from './errors/error-handler.js';
import { problemFormatter } from './errors/problem.js';
import { grantsPlugin } from './grants/grants-plugin.js';
import { lifecyclePlugin, type LifecycleStore } from './lifecycle/lifecycle-plugin.js';
import { docsPlugin } from './plugins/docs.js';
import { jsonBodyPlugin } from './plugins/json-body.js';
import { rateLimitsPlugin } from './plugins/rate-limits.js';
import { metricsPlugin } from './plugins/metrics.js';
import { adminRoutes } from './routes/admin.js';
import { bundleRoutes } from './routes/bundles.js';
import { downloadRoutes } from './routes/downloads.js';
import { operationRoutes } from './routes/operations.js';
import { companionS3Routes } from './routes/companion-s3.js';
import { COMPANION_PREFIX, companionFormatter, isCompanionUrl } from './errors/companion.js';
import { myEntitlementsRoutes } from './routes/my-entitlements.js';
import { multipartRoutes } from './routes/multipart.js';
import { uppySignRoutes } from './routes/uppy-sign.js';
import { uploadRoutes } from './routes/uploads.js';
import { uploadStatusRoutes } from './routes/upload-status.js';
import { s3ObjectsPlugin, type S3Objects } from './objects/s3-objects.js';
import { multipartStorePlugin, type MultipartStore } from './store/multipart-store.js';
import { cloudfrontSignerPlugin } from './signing/cloudfront-signer.js';
import { s3SignerPlugin, type S3Signer } from './signing/s3-signer.js';
import { entitlementStorePlugin, type EntitlementStore } from './store/entitlement-store.js';
import { loggerOptions } from './logging/logger-options.js';
import { requestLogPlugin } from './logging/request-log.js';

export interface AppOptions {
  readonly config: Config;
  /** Replace the configured ports (tests, fault injection). Whoever passes one in owns it and closes it. */
  readonly store?: EntitlementStore;
  readonly s3Signer?: S3Signer;
  readonly s3Objects?: S3Objects;
  readonly multipartStore?: MultipartStore;
  readonly lifecycleStore?: LifecycleStore;
  /** Told about every decision, beside the log and metrics. */
  readonly decisionRecorder?: DecisionRecorder;
  readonly now?: () => Date;
  readonly logger?: FastifyServerOptions['logger'];
  /** More routes behind the token check, with the grant routes' hooks (the bench's authenticated no-op). */
  readonly authenticatedRoutes?: FastifyPluginAsync;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/u;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  // Fastify's logger does not exist yet when the server is made, so the handler reaches it late.
  let clientError: (error: Error, socket: Socket) => void = () => undefined;
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    // A caller's x-request-id is kept when it is harmless, so traces join up across services.
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    requestIdHeader: false,
    logController: new LogController({ disableRequestLogging: true }), // one line per request instead, from requestLogPlugin
    trustProxy: config.trustProxy,
    bodyLimit: 256 * 1024,
    // S3's multipart upload ids run past the router's default 100 characters (LocalStack's are 128).
    routerOptions: { maxParamLength: 1024 },
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    // Unknown properties are refused rather than dropped, and "12" is not a number: typos surface as 400s.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    // Responses are the broker's own: a union's branch (a grant or its refusal, per key) is told by its required
    // properties. Checking every outgoing date-time's format as well cost about half a microsecond a key.
    serializerOpts: { ajv: { validateFormats: false } },
    // Router errors (malformed percent-encoding, over-long path parameters) happen before any
    // plugin runs; without this they would answer in Fastify's own shape.
    clientErrorHandler: (error, socket) => clientError(error, socket),
    frameworkErrors: (error, request, reply) => {
      const detail = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed';
      const formatter = isCompanionUrl(request.url) ? companionFormatter : problemFormatter;
      formatter.send(request, reply, { code: 'BROKER_VALIDATION', detail });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  clientError = clientErrorHandler(app.log);

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
  });

  await app.register(problemPlugin);
  await app.register(jsonBodyPlugin);
  await app.register(cookie);
  await app.register(cors, {
    origin: [...config.corsOrigins],
    credentials: true, // bundle cookies are set on cross-origin fetches with credentials: 'include'
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'idempotency-key'],
    exposedHeaders: ['x-request-id', 'retry-after', 'idempotent-replayed'],
    maxAge: 600,
  });
  await app.register(metricsPlugin);
  await app.register(requestLogPlugin, { sampleRate: config.logRequestSampleRate });
  await app.register(docsPlugin);
  await app.register(authenticationPlugin, { config });
  await app.register(rateLimitsPlugin, { config: config.rateLimits });

  // Ports: each plugin opens, decorates and closes what it owns.
  await app.register(entitlementStorePlugin, { config: config.store, cache: config.decisionCache, store: options.store });
  await app.register(multipartStorePlugin, { config: config.store, store: options.multipartStore });
  await app.register(s3SignerPlugin, { config: config.s3, signer: options.s3Signer });
  await app.register(s3ObjectsPlugin, { config: config.s3, objects: options.s3Objects });
  await app.register(cloudfrontSignerPlugin, { config: config.cloudfront });
  await app.register(auditPlugin, { config: config.audit, store: config.store });
  await app.register(decisionRecorderPlugin, { also: options.decisionRecorder });
  await app.register(lifecyclePlugin, { config, store: options.lifecycleStore, now: options.now });
  await app.register(grantsPlugin, { config, now: options.now ?? (() => new Date()) });

  await app.register(operationRoutes);
  // Everything registered in this context needs a verified token; nothing outside it does.
  await app.register(async (authenticated) => {
    authenticated.addHook('onRequest', (request) => authenticated.authenticate(request));
    // After authentication, so the subject is known; before the body is parsed, so a flood costs little.
    authenticated.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config.grantKind !== undefined) await authenticated.limitGrants(request, reply);
    });
    // A grant is a bearer credential: no shared cache or browser history may keep it.
    authenticated.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
    });
    await authenticated.register(uploadRoutes);
    await authenticated.register(uploadStatusRoutes, { config });
    await authenticated.register(multipartRoutes);
    await authenticated.register(uppySignRoutes);
    // Uppy 5's Companion protocol, with Companion's error shape inside its prefix only.
    await authenticated.register(companionS3Routes, { prefix: COMPANION_PREFIX });
    await authenticated.register(downloadRoutes);
    await authenticated.register(bundleRoutes, { config });
    await authenticated.register(myEntitlementsRoutes);
    await authenticated.register(adminRoutes, { config });
    if (options.authenticatedRoutes) await authenticated.register(options.authenticatedRoutes);
  });
  return app;
}
