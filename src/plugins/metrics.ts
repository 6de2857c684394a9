import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { GrantKind } from '../audit/decision-recorder.js';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry; other plugins add their metrics to it. */
    metricsRegistry: Registry;
  }
  interface FastifyContextConfig {
    /** Names the route in logs and metrics. */
    operation?: string;
    /** Set on grant routes: their count and latency are exported by kind and outcome. */
    grantKind?: GrantKind;
  }
}

const outcomeOf = (status: number): string => {
  if (status < 300) return 'granted';
  if (status === 401) return 'unauthenticated';
  if (status === 403 || status === 404) return 'denied';
  if (status < 500) return 'invalid';
  return 'error';
};

/** Prometheus metrics on a registry of this app's own, so many apps (tests) can live in one process. */
export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    app.decorate('metricsRegistry', registry);
    const grants = new Counter({
      name: 'broker_grants_total',
      help: 'Grant requests by kind and outcome (granted, denied, invalid, unauthenticated, error).',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    });
    const latency = new Histogram({
      name: 'broker_grant_duration_seconds',
      help: 'Time to answer a grant request, by kind and outcome.',
      labelNames: ['kind', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });

    app.addHook('onResponse', async (request, reply) => {
      const kind = request.routeOptions.config.grantKind;
      if (kind === undefined) return;
      const labels = { kind, outcome: outcomeOf(reply.statusCode) };
      grants.inc(labels);
      latency.observe(labels, reply.elapsedTime / 1000);
    });

    app.get('/metrics', { schema: { hide: true }, config: { operation: 'metrics' } }, async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  },
  { name: 'access-broker-metrics' },
);
