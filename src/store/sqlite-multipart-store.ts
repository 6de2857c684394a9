import type { Kysely, Migration } from 'kysely';
import { multipartQueries, type MultipartSchema } from './multipart-queries.js';
import type { MultipartStore } from './multipart-store.js';
import { openSqliteDatabase } from './sqlite-database.js';

const migrations: Record<string, Migration> = {
  '0001-multipart-uploads': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('multipart_uploads')
        .addColumn('upload_id', 'text', (column) => column.primaryKey())
        .addColumn('key', 'text', (column) => column.notNull())
        .addColumn('subject', 'text', (column) => column.notNull())
        .addColumn('content_type', 'text', (column) => column.notNull())
        .addColumn('content_length', 'integer', (column) => column.notNull())
        .addColumn('part_size', 'integer', (column) => column.notNull())
        .addColumn('part_count', 'integer', (column) => column.notNull())
        .addColumn('checksum_algorithm', 'text')
        .addColumn('expires_at', 'integer', (column) => column.notNull())
        .addColumn('created_at', 'integer', (column) => column.notNull())
        .addColumn('state', 'text', (column) => column.notNull())
        .addColumn('closed_at', 'integer')
        .execute();
      await db.schema.createIndex('multipart_uploads_open').on('multipart_uploads').columns(['state', 'expires_at']).execute();
    },
  },
};

/** Who started which multipart upload, in the SQLite file beside the entitlements. */
export async function openSqliteMultipartStore(filename: string): Promise<MultipartStore> {
  const { db } = await openSqliteDatabase<MultipartSchema>(filename, migrations, 'multipart_migration');
  return multipartQueries(db, { time: (date) => date.getTime(), date: (time) => new Date(Number(time)), size: (bytes) => bytes });
}
