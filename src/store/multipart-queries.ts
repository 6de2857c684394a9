import type { Kysely } from 'kysely';
import type { MultipartState, MultipartStore, MultipartUpload } from './multipart-store.js';

/** The multipart table as both databases hold it; times and sizes left to each dialect (SQLite numbers, PostgreSQL timestamptz and bigint). */
export interface MultipartSchema {
  multipart_uploads: {
    upload_id: string;
    key: string;
    subject: string;
    content_type: string;
    content_length: unknown;
    part_size: unknown;
    part_count: number;
    checksum_algorithm: string | null;
    expires_at: unknown;
    created_at: unknown;
    state: MultipartState;
    closed_at: unknown;
  };
}

/** How one database spells times and sizes. */
export interface MultipartDialect {
  time(date: Date): unknown;
  date(time: unknown): Date;
  /** A size as stored: PostgreSQL's bigint travels as text, which holds any S3 object size exactly. */
  size(bytes: number): unknown;
}

type Row = MultipartSchema['multipart_uploads'];

/** The multipart store on either database: the queries are the same, only the values' spelling differs. */
export function multipartQueries(db: Kysely<MultipartSchema>, dialect: MultipartDialect): MultipartStore {
  const toUpload = (row: Row): MultipartUpload => ({
    uploadId: row.upload_id,
    key: row.key,
    subject: row.subject,
    contentType: row.content_type,
    contentLength: Number(row.content_length),
    partSize: Number(row.part_size),
    partCount: row.part_count,
    checksumAlgorithm: row.checksum_algorithm,
    expiresAt: dialect.date(row.expires_at),
    createdAt: dialect.date(row.created_at),
    state: row.state,
  });
  return {
    async create(upload) {
      await db
        .insertInto('multipart_uploads')
        .values({
          upload_id: upload.uploadId,
          key: upload.key,
          subject: upload.subject,
          content_type: upload.contentType,
          content_length: dialect.size(upload.contentLength),
          part_size: dialect.size(upload.partSize),
          part_count: upload.partCount,
          checksum_algorithm: upload.checksumAlgorithm,
          expires_at: dialect.time(upload.expiresAt),
          created_at: dialect.time(upload.createdAt),
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
        .set({ state, closed_at: dialect.time(now) })
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
        .where('expires_at', '<', dialect.time(before))
        .orderBy('expires_at')
        .execute();
      return rows.map(toUpload);
    },
    async shutdown() {
      await db.destroy();
    },
  };
}
