import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { deferredCounter } from '../plugins/metrics.js';
import type { Config, StoreConfig } from '../config/config.js';
import { openSqliteDatabase } from '../store/sqlite-database.js';
import { recordsFailingAsUnavailable } from '../store/unavailable.js';
import { WebhookDispatcher } from '../webhooks/delivery.js';
import { outboxQueries, type OutboxStore } from '../webhooks/outbox-queries.js';
import { lifecycleMigrations, postgresLifecycleDialect, sqliteLifecycleDialect, type LifecycleSchema } from './lifecycle-schema.js';
import { recordQueries, type QuotaCheck, type RecordRow } from './record-queries.js';
import { lifecycleSchemas } from './schemas.js';
import { UploadLifecycle } from './upload-lifecycle.js';
import type { UploadRecordStore } from './upload-records.js';

/** The upload records and the outbox: one database, beside the entitlements. */
export interface LifecycleStore {
  readonly records: UploadRecordStore;
  readonly outbox: OutboxStore;
  close(): Promise<void>;
}

const MIGRATION_TABLE = 'lifecycle_migration';

/**
 * Writes rows in batches: the grants that arrive within one turn of the event loop share one commit (one WAL write
 * instead of one each, which on a file cost more than the inserts). Each grant still waits for its row to be written.
 * A failed batch is written again row by row, so one bad row fails only its own grant.
 */
function groupCommit(writeAll: (rows: readonly RecordRow[]) => Promise<void>): (row: RecordRow) => Promise<void> {
  let batch: { row: RecordRow; done: (error?: unknown) => void }[] = [];
  const flush = async (): Promise<void> => {
    const taken = batch;
    batch = [];
    try {
      await writeAll(taken.map(({ row }) => row));
      for (const { done } of taken) done();
    } catch {
      for (const { row, done } of taken) await writeAll([row]).then(() => done(), done);
    }
  };
  return (row) =>
    new Promise<void>((resolve, reject) => {
      batch.push({
        row,
        done: (error) =>
          error === undefined
            ? resolve()
            : reject(error instanceof Error ? error : new Error('the upload record was not written', { cause: error })),
      });
      if (batch.length === 1) setImmediate(() => void flush());
    });
}

interface UsageParameters {
  subject: string;
  sourceKind: string;
  sourceId: string;
  liveSince: number;
  dayStart: number;
}

/** Every column of upload_records, so the prepared insert names each one (a missing one is a type error here). */
const RECORD_COLUMNS: Record<keyof RecordRow, true> = {
  id: true,
  key: true,
  subject: true,
  source_kind: true,
  source_id: true,
  kind: true,
  multipart_upload_id: true,
  content_type: true,
  max_bytes: true,
  exact_size: true,
  checksum_algorithm: true,
  checksum: true,
  granted_at: true,
  expires_at: true,
  updated_at: true,
  state: true,
  reason: true,
  size: true,
  etag: true,
  claimed_until: true,
  next_look_at: true,
};

export async function openLifecycleStore(config: StoreConfig): Promise<LifecycleStore> {
  if (config.kind === 'postgres') {
    const { openPostgresDatabase } = await import('../store/postgres-database.js'); // only when used, as openStore
    const dialect = postgresLifecycleDialect;
    const { db } = await openPostgresDatabase<LifecycleSchema>(config, lifecycleMigrations(dialect), MIGRATION_TABLE);
    return { records: recordQueries(db, dialect), outbox: outboxQueries(db, dialect), close: () => db.destroy() };
  }
  const dialect = sqliteLifecycleDialect;
  const { db, database } = await openSqliteDatabase<LifecycleSchema>(config.filename, lifecycleMigrations(dialect), MIGRATION_TABLE);
  const columns = Object.keys(RECORD_COLUMNS);
  const insert = database.prepare<[RecordRow]>(
    `insert into upload_records (${columns.join(', ')}) values (${columns.map((column) => `@${column}`).join(', ')})`,
  );
  // Uploads of one subject under one source that still count: in flight or verified, and not a grant the sweeper will expire.
  const counted = `from upload_records where subject = @subject and source_kind = @sourceKind and source_id = @sourceId
    and (state != 'granted' or expires_at > @liveSince)`;
  const today = database.prepare<[UsageParameters], { objects: number; bytes: number | null }>(
    `select count(*) as objects, sum(case when state = 'verified' then coalesce(size, max_bytes) else max_bytes end) as bytes
     ${counted} and granted_at >= @dayStart and state in ('granted', 'uploaded', 'verified')`,
  );
  const inFlight = database.prepare<[UsageParameters], { count: number; first: number | null }>(
    `select count(*) as count, min(expires_at) as first ${counted} and state in ('granted', 'uploaded')`,
  );
  const countAndInsert = database.transaction((row: RecordRow, { dayStart, graceMs, check }: QuotaCheck) => {
    const parameters: UsageParameters = {
      subject: row.subject,
      sourceKind: row.source_kind,
      sourceId: row.source_id,
      liveSince: Number(row.granted_at) - graceMs,
      dayStart: dayStart.getTime(),
    };
    const usage = today.get(parameters);
    const flying = inFlight.get(parameters);
    check({
      bytesToday: usage?.bytes ?? 0,
      objectsToday: usage?.objects ?? 0,
      inFlight: flying?.count ?? 0,
      firstInFlightEndsAt: flying?.first == null ? undefined : new Date(flying.first + graceMs),
    });
    insert.run(row);
  });
  const insertAll = database.transaction((rows: readonly RecordRow[]) => {
    for (const row of rows) insert.run(row);
  });
  return {
    records: recordQueries(
      db,
      dialect,
      // Both through Kysely's hold on the connection, so neither runs inside a transaction of Kysely's left open
      // between two of its statements (a rollback would take the grant's record with it).
      groupCommit((rows) => db.connection().execute(async () => insertAll(rows))),
      // IMMEDIATE: the write lock before the count, so another process on the file cannot insert in between.
      async (row, quota) => db.connection().execute(async () => countAndInsert.immediate(row, quota)),
    ),
    outbox: outboxQueries(db, dialect),
    close: () => db.destroy(),
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    uploadLifecycle: UploadLifecycle;
    outbox: OutboxStore;
  }
}

