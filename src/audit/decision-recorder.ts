import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import { deferredCounter, type CountingChild } from '../plugins/metrics.js';
import type { Decision, Target } from '../policy/decide.js';
import type { Action } from '../policy/schema.js';

export type GrantKind = 'upload' | 'download' | 'bundle';

/** One authorization decision, as made: the input to logs and metrics now, and to the audit trail. */
export interface DecisionRecord {
  readonly at: Date;
  readonly requestId: string;
  readonly clientAddress: string;
  readonly subject: string;
  readonly kind: GrantKind;
  readonly action: Action;
  readonly target: Target;
  readonly decision: Decision;
}

/** The decision recorder port: every decision the authorizer makes goes through it, allowed or denied. */
export interface DecisionRecorder {
  record(record: DecisionRecord): void;
}

const targetText = (target: Target): string => (target.kind === 'key' ? target.key : target.bundleId);

/** A debug line per decision, under the request's id; at info the request's one line sums them up. */
export function logRecorder(log: FastifyBaseLogger): DecisionRecorder {
  return {
    record({ requestId, kind, target, decision }) {
      const base = { kind, target: targetText(target) };
      if (decision.allow) {
        log.debug(
          { reqId: requestId, decision: { ...base, allow: true, source: decision.source, ttlSeconds: decision.ttlSeconds } },
          'grant allowed',
        );
      } else {
        log.debug({ reqId: requestId, decision: { ...base, allow: false, code: decision.code, reason: decision.reason } }, 'grant denied');
      }
    },
  };
}

/**
 * `broker_decisions_total` by kind, outcome (`allowed` or the denial code) and
 * what decided: a rule's id, `entitlement` (ids are unbounded, so never a
 * label), or `none`.
 */
export function metricsRecorder(registry: Registry, grantsBy: (kind: GrantKind, outcome: string) => CountingChild): DecisionRecorder {
  const decisionsBy = deferredCounter({
    name: 'broker_decisions_total',
    help: 'Authorization decisions by grant kind, outcome (allowed or the denial code) and deciding rule (or "entitlement", or "none").',
    labelNames: ['kind', 'outcome', 'decided_by'],
    registers: [registry],
  });
  return {
    record({ kind, decision }) {
      const source = decision.source;
      const decidedBy = source === undefined ? 'none' : source.kind === 'rule' ? source.id : 'entitlement';
      decisionsBy(kind, decision.allow ? 'allowed' : decision.code, decidedBy).inc();
      grantsBy(kind, decision.allow ? 'granted' : 'denied').inc();
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    decisionRecorder: DecisionRecorder;
  }
}

/** Records every decision to the log, to metrics and to the audit trail, and to `also` when given (tests). */
export const decisionRecorderPlugin = fp(
  async (app: FastifyInstance, options: { also?: DecisionRecorder | undefined }) => {
    const recorders = [
      logRecorder(app.log),
      metricsRecorder(app.metricsRegistry, app.grantsCounter),
      ...app.audit.recorders,
      ...(options.also ? [options.also] : []),
    ];
    app.decorate('decisionRecorder', {
      record(record: DecisionRecord) {
        for (const recorder of recorders) recorder.record(record);
      },
    });
  },
  { name: 'access-broker-decision-recorder', dependencies: ['access-broker-metrics', 'access-broker-audit'] },
);
