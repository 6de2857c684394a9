import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import type { AuditConfig, StoreConfig } from '../config/config.js';
import { auditRecordOf, type AuditStore } from './audit-record.js';
import { auditSink } from './audit-sink.js';
import { openAuditStore } from './audit-stores.js';
import type { DecisionRecorder } from './decision-recorder.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The audit trail's recorders (the log stream, the database), and the database's records for the admin API. */
    audit: { readonly recorders: readonly DecisionRecorder[]; readonly store: AuditStore | undefined };
  }
}

/** One info line per decision, under `audit`: the log stream's audit trail (AUDIT_LOG). */
function auditLogRecorder(log: FastifyBaseLogger): DecisionRecorder {
  return {
    record(record) {
      const { requestId, ...audit } = auditRecordOf(record);
      log.info({ reqId: requestId, audit }, 'audit');
    },
  };
}

const AUDIT_BATCH = { batchSize: 500, flushIntervalMs: 1000 } as const;

/** The audit trail: every decision to the log stream (AUDIT_LOG) and, with AUDIT_DATABASE, to the store's database in batches. */
export const auditPlugin = fp(
  async (app: FastifyInstance, options: { config: AuditConfig; store: StoreConfig }) => {
    const recorders: DecisionRecorder[] = options.config.log ? [auditLogRecorder(app.log)] : [];
    let store: AuditStore | undefined;
    if (options.config.database) {
      const opened = await openAuditStore(options.store);
      store = opened;
      const dropped = new Counter({
        name: 'broker_audit_dropped_total',
        help: 'Audit records dropped because the queue to the database was full.',
        registers: [app.metricsRegistry],
      });
      const sink = auditSink(opened, { ...AUDIT_BATCH, queueMax: options.config.queueMax }, app.log, (count) => dropped.inc(count));
      recorders.push(sink);
      // Written out before the store closes: records of the last requests are not lost on a clean stop.
      app.addHook('onClose', async () => {
        await sink.stop();
        await opened.close();
      });
    }
    app.decorate('audit', { recorders, store });
  },
  { name: 'access-broker-audit', dependencies: ['access-broker-metrics'] },
);
