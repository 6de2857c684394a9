import { sql, type Kysely, type Migration } from 'kysely';
import type { Entitlement } from '../policy/entitlement.js';
import { entitlementQueries, type EntitlementDialect, type EntitlementSchema } from './entitlement-queries.js';
import { entitlementFromStored } from './entitlement-rows.js';
import type { EntitlementStore } from './entitlement-store.js';
import { openSqliteDatabase } from './sqlite-database.js';

/** A row as SQLite holds it: times in epoch milliseconds, lists as JSON text, create_only 0 or 1. */
interface SqliteRow {
  id: string;
  subject: string;
  bundle_id: string | null;
  resources: string; // JSON array of patterns
  actions: string; // JSON array of actions
  not_before: number | null;
  expires_at: number | null;
  revoked_at: number | null;
  create_only: number;
  granted_by: string;
  reason: string;
  created_at: number; // orders a subject's entitlements
  revoked_by: string | null;
}

const migrations: Record<string, Migration> = {
  '0001-entitlements': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('entitlements')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('subject', 'text', (column) => column.notNull())
        .addColumn('bundle_id', 'text')
        .addColumn('resources', 'text', (column) => column.notNull())
        .addColumn('actions', 'text', (column) => column.notNull())
        .addColumn('not_before', 'integer')
        .addColumn('expires_at', 'integer')
        .addColumn('revoked_at', 'integer')
        .addColumn('granted_by', 'text', (column) => column.notNull())
        .addColumn('reason', 'text', (column) => column.notNull())
        .addColumn('created_at', 'integer', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('entitlements_subject').on('entitlements').column('subject').execute();
    },
  },
  '0002-create-only': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('entitlements')
        .addColumn('create_only', 'integer', (column) => column.notNull().defaultTo(0))
        .execute();
    },
  },
  '0003-admin': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('entitlements').addColumn('revoked_by', 'text').execute();
      await db.schema.createIndex('entitlements_created').on('entitlements').columns(['created_at', 'id']).execute();
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('scope', 'text', (column) => column.notNull())
        .addColumn('key', 'text', (column) => column.notNull())
        .addColumn('fingerprint', 'text', (column) => column.notNull())
        .addColumn('entitlement_id', 'text', (column) => column.notNull())
        .addColumn('created_at', 'integer', (column) => column.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'key'])
        .execute();
    },
  },
};

const toDate = (value: number | null): Date | null => (value === null ? null : new Date(value));

/** The JSON in a text column, or undefined when it does not parse (a row edited by hand). */
function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function toEntitlement(row: SqliteRow): Entitlement | undefined {
  return entitlementFromStored({
    id: row.id,
    subject: row.subject,
    bundleId: row.bundle_id,
    resources: parsedJson(row.resources),
    actions: parsedJson(row.actions),
    notBefore: toDate(row.not_before),
    expiresAt: toDate(row.expires_at),
    revokedAt: toDate(row.revoked_at),
    revokedBy: row.revoked_by,
    // Anything but 0 is create-only: a row edited by hand fails closed.
    createOnly: row.create_only !== 0,
    grantedBy: row.granted_by,
    reason: row.reason,
    createdAt: new Date(row.created_at),
  });
}

const sqliteDialect: EntitlementDialect = {
  time: (date) => date.getTime(),
  date: (time) => new Date(Number(time)),
  toRow: (record): SqliteRow => ({
    id: record.id,
    subject: record.subject,
    bundle_id: record.bundleId,
    resources: JSON.stringify(record.resources),
    actions: JSON.stringify(record.actions),
    not_before: record.notBefore?.getTime() ?? null,
    expires_at: record.expiresAt?.getTime() ?? null,
    revoked_at: null,
    revoked_by: null,
    create_only: record.createOnly ? 1 : 0,
    granted_by: record.grantedBy,
    reason: record.reason,
    created_at: record.createdAt.getTime(),
  }),
  toEntitlement: (row) => toEntitlement(row as SqliteRow),
  holdsResource: (resource) => sql<boolean>`exists (select 1 from json_each(entitlements.resources) where json_each.value = ${resource})`,
  // One process, or the CLI beside it: nobody to tell (other processes' caches wait out their bound).
  announce: async () => undefined,
};

export async function openSqliteStore(filename: string): Promise<EntitlementStore> {
  // The migration table keeps Kysely's default name: databases made before other stores shared the file have it.
  const { database, db } = await openSqliteDatabase<EntitlementSchema>(filename, migrations, 'kysely_migration');

  // The hot path's one query, prepared once: building it per request cost more than running it.
  const liveRows = database.prepare<[string, number, number, number], SqliteRow>(
    `select * from entitlements
      where subject = ?
        and (revoked_at is null or revoked_at > ?)
        and (not_before is null or not_before <= ?)
        and (expires_at is null or expires_at > ?)
      order by created_at, id`,
  );

  return {
    async liveFor(subject, now) {
      const at = now.getTime();
      return liveRows.all(subject, at, at, at).flatMap((row) => toEntitlement(row) ?? []);
    },
    ...entitlementQueries(db, sqliteDialect),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}
