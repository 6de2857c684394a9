import { sql, type Kysely, type Migration } from 'kysely';
import { compileEntitlement, recordOf, type Entitlement, type EntitlementRecord } from '../policy/entitlement.js';
import { entitlementFromStored, newEntitlementRecord, pageOf } from './entitlement-rows.js';
import { IdempotencyConflictError, type EntitlementStore } from './entitlement-store.js';
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
  revoked_by: string | null;
}

interface IdempotencyTable {
  scope: string;
  key: string;
  fingerprint: string;
  entitlement_id: string;
  created_at: number;
}

interface Schema {
  entitlements: EntitlementsTable;
  idempotency_keys: IdempotencyTable;
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
    revokedBy: row.revoked_by,
    // Anything but 0 is create-only: a row edited by hand fails closed.
    createOnly: row.create_only !== 0,
    grantedBy: row.granted_by,
    reason: row.reason,
    createdAt: new Date(row.created_at),
  });
}

function rowOf(record: EntitlementRecord): EntitlementsTable {
  return {
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
  };
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
      await db.insertInto('entitlements').values(rowOf(record)).execute();
      return compileEntitlement(record);
    },
    async createOnce(input, now, { scope, key, fingerprint }) {
      const record = newEntitlementRecord(input, now);
      // One transaction: the key is claimed and the entitlement written together, or neither.
      const existing = await db.transaction().execute(async (trx) => {
        const claimed = await trx
          .insertInto('idempotency_keys')
          .values({ scope, key, fingerprint, entitlement_id: record.id, created_at: now.getTime() })
          .onConflict((conflict) => conflict.doNothing())
          .executeTakeFirst();
        if (claimed.numInsertedOrUpdatedRows === 1n) {
          await trx.insertInto('entitlements').values(rowOf(record)).execute();
          return undefined;
        }
        return trx.selectFrom('idempotency_keys').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirstOrThrow();
      });
      if (existing === undefined) return { entitlement: compileEntitlement(record), replayed: false };
      if (existing.fingerprint !== fingerprint) throw new IdempotencyConflictError();
      const row = await db.selectFrom('entitlements').selectAll().where('id', '=', existing.entitlement_id).executeTakeFirstOrThrow();
      const entitlement = toEntitlement(row);
      if (entitlement === undefined) throw new Error(`entitlement ${row.id} no longer parses`);
      return { entitlement, replayed: true };
    },
    async find(id) {
      const row = await db.selectFrom('entitlements').selectAll().where('id', '=', id).executeTakeFirst();
      const entitlement = row === undefined ? undefined : toEntitlement(row);
      return entitlement === undefined ? undefined : recordOf(entitlement);
    },
    async list({ subject, bundleId, resource, live, now, after, limit }) {
      const at = now.getTime();
      const rows = await db
        .selectFrom('entitlements')
        .selectAll()
        .$if(subject !== undefined, (query) => query.where('subject', '=', subject ?? ''))
        .$if(bundleId !== undefined, (query) => query.where('bundle_id', '=', bundleId ?? ''))
        .$if(resource !== undefined, (query) =>
          query.where(sql<boolean>`exists (select 1 from json_each(entitlements.resources) where json_each.value = ${resource ?? ''})`),
        )
        .$if(live !== undefined, (query) => {
          const isLive = sql<boolean>`((revoked_at is null or revoked_at > ${at}) and (not_before is null or not_before <= ${at}) and (expires_at is null or expires_at > ${at}))`;
          return query.where(live === true ? isLive : sql<boolean>`not ${isLive}`);
        })
        .$if(after !== undefined, (query) =>
          query.where((eb) =>
            eb.or([
              eb('created_at', '>', after?.createdAt.getTime() ?? 0),
              eb.and([eb('created_at', '=', after?.createdAt.getTime() ?? 0), eb('id', '>', after?.id ?? '')]),
            ]),
          ),
        )
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit + 1) // one more tells whether another page follows
        .execute();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const records = page.flatMap((row) => toEntitlement(row) ?? []).map(recordOf);
      return pageOf(records, last && { createdAt: new Date(last.created_at), id: last.id }, rows.length > limit);
    },
    async revoke(id, now, revokedBy) {
      const result = await db
        .updateTable('entitlements')
        .set({ revoked_at: now.getTime(), revoked_by: revokedBy ?? null })
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
