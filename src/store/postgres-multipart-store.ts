import type { Kysely, Migration } from 'kysely';
import type { PostgresStoreConfig } from '../config/config.js';
import { multipartQueries, type MultipartSchema } from './multipart-queries.js';
import type { MultipartStore } from './multipart-store.js';
import { openPostgresDatabase } from './postgres-database.js';

const migrations: Record<string, Migration> = {
  '0001-multipart-uploads': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('multipart_uploads')
        .addColumn('upload_id', 'text', (column) => column.primaryKey())
        .addColumn('key', 'text', (column) => column.notNull())
        .addColumn('subject', 'text', (column) => column.notNull())
        .addColumn('content_type', 'text', (column) => column.notNull())
        .addColumn('content_length', 'bigint', (column) => column.notNull())
        .addColumn('part_size', 'bigint', (column) => column.notNull())
        .addColumn('part_count', 'integer', (column) => column.notNull())
        .addColumn('checksum_algorithm', 'text')
        .addColumn('expires_at', 'timestamptz', (column) => column.notNull())
        .addColumn('created_at', 'timestamptz', (column) => column.notNull())
        .addColumn('state', 'text', (column) => column.notNull())
        .addColumn('closed_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('multipart_uploads_open').on('multipart_uploads').columns(['state', 'expires_at']).execute();
    },
  },
};

/** Multipart uploads in PostgreSQL: a part URL or a completion may reach another replica than the start did. */
export async function openPostgresMultipartStore(config: PostgresStoreConfig): Promise<MultipartStore> {
  const { db } = await openPostgresDatabase<MultipartSchema>(config, migrations, 'multipart_migration');
  // bigint travels as text, which holds any S3 object size exactly.
  return multipartQueries(db, { time: (date) => date, date: (time) => time as Date, size: (bytes) => String(bytes) });
}
