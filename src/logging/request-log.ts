import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { principalOf } from '../auth/authenticate.js';

/**
 * One info line per request, written when it ends: method, route, status,
 * duration, the subject, and what decided (how many grants and denials, and
 * the last rule, entitlement or denial code). Fastify's own two request lines
 * are off; per-decision lines are at debug. Successful requests may be
 * sampled (LOG_REQUEST_SAMPLE_RATE); errors and denials never are.
 */
export const requestLogPlugin = fp(
  async (app: FastifyInstance, options: { sampleRate: number }) => {
    app.addHook('onResponse', async (request, reply) => {
      const denied = request.decisionsDenied > 0 || reply.statusCode >= 400;
      if (!denied && options.sampleRate < 1 && Math.random() >= options.sampleRate) return;
      const decided = request.decisionsAllowed + request.decisionsDenied > 0;
      request.log.info(
        {
          method: request.method,
          route: request.routeOptions.url ?? request.url.split('?')[0] ?? '/',
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          ...(principalOf(request) === undefined ? {} : { sub: principalOf(request)?.sub }),
          ...(decided ? { granted: request.decisionsAllowed, denied: request.decisionsDenied, decidedBy: request.decidedBy } : {}),
        },
        'request',
      );
    });
  },
  { name: 'access-broker-request-log', dependencies: ['access-broker-metrics'] },
);
