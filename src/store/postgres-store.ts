import { sql, type Kysely, type Migration } from 'kysely';
import type { PostgresStoreConfig } from '../config/config.js';
import { compileEntitlement, recordOf, type Entitlement } from '../policy/entitlement.js';
import { entitlementFromStored, newEntitlementRecord } from './entitlement-rows.js';
import type { EntitlementStore } from './entitlement-store.js';
import { openPostgresDatabase } from './postgres-database.js';

interface EntitlementsTable {
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
}

interface Schema {
  entitlements: EntitlementsTable;
}

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
};

function toEntitlement(row: EntitlementsTable): Entitlement | undefined {
  return entitlementFromStored({
    id: row.id,
    subject: row.subject,
    bundleId: row.bundle_id,
    resources: row.resources,
    actions: row.actions,
    notBefore: row.not_before,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    createOnly: row.create_only,
    grantedBy: row.granted_by,
    reason: row.reason,
  });
}

/** Entitlements in PostgreSQL (DATABASE_URL), shared by every replica. */
export async function openPostgresStore(config: PostgresStoreConfig): Promise<EntitlementStore> {
  const { pool, db } = await openPostgresDatabase<Schema>(config, migrations, 'entitlement_migration');
  return {
    async liveFor(subject, now) {
      // The hot path's one query, named so each connection prepares it once.
      const { rows } = await pool.query<EntitlementsTable>({
        name: 'entitlements-live-for',
        text: `select * from entitlements
                where subject = $1
                  and (revoked_at is null or revoked_at > $2)
                  and (not_before is null or not_before <= $2)
                  and (expires_at is null or expires_at > $2)
                order by created_at, id`,
        values: [subject, now],
      });
      return rows.flatMap((row) => toEntitlement(row) ?? []);
    },
    async historyFor(subject) {
      const rows = await db
        .selectFrom('entitlements')
        .selectAll()
        .where('subject', '=', subject)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.flatMap((row) => {
        const entitlement = toEntitlement(row);
        return entitlement === undefined ? [] : [recordOf(entitlement)];
      });
    },
    async create(input, now) {
      const record = newEntitlementRecord(input, now);
      await db
        .insertInto('entitlements')
        .values({
          id: record.id,
          subject: record.subject,
          bundle_id: record.bundleId,
          resources: [...record.resources],
          actions: [...record.actions],
          not_before: record.notBefore,
          expires_at: record.expiresAt,
          revoked_at: null,
          create_only: record.createOnly,
          granted_by: record.grantedBy,
          reason: record.reason,
          created_at: now,
        })
        .execute();
      return compileEntitlement(record);
    },
    async revoke(id, now) {
      const result = await db
        .updateTable('entitlements')
        .set({ revoked_at: now })
        .where('id', '=', id)
        // Never postpones a revocation; an earlier one (cutting a scheduled revocation short) wins.
        .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}