/**
 * The upload lifecycle beside the grants: its store, the sweeper, the S3 event listener and the webhook dispatcher.
 * The background parts start once the server is ready and stop before the store closes.
 */
export const lifecyclePlugin = fp(
  async (app: FastifyInstance, options: { config: Config; store?: LifecycleStore | undefined; now?: () => Date }) => {
    const { config } = options;
    // A store passed in belongs to whoever passed it (tests); one opened here is closed here, after the background stops.
    const store = options.store ?? (await openLifecycleStore(config.store));
    const counter = (name: string, help: string, labelNames: string[]) =>
      deferredCounter({ name, help, labelNames, registers: [app.metricsRegistry] });
    const settled = counter('broker_uploads_settled_total', 'Uploads settled, by outcome and by what found them.', ['state', 'by']);
    const refused = counter('broker_upload_quota_refusals_total', 'Upload grants refused by a quota, by quota.', ['quota']);
    const attempts = counter(
      'broker_webhook_attempts_total',
      'Webhook attempts recorded, by what became of the delivery: delivered, pending (a retry is due) or failed.',
      ['outcome'],
    );
    const lifecycle = new UploadLifecycle({
      records: recordsFailingAsUnavailable(store.records),
      objects: app.s3Objects,
      config: { ...config.uploads, webhookUrls: config.webhooks?.urls ?? [] },
      log: app.log.child({ component: 'uploads' }),
      now: options.now,
      onSettled: (state, by) => settled(state, by).inc(),
      onQuotaRefused: (quota) => refused(quota).inc(),
    });
    for (const schema of lifecycleSchemas) app.addSchema(schema);
    app.decorate('uploadLifecycle', lifecycle);
    app.decorate('outbox', store.outbox);

    const dispatcher =
      config.webhooks === undefined
        ? undefined
        : new WebhookDispatcher({
            store: store.outbox,
            config: config.webhooks,
            log: app.log.child({ component: 'webhooks' }),
            onAttempt: (outcome) => attempts(outcome).inc(),
          });
    const queue = config.uploads.eventsQueue;
    // The SQS client loads only when a queue is configured (as the PostgreSQL driver and ioredis do).
    const { S3EventListener, sqsClientFor } = queue === undefined ? {} : await import('./sqs-listener.js');
    const listener =
      queue === undefined || S3EventListener === undefined || sqsClientFor === undefined
        ? undefined
        : new S3EventListener({
            queueUrl: queue.url,
            bucket: config.s3.bucket,
            client: sqsClientFor(queue.url, { region: config.s3.region, credentials: config.s3.credentials, endpoint: queue.endpoint }),
            log: app.log.child({ component: 's3-events' }),
            // A key the broker never granted is none of its business; one it did is checked as any other path would.
            onObject: async ({ key }) => {
              await lifecycle.settle(key, 's3-event');
            },
          });
    app.addHook('onReady', async () => {
      lifecycle.start();
      dispatcher?.start();
      listener?.start();
    });
    app.addHook('onClose', async () => {
      await Promise.all([lifecycle.stop(), dispatcher?.stop(), listener?.stop()]);
      if (options.store === undefined) await store.close();
    });
  },
  { name: 'access-broker-upload-lifecycle', dependencies: ['access-broker-s3-objects', 'access-broker-metrics'] },
);
