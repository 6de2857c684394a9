import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RateLimitConfig } from '../config/config.js';
import { BrokerError } from '../errors/catalogue.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Counts a grant request against its subject's and its address's limits; throws 429 past either. */
    limitGrants(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /** False while grants would be refused for want of Redis (RATE_LIMIT_ON_STORE_FAILURE=closed): /readyz says so. */
    rateLimitsReady(): Promise<boolean>;
  }
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * Rate limits on grant routes, per subject and per client address (IPv6 grouped by /64, so one host cannot
 * rotate its way around it), with @fastify/rate-limit: in memory, or in Redis (REDIS_URL) so every replica
 * counts against the same limits. When Redis fails, RATE_LIMIT_ON_STORE_FAILURE decides: `open` lets grants
 * through (logged), `closed` answers 503.
 */
export const rateLimitsPlugin = fp(
  async (app: FastifyInstance, { config }: { config: RateLimitConfig }) => {
    if (config.perSubject === 0 && config.perAddress === 0) {
      app.decorate('limitGrants', async () => undefined);
      app.decorate('rateLimitsReady', async () => true);
      return;
    }
    // Loaded only when used, like the PostgreSQL driver.
    const redis =
      config.redisUrl === undefined
        ? undefined
        : new (await import('ioredis')).Redis(config.redisUrl, {
            // Fail fast rather than queue: a request must not wait for Redis to come back.
            enableOfflineQueue: false,
            maxRetriesPerRequest: 0,
            connectTimeout: 1000,
            commandTimeout: 500,
            retryStrategy: (attempts) => Math.min(attempts * 200, 2000),
            lazyConnect: true,
          });
    // Without a listener an unreachable Redis would crash the process; each request reports its own failure.
    redis?.on('error', () => undefined);
    if (redis) {
      // Connected before the first request, which would otherwise find no connection and go uncounted.
      // Redis down at start-up stops nothing: requests meet RATE_LIMIT_ON_STORE_FAILURE until it is back.
      await redis.connect().catch((error: unknown) => app.log.warn({ err: error }, 'Redis for rate limits is unreachable at start-up'));
      app.addHook('onClose', async () => void redis.disconnect());
    }

    app.decorate('rateLimitsReady', async () => {
      if (redis === undefined || config.onStoreFailure === 'open') return true;
      return redis.ping().then(
        () => true,
        () => false,
      );
    });
    // In memory, room for many more counters than the plugin's default 5,000, so a flood of addresses cannot push
    // the subjects' counters out (and reset them).
    await app.register(rateLimit, { global: false, ...(redis ? { redis, nameSpace: 'access-broker:rate:' } : { cache: 100_000 }) });
    const limiters: [string, Limiter][] = [];
    if (config.perAddress > 0) {
      limiters.push(['address', app.createRateLimit({ max: config.perAddress, timeWindow: config.windowMs })]);
    }
    if (config.perSubject > 0) {
      const bySubject = app.createRateLimit({
        max: config.perSubject,
        timeWindow: config.windowMs,
        keyGenerator: (request) => `sub:${request.principal.sub}`,
      });
      limiters.push(['subject', bySubject]);
    }

    app.decorate('limitGrants', async (request: FastifyRequest, reply: FastifyReply) => {
      for (const [name, limiter] of limiters) {
        let outcome: Awaited<ReturnType<Limiter>>;
        try {
          outcome = await limiter(request);
        } catch (error) {
          if (config.onStoreFailure === 'closed') {
            throw new BrokerError('BROKER_RATE_LIMIT_UNAVAILABLE', 'rate limits cannot be checked right now; retry shortly', {
              cause: error,
            });
          }
          request.log.warn(
            { err: error, limit: name },
            'rate limit store failed; letting the request through (RATE_LIMIT_ON_STORE_FAILURE=open)',
          );
          return;
        }
        if (outcome.isAllowed || !outcome.isExceeded) continue;
        const retryAfter = String(Math.max(1, outcome.ttlInSeconds));
        reply.header('ratelimit-limit', outcome.max);
        throw new BrokerError('BROKER_RATE_LIMITED', `too many grant requests for this ${name}; retry in ${retryAfter} s`, {
          headers: { 'retry-after': retryAfter },
        });
      }
    });
  },
  { name: 'access-broker-rate-limits' },
);
