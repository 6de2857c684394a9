import type { Generated, Kysely, Migration, Selectable } from 'kysely';
import type { PostgresStoreConfig, StoreConfig } from '../config/config.js';
import { openSqliteDatabase } from '../store/sqlite-database.js';
import type { AuditQuery, AuditRecord, AuditStore } from './audit-record.js';

/** One table on both databases; times and booleans left to each dialect (SQLite numbers, PostgreSQL timestamptz and boolean). */
interface AuditSchema {
  audit_records: {
    id: Generated<number>;
    at: unknown;
    request_id: string;
    subject: string;
    client_address: string;
    kind: string;
    action: string;
    target_kind: 'key' | 'bundle';
    target: string;
    allow: unknown;
    code: string | null;
    reason: string | null;
    decided_by: string | null;
    expires_at: unknown;
  };
}

const migrationFor = (
  time: 'integer' | 'timestamptz',
  id: 'integer' | 'bigserial',
  bool: 'integer' | 'boolean',
): Record<string, Migration> => ({
  '0001-audit-records': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_records')
        .addColumn('id', id, (column) => (id === 'integer' ? column.primaryKey().autoIncrement() : column.primaryKey()))
        .addColumn('at', time, (column) => column.notNull())
        .addColumn('request_id', 'text', (column) => column.notNull())
        .addColumn('subject', 'text', (column) => column.notNull())
        .addColumn('client_address', 'text', (column) => column.notNull())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('action', 'text', (column) => column.notNull())
        .addColumn('target_kind', 'text', (column) => column.notNull())
        .addColumn('target', 'text', (column) => column.notNull())
        .addColumn('allow', bool, (column) => column.notNull())
        .addColumn('code', 'text')
        .addColumn('reason', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('expires_at', time)
        .execute();
      await db.schema.createIndex('audit_records_at').on('audit_records').columns(['at', 'id']).execute();
      await db.schema.createIndex('audit_records_subject').on('audit_records').columns(['subject', 'at']).execute();
    },
  },
});

/** How one database spells times and booleans. */
interface AuditDialect {
  time(date: Date): unknown;
  date(time: unknown): Date;
  bool(value: boolean): unknown;
}

function auditStoreOn(db: Kysely<AuditSchema>, dialect: AuditDialect): AuditStore {
  const toRecord = (row: Selectable<AuditSchema['audit_records']>): AuditRecord & { id: number } => ({
    id: Number(row.id),
    at: dialect.date(row.at),
    requestId: row.request_id,
    subject: row.subject,
    clientAddress: row.client_address,
    kind: row.kind,
    action: row.action,
    targetKind: row.target_kind,
    target: row.target,
    allow: Boolean(row.allow),
    code: row.code,
    reason: row.reason,
    decidedBy: row.decided_by,
    expiresAt: row.expires_at === null ? null : dialect.date(row.expires_at),
  });
  return {
    async append(records) {
      if (records.length === 0) return;
      await db
        .insertInto('audit_records')
        .values(
          records.map((record) => ({
            at: dialect.time(record.at),
            request_id: record.requestId,
            subject: record.subject,
            client_address: record.clientAddress,
            kind: record.kind,
            action: record.action,
            target_kind: record.targetKind,
            target: record.target,
            allow: dialect.bool(record.allow),
            code: record.code,
            reason: record.reason,
            decided_by: record.decidedBy,
            expires_at: record.expiresAt === null ? null : dialect.time(record.expiresAt),
          })),
        )
        .execute();
    },
    async query({ subject, allow, from, to, before, limit }: AuditQuery) {
      let query = db.selectFrom('audit_records').selectAll();
      if (subject !== undefined) query = query.where('subject', '=', subject);
      if (allow !== undefined) query = query.where('allow', '=', dialect.bool(allow));
      if (from !== undefined) query = query.where('at', '>=', dialect.time(from));
      if (to !== undefined) query = query.where('at', '<', dialect.time(to));
      if (before !== undefined) {
        const at = dialect.time(before.at);
        query = query.where((eb) => eb.or([eb('at', '<', at), eb.and([eb('at', '=', at), eb('id', '<', before.id)])]));
      }
      const rows = await query
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const records = rows.slice(0, limit).map(toRecord);
      const last = records.at(-1);
      return { records, next: rows.length > limit && last ? { at: last.at, id: last.id } : undefined };
    },
    async close() {
      await db.destroy();
    },
  };
}

async function openSqliteAuditStore(filename: string): Promise<AuditStore> {
  const { db } = await openSqliteDatabase<AuditSchema>(filename, migrationFor('integer', 'integer', 'integer'), 'audit_migration');
  return auditStoreOn(db, { time: (date) => date.getTime(), date: (time) => new Date(Number(time)), bool: (value) => (value ? 1 : 0) });
}

async function openPostgresAuditStore(config: PostgresStoreConfig): Promise<AuditStore> {
  const { openPostgresDatabase } = await import('../store/postgres-database.js'); // only when used, as openStore
  const { db } = await openPostgresDatabase<AuditSchema>(config, migrationFor('timestamptz', 'bigserial', 'boolean'), 'audit_migration');
  return auditStoreOn(db, { time: (date) => date, date: (time) => time as Date, bool: (value) => value });
}

/** The audit table beside the entitlements: the same SQLite file or PostgreSQL database. */
export async function openAuditStore(config: StoreConfig): Promise<AuditStore> {
  return config.kind === 'postgres' ? openPostgresAuditStore(config) : openSqliteAuditStore(config.filename);
}
