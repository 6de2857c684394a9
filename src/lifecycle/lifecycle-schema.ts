import type { Generated, Kysely, Migration } from 'kysely';

export type UploadState = 'granted' | 'uploaded' | 'verified' | 'rejected' | 'expired';
export type UploadKind = 'put' | 'post' | 'multipart';
export type DeliveryState = 'pending' | 'delivered' | 'failed';

/**
 * The upload lifecycle's tables on both databases; times, sizes and booleans left to each dialect
 * (SQLite numbers, PostgreSQL timestamptz, bigint as text and boolean).
 */
export interface LifecycleSchema {
  /** One row per upload grant: what was granted, and what became of it. */
  upload_records: {
    id: string;
    key: string;
    subject: string;
    /** What granted it: `rule` or `entitlement`, and its id (quotas count per subject and rule). */
    source_kind: string;
    source_id: string;
    kind: UploadKind;
    /** S3's multipart upload id, for multipart grants. */
    multipart_upload_id: string | null;
    content_type: string;
    /** The largest object the grant allows; with exact_size, the only size it allows. */
    max_bytes: unknown;
    exact_size: unknown;
    checksum_algorithm: string | null;
    checksum: string | null;
    granted_at: unknown;
    expires_at: unknown;
    updated_at: unknown;
    state: UploadState;
    reason: string | null;
    /** What was found at the key: its size and ETag (null until found). */
    size: unknown;
    etag: string | null;
    /** A verifier's lease: while in the future, another replica leaves the record alone. */
    claimed_until: unknown;
    /** When the sweeper looks at it next (its grant and grace over, a verifier's lease over, a last look); null: never. */
    next_look_at: unknown;
  };
  /** The outbox: each event written in the same transaction as the state change it reports. */
  upload_events: {
    /** The Standard Webhooks `webhook-id` (msg_…): receivers deduplicate by it. */
    id: string;
    type: string;
    record_id: string;
    /** The exact JSON body every receiver gets (and that is signed). */
    payload: string;
    created_at: unknown;
  };
  /** One per event and webhook URL. */
  webhook_deliveries: {
    event_id: string;
    url: string;
    state: DeliveryState;
    attempts: number;
    next_attempt_at: unknown;
    last_error: string | null;
    delivered_at: unknown;
    updated_at: unknown;
  };
  /** Every attempt, kept: what the admin sees when a receiver misbehaves. */
  webhook_attempts: {
    id: Generated<number>;
    event_id: string;
    url: string;
    attempt: number;
    at: unknown;
    /** The receiver's HTTP status, or null when no answer came (refused, timed out). */
    status: number | null;
    error: string | null;
    duration_ms: number;
  };
}

/** How one database spells times, sizes and booleans. */
export interface LifecycleDialect {
  readonly kind: 'sqlite' | 'postgres';
  time(date: Date): unknown;
  date(time: unknown): Date;
  size(bytes: number): unknown;
  bool(value: boolean): unknown;
}

export const sqliteLifecycleDialect: LifecycleDialect = {
  kind: 'sqlite',
  time: (date) => date.getTime(),
  date: (time) => new Date(Number(time)),
  size: (bytes) => bytes,
  bool: (value) => (value ? 1 : 0),
};

export const postgresLifecycleDialect: LifecycleDialect = {
  kind: 'postgres',
  time: (date) => date,
  date: (time) => time as Date,
  size: (bytes) => String(bytes), // bigint travels as text, which holds any S3 object size exactly
  bool: (value) => value,
};

export function lifecycleMigrations(dialect: LifecycleDialect): Record<string, Migration> {
  const sqlite = dialect.kind === 'sqlite';
  const time = sqlite ? 'integer' : 'timestamptz';
  const size = sqlite ? 'integer' : 'bigint';
  const bool = sqlite ? 'integer' : 'boolean';
  return {
    '0001-upload-lifecycle': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('upload_records')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('key', 'text', (column) => column.notNull())
          .addColumn('subject', 'text', (column) => column.notNull())
          .addColumn('source_kind', 'text', (column) => column.notNull())
          .addColumn('source_id', 'text', (column) => column.notNull())
          .addColumn('kind', 'text', (column) => column.notNull())
          .addColumn('multipart_upload_id', 'text')
          .addColumn('content_type', 'text', (column) => column.notNull())
          .addColumn('max_bytes', size, (column) => column.notNull())
          .addColumn('exact_size', bool, (column) => column.notNull())
          .addColumn('checksum_algorithm', 'text')
          .addColumn('checksum', 'text')
          .addColumn('granted_at', time, (column) => column.notNull())
          .addColumn('expires_at', time, (column) => column.notNull())
          .addColumn('updated_at', time, (column) => column.notNull())
          .addColumn('state', 'text', (column) => column.notNull())
          .addColumn('reason', 'text')
          .addColumn('size', size)
          .addColumn('etag', 'text')
          .addColumn('claimed_until', time)
          .addColumn('next_look_at', time)
          .execute();
        await db.schema.createIndex('upload_records_key').on('upload_records').columns(['key', 'granted_at']).execute();
        // The sweeper's one question, "what is due now", is one range of this index however long the history.
        await db.schema.createIndex('upload_records_due').on('upload_records').columns(['next_look_at']).execute();
        await db.schema.createIndex('upload_records_multipart').on('upload_records').columns(['multipart_upload_id']).execute();
        await db.schema
          .createIndex('upload_records_quota')
          .on('upload_records')
          .columns(['subject', 'source_kind', 'source_id', 'granted_at'])
          .execute();
        await db.schema
          .createTable('upload_events')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('type', 'text', (column) => column.notNull())
          .addColumn('record_id', 'text', (column) => column.notNull())
          .addColumn('payload', 'text', (column) => column.notNull())
          .addColumn('created_at', time, (column) => column.notNull())
          .execute();
        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('event_id', 'text', (column) => column.notNull())
          .addColumn('url', 'text', (column) => column.notNull())
          .addColumn('state', 'text', (column) => column.notNull())
          .addColumn('attempts', 'integer', (column) => column.notNull())
          .addColumn('next_attempt_at', time, (column) => column.notNull())
          .addColumn('last_error', 'text')
          .addColumn('delivered_at', time)
          .addColumn('updated_at', time, (column) => column.notNull())
          .addPrimaryKeyConstraint('webhook_deliveries_pk', ['event_id', 'url'])
          .execute();
        await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['state', 'next_attempt_at']).execute();
        await db.schema
          .createTable('webhook_attempts')
          .addColumn('id', sqlite ? 'integer' : 'bigserial', (column) =>
            sqlite ? column.primaryKey().autoIncrement() : column.primaryKey(),
          )
          .addColumn('event_id', 'text', (column) => column.notNull())
          .addColumn('url', 'text', (column) => column.notNull())
          .addColumn('attempt', 'integer', (column) => column.notNull())
          .addColumn('at', time, (column) => column.notNull())
          .addColumn('status', 'integer')
          .addColumn('error', 'text')
          .addColumn('duration_ms', 'integer', (column) => column.notNull())
          .execute();
        await db.schema.createIndex('webhook_attempts_event').on('webhook_attempts').columns(['event_id', 'url', 'attempt']).execute();
      },
    },
  };
}
