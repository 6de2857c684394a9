import type { FastifyBaseLogger } from 'fastify';
import { auditRecordOf, type AuditRecord, type AuditStore } from './audit-record.js';
import type { DecisionRecorder } from './decision-recorder.js';

export interface AuditSinkOptions {
  /** Records waiting in memory at most; past it new records are dropped (counted), never the grant. */
  readonly queueMax: number;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
}

const DROP_WARNING_INTERVAL_MS = 10_000;

/**
 * Audit records to the database, written in batches off the request path. record() only queues: a slow or absent
 * database never holds up a grant. A batch that fails to write goes back to the front of the queue for the next
 * try; while the queue is full, new records are shed (`onDrop`, and a warning at most every 10 s).
 */
export function auditSink(
  store: AuditStore,
  options: AuditSinkOptions,
  log: FastifyBaseLogger,
  onDrop: (count: number) => void,
): DecisionRecorder & { flush(): Promise<void>; stop(): Promise<void>; pending(): number } {
  let queue: AuditRecord[] = [];
  let flushing: Promise<void> | undefined;
  let lastDropWarning = 0;

  function shed(count: number): void {
    onDrop(count);
    const now = Date.now();
    if (now - lastDropWarning > DROP_WARNING_INTERVAL_MS) {
      lastDropWarning = now;
      log.warn({ queueMax: options.queueMax }, 'audit queue full: dropping audit records (broker_audit_dropped_total); grants go on');
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, options.batchSize);
      queue = queue.slice(batch.length);
      try {
        await store.append(batch);
      } catch (error) {
        // Back in front, as much as fits (the newest records give way): the next interval tries again.
        const waiting = [...batch, ...queue];
        queue = waiting.slice(0, options.queueMax);
        if (waiting.length > queue.length) shed(waiting.length - queue.length);
        log.warn({ err: error, pending: queue.length }, 'audit records could not be written; keeping them for the next try');
        return;
      }
    }
  }
  const flush = (): Promise<void> => {
    flushing ??= drain().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();

  return {
    record(record) {
      if (queue.length >= options.queueMax) {
        shed(1);
        return;
      }
      queue.push(auditRecordOf(record));
      if (queue.length >= options.batchSize) void flush();
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
    pending: () => queue.length,
  };
}
