import type { Kysely, Migration } from 'kysely';
import type { PostgresStoreConfig } from '../config/config.js';
import type { MultipartState, MultipartStore, MultipartUpload } from './multipart-store.js';
import { openPostgresDatabase } from './postgres-database.js';

interface MultipartTable {
  upload_id: string;
  key: string;
  subject: string;
  content_type: string;
  content_length: string; // bigint: pg returns it as text, which holds any S3 object size exactly
  part_size: string;
  part_count: number;
  checksum_algorithm: string | null;
  expires_at: Date;
  created_at: Date;
  state: MultipartState;
  closed_at: Date | null;
}

interface Schema {
  multipart_uploads: MultipartTable;
}

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

const toUpload = (row: MultipartTable): MultipartUpload => ({
  uploadId: row.upload_id,
  key: row.key,
  subject: row.subject,
  contentType: row.content_type,
  contentLength: Number(row.content_length),
  partSize: Number(row.part_size),
  partCount: row.part_count,
  checksumAlgorithm: row.checksum_algorithm,
  expiresAt: row.expires_at,
  createdAt: row.created_at,
  state: row.state,
});

/** Multipart uploads in PostgreSQL: a part URL or a completion may reach another replica than the start did. */
export async function openPostgresMultipartStore(config: PostgresStoreConfig): Promise<MultipartStore> {
  const { db } = await openPostgresDatabase<Schema>(config, migrations, 'multipart_migration');
  return {
    async create(upload) {
      await db
        .insertInto('multipart_uploads')
        .values({
          upload_id: upload.uploadId,
          key: upload.key,
          subject: upload.subject,
          content_type: upload.contentType,
          content_length: String(upload.contentLength),
          part_size: String(upload.partSize),
          part_count: upload.partCount,
          checksum_algorithm: upload.checksumAlgorithm,
          expires_at: upload.expiresAt,
          created_at: upload.createdAt,
          state: 'open',
          closed_at: null,
        })
        .execute();
    },
    async find(uploadId, subject) {
      const row = await db
        .selectFrom('multipart_uploads')
        .selectAll()
        .where('upload_id', '=', uploadId)
        .where('subject', '=', subject)
        .executeTakeFirst();
      return row === undefined ? undefined : toUpload(row);
    },
    async close(uploadId, state, now) {
      const result = await db
        .updateTable('multipart_uploads')
        .set({ state, closed_at: now })
        .where('upload_id', '=', uploadId)
        .where('state', '=', 'open')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async stale(before) {
      const rows = await db
        .selectFrom('multipart_uploads')
        .selectAll()
        .where('state', '=', 'open')
        .where('expires_at', '<', before)
        .orderBy('expires_at')
        .execute();
      return rows.map(toUpload);
    },
    async shutdown() {
      await db.destroy();
    },
  };
}
