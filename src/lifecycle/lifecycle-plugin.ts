import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { Compilable } from 'kysely';
import fp from 'fastify-plugin';
import { deferredCounter } from '../plugins/metrics.js';
import type { Config, StoreConfig } from '../config/config.js';
import { openSqliteDatabase } from '../store/sqlite-database.js';
import { recordsFailingAsUnavailable } from '../store/unavailable.js';
import { WebhookDispatcher } from '../webhooks/delivery.js';
import { outboxQueries, type OutboxStore } from '../webhooks/outbox-queries.js';
import { lifecycleMigrations, postgresLifecycleDialect, sqliteLifecycleDialect, type LifecycleSchema } from './lifecycle-schema.js';
import { recordQueries, usageFrom, usageQueries, type QuotaCheck, type RecordRow } from './record-queries.js';
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
  // The quota's two questions, from the same builder as PostgreSQL's, compiled and prepared here (once per shape) so
  // the count and the insert run in one synchronous transaction that no request or other connection can interleave.
  const prepared = new Map<string, Database.Statement>();
  const answer = <Answer>(query: Compilable<Answer>): Answer => {
    const { sql, parameters } = query.compile();
    let statement = prepared.get(sql);
    if (statement === undefined) prepared.set(sql, (statement = database.prepare(sql)));
    return statement.get(...parameters) as Answer;
  };
  const countAndInsert = database.transaction((row: RecordRow, quota: QuotaCheck) => {
    const { today, flying } = usageQueries(db, row, quota, dialect);
    quota.check(usageFrom({ today: answer(today), flying: answer(flying) }, quota, dialect));
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
    const sqs = queue === undefined ? undefined : await import('./sqs-listener.js');
    const listener =
      queue === undefined || sqs === undefined
        ? undefined
        : new sqs.S3EventListener({
            queueUrl: queue.url,
            bucket: config.s3.bucket,
            client: sqs.sqsClientFor(queue.url, { region: config.s3.region, credentials: config.s3.credentials, endpoint: queue.endpoint }),
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
