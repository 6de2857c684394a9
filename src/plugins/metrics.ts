import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { GrantKind } from '../audit/decision-recorder.js';
import { collectDefaultMetrics, Counter, Histogram, Registry, type CounterConfiguration, type LabelValues } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry; other plugins add their metrics to it. */
    metricsRegistry: Registry;
    /** `broker_grants_total` by kind and outcome: counted per decision by the recorder, per refused request here. */
    grantsCounter: (kind: GrantKind, outcome: string) => CountingChild;
  }
  interface FastifyRequest {
    /** Decisions made for this request: grant metrics and the request's log line count those, not the HTTP status. */
    decisionsAllowed: number;
    decisionsDenied: number;
    /** The last decision's rule or entitlement (`rule:own-uploads`), or its denial code. */
    decidedBy: string;
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

/**
 * A metric's child for each combination of label values, made once rather than on every request. Label values here
 * come from small, fixed sets (kinds, outcomes, rule ids), so the cache stays small.
 */
function childrenOf<T>(labels: (...values: string[]) => T): (...values: string[]) => T {
  const children = new Map<string, T>();
  return (...values) => {
    const key = values.join('\n');
    let child = children.get(key);
    if (child === undefined) {
      child = labels(...values);
      children.set(key, child);
    }
    return child;
  };
}

/** A child of a counter made by deferredCounter. */
export interface CountingChild {
  inc(): void;
}

class PendingCount implements CountingChild {
  pending = 0;

  constructor(readonly labels: LabelValues<string>) {}

  inc(): void {
    this.pending += 1;
  }
}

/**
 * A counter whose children add to plain numbers, folded into prom-client when the registry is collected (a scrape).
 * prom-client hashes and checks a child's labels on every inc: a download of 10 keys paid that 20 times. Label values
 * come from small, fixed sets (kinds, outcomes, rule ids), so the children stay few.
 */
export function deferredCounter(configuration: CounterConfiguration<string>): (...values: string[]) => CountingChild {
  const labelNames = configuration.labelNames ?? [];
  const children: PendingCount[] = [];
  new Counter({
    ...configuration,
    collect() {
      for (const child of children) {
        if (child.pending === 0) continue;
        this.inc(child.labels, child.pending);
        child.pending = 0;
      }
    },
  });
  return childrenOf((...values) => {
    const child = new PendingCount(Object.fromEntries(labelNames.map((name, index) => [name, values[index] ?? ''])));
    children.push(child);
    return child;
  });
}

/** Prometheus metrics on a registry of this app's own, so many apps (tests) can live in one process. */
export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    app.decorate('metricsRegistry', registry);
    app.decorateRequest('decisionsAllowed', 0);
    app.decorateRequest('decisionsDenied', 0);
    app.decorateRequest('decidedBy', '');
    // Counted per decision (granted, denied: one per key of a download) by the decision recorder, and per request
    // here only when the request ended before any decision (unauthenticated, invalid, error).
    const grantsBy = deferredCounter({
      name: 'broker_grants_total',
      help: 'Grants by kind and outcome: granted or denied per decision; unauthenticated, invalid, denied or error for requests refused before one.',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    });
    app.decorate('grantsCounter', grantsBy);
    const latency = new Histogram({
      name: 'broker_grant_duration_seconds',
      help: 'Time to answer a grant request, by kind and outcome.',
      labelNames: ['kind', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });

    const latencyBy = childrenOf((...values) => latency.labels(...values));
    app.addHook('onResponse', async (request, reply) => {
      const kind = request.routeOptions.config.grantKind;
      if (kind === undefined) return;
      const outcome = outcomeOf(reply.statusCode);
      if (request.decisionsAllowed + request.decisionsDenied === 0) grantsBy(kind, outcome).inc();
      latencyBy(kind, outcome).observe(reply.elapsedTime / 1000);
    });

    app.get('/metrics', { schema: { hide: true }, config: { operation: 'metrics' } }, async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  },
  { name: 'access-broker-metrics' },
);
