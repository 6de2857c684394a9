import { sql, type Kysely, type Migration } from 'kysely';
import { compileEntitlement, recordOf, type Entitlement } from '../policy/entitlement.js';
import { entitlementFromStored, newEntitlementRecord } from './entitlement-rows.js';
import type { EntitlementStore } from './entitlement-store.js';
import { openSqliteDatabase } from './sqlite-database.js';

interface EntitlementsTable {
  id: string;
  subject: string;
  bundle_id: string | null;
  resources: string; // JSON array of patterns
  actions: string; // JSON array of actions
  not_before: number | null; // epoch milliseconds
  expires_at: number | null;
  revoked_at: number | null;
  create_only: number; // 0 or 1
  granted_by: string;
  reason: string;
  created_at: number; // epoch milliseconds, orders a subject's entitlements
}

interface Schema {
  entitlements: EntitlementsTable;
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

function toEntitlement(row: EntitlementsTable): Entitlement | undefined {
  return entitlementFromStored({
    id: row.id,
    subject: row.subject,
    bundleId: row.bundle_id,
    resources: parsedJson(row.resources),
    actions: parsedJson(row.actions),
    notBefore: toDate(row.not_before),
    expiresAt: toDate(row.expires_at),
    revokedAt: toDate(row.revoked_at),
    // Anything but 0 is create-only: a row edited by hand fails closed.
    createOnly: row.create_only !== 0,
    grantedBy: row.granted_by,
    reason: row.reason,
  });
}

export async function openSqliteStore(filename: string): Promise<EntitlementStore> {
  // The migration table keeps Kysely's default name: databases made before other stores shared the file have it.
  const { database, db } = await openSqliteDatabase<Schema>(filename, migrations, 'kysely_migration');

  // The hot path's one query, prepared once: building it per request cost more than running it.
  const liveRows = database.prepare<[string, number, number, number], EntitlementsTable>(
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
          resources: JSON.stringify(record.resources),
          actions: JSON.stringify(record.actions),
          not_before: record.notBefore?.getTime() ?? null,
          expires_at: record.expiresAt?.getTime() ?? null,
          revoked_at: null,
          create_only: record.createOnly ? 1 : 0,
          granted_by: record.grantedBy,
          reason: record.reason,
          created_at: now.getTime(),
        })
        .execute();
      return compileEntitlement(record);
    },
    async revoke(id, now) {
      const result = await db
        .updateTable('entitlements')
        .set({ revoked_at: now.getTime() })
        .where('id', '=', id)
        // Never postpones a revocation; an earlier one (cutting a scheduled revocation short) wins.
        .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now.getTime())]))
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
