import { sql, type Kysely, type Migration } from 'kysely';
import type { PostgresStoreConfig } from '../config/config.js';
import type { Entitlement } from '../policy/entitlement.js';
import { entitlementQueries, type EntitlementDialect, type EntitlementSchema } from './entitlement-queries.js';
import { entitlementFromStored } from './entitlement-rows.js';
import type { EntitlementStore } from './entitlement-store.js';
import { openPostgresDatabase } from './postgres-database.js';
import { ENTITLEMENT_CHANNEL, listenForEntitlementChanges } from './postgres-notify.js';

/** A row as PostgreSQL holds it: timestamptz, text[] lists, a boolean. */
interface PostgresRow {
  id: string;
  subject: string;
  bundle_id: string | null;
  resources: string[];
  actions: string[];
  not_before: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  create_only: boolean;
  granted_by: string;
  reason: string;
  created_at: Date; // orders a subject's entitlements
  revoked_by: string | null;
}

/** Every column the store reads, in the hot path's prepared statement. */
const COLUMNS =
  'id, subject, bundle_id, resources, actions, not_before, expires_at, revoked_at, revoked_by, create_only, granted_by, reason, created_at';

/** Versioned, in order; a released migration is never edited, only followed by another. */
const migrations: Record<string, Migration> = {
  '0001-entitlements': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('entitlements')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('subject', 'text', (column) => column.notNull())
        .addColumn('bundle_id', 'text')
        .addColumn('resources', sql`text[]`, (column) => column.notNull())
        .addColumn('actions', sql`text[]`, (column) => column.notNull())
        .addColumn('not_before', 'timestamptz')
        .addColumn('expires_at', 'timestamptz')
        .addColumn('revoked_at', 'timestamptz')
        .addColumn('create_only', 'boolean', (column) => column.notNull().defaultTo(false))
        .addColumn('granted_by', 'text', (column) => column.notNull())
        .addColumn('reason', 'text', (column) => column.notNull())
        .addColumn('created_at', 'timestamptz', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('entitlements_subject').on('entitlements').columns(['subject', 'created_at']).execute();
    },
  },
  '0002-admin': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('entitlements').addColumn('revoked_by', 'text').execute();
      await db.schema.createIndex('entitlements_created').on('entitlements').columns(['created_at', 'id']).execute();
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('scope', 'text', (column) => column.notNull())
        .addColumn('key', 'text', (column) => column.notNull())
        .addColumn('fingerprint', 'text', (column) => column.notNull())
        .addColumn('entitlement_id', 'text', (column) => column.notNull())
        .addColumn('created_at', 'timestamptz', (column) => column.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'key'])
        .execute();
    },
  },
  '0003-millisecond-created-at': {
    async up(db: Kysely<unknown>) {
      // Milliseconds, as JavaScript dates and page cursors carry them: a row written with now()'s microseconds
      // would sort after its own cursor and come back on the next page.
      await db.schema
        .alterTable('entitlements')
        .alterColumn('created_at', (column) => column.setDataType(sql`timestamptz(3)`))
        .execute();
    },
  },
};

function toEntitlement(row: PostgresRow): Entitlement | undefined {
  return entitlementFromStored({
    id: row.id,
    subject: row.subject,
    bundleId: row.bundle_id,
    resources: row.resources,
    actions: row.actions,
    notBefore: row.not_before,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
    createOnly: row.create_only,
    grantedBy: row.granted_by,
    reason: row.reason,
    createdAt: row.created_at,
  });
}

/** Entitlements in PostgreSQL (DATABASE_URL), shared by every replica. */
export async function openPostgresStore(config: PostgresStoreConfig): Promise<EntitlementStore> {
  const { pool, db } = await openPostgresDatabase<EntitlementSchema>(config, migrations, 'entitlement_migration');
  const dialect: EntitlementDialect = {
    time: (date) => date,
    date: (time) => time as Date,
    toRow: (record): PostgresRow => ({
      id: record.id,
      subject: record.subject,
      bundle_id: record.bundleId,
      resources: [...record.resources],
      actions: [...record.actions],
      not_before: record.notBefore,
      expires_at: record.expiresAt,
      revoked_at: null,
      revoked_by: null,
      create_only: record.createOnly,
      granted_by: record.grantedBy,
      reason: record.reason,
      created_at: record.createdAt,
    }),
    toEntitlement: (row) => toEntitlement(row as PostgresRow),
    holdsResource: (resource) => sql<boolean>`${resource} = any(resources)`,
    // Every replica's cache hears of the change at once (LISTEN in postgres-notify.ts). A lost notification
    // costs at most the cache's age bound, so it never fails the write that made it.
    announce: async (subject) => {
      await sql`select pg_notify(${ENTITLEMENT_CHANNEL}, ${subject})`.execute(db).catch(() => undefined);
    },
  };
  return {
    async liveFor(subject, now) {
      // The hot path's one query, named so each connection prepares it once.
      const { rows } = await pool.query<PostgresRow>({
        name: 'entitlements-live-for',
        // Columns named, never `*`: a prepared `*` fails on every replica still running when a migration adds a column.
        text: `select ${COLUMNS} from entitlements
                where subject = $1
                  and (revoked_at is null or revoked_at > $2)
                  and (not_before is null or not_before <= $2)
                  and (expires_at is null or expires_at > $2)
                order by created_at, id`,
        values: [subject, now],
      });
      return rows.flatMap((row) => toEntitlement(row) ?? []);
    },
    ...entitlementQueries(db, dialect),
    watch(listener) {
      return listenForEntitlementChanges(config, listener);
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}
