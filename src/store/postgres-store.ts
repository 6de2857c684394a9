import { sql, type Kysely, type Migration } from 'kysely';
import type { PostgresStoreConfig } from '../config/config.js';
import { compileEntitlement, recordOf, type Entitlement, type EntitlementRecord } from '../policy/entitlement.js';
import { entitlementFromStored, newEntitlementRecord, pageOf } from './entitlement-rows.js';
import { IdempotencyConflictError, type EntitlementStore } from './entitlement-store.js';
import { openPostgresDatabase } from './postgres-database.js';
import { ENTITLEMENT_CHANNEL, listenForEntitlementChanges } from './postgres-notify.js';

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
  revoked_by: string | null;
}

interface IdempotencyTable {
  scope: string;
  key: string;
  fingerprint: string;
  entitlement_id: string;
  created_at: Date;
}

interface Schema {
  entitlements: EntitlementsTable;
  idempotency_keys: IdempotencyTable;
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
    revokedBy: row.revoked_by,
    createOnly: row.create_only,
    grantedBy: row.granted_by,
    reason: row.reason,
    createdAt: row.created_at,
  });
}

function rowOf(record: EntitlementRecord): EntitlementsTable {
  return {
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
  };
}

/** Entitlements in PostgreSQL (DATABASE_URL), shared by every replica. */
export async function openPostgresStore(config: PostgresStoreConfig): Promise<EntitlementStore> {
  const { pool, db } = await openPostgresDatabase<Schema>(config, migrations, 'entitlement_migration');
  // Every replica's cache hears of the change at once (LISTEN in postgres-notify.ts). A lost notification
  // costs at most the cache's age bound, so it never fails the write that made it.
  const announce = async (subject: string): Promise<void> => {
    await sql`select pg_notify(${ENTITLEMENT_CHANNEL}, ${subject})`.execute(db).catch(() => undefined);
  };
  return {
    async liveFor(subject, now) {
      // The hot path's one query, named so each connection prepares it once.
      const { rows } = await pool.query<EntitlementsTable>({
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
      await announce(record.subject);
      return compileEntitlement(record);
    },
    async createOnce(input, now, { scope, key, fingerprint }) {
      const record = newEntitlementRecord(input, now);
      // One transaction: the key is claimed and the entitlement written together, or neither. A racing
      // request with the same key waits on the key's row, then finds it taken and reads what it names.
      const existing = await db.transaction().execute(async (trx) => {
        const claimed = await trx
          .insertInto('idempotency_keys')
          .values({ scope, key, fingerprint, entitlement_id: record.id, created_at: now })
          .onConflict((conflict) => conflict.doNothing())
          .executeTakeFirst();
        if (claimed.numInsertedOrUpdatedRows === 1n) {
          await trx.insertInto('entitlements').values(rowOf(record)).execute();
          return undefined;
        }
        return trx.selectFrom('idempotency_keys').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirstOrThrow();
      });
      if (existing === undefined) {
        await announce(record.subject);
        return { entitlement: compileEntitlement(record), replayed: false };
      }
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
      const rows = await db
        .selectFrom('entitlements')
        .selectAll()
        .$if(subject !== undefined, (query) => query.where('subject', '=', subject ?? ''))
        .$if(bundleId !== undefined, (query) => query.where('bundle_id', '=', bundleId ?? ''))
        .$if(resource !== undefined, (query) => query.where(sql<boolean>`${resource ?? ''} = any(resources)`))
        .$if(live !== undefined, (query) => {
          const isLive = sql<boolean>`((revoked_at is null or revoked_at > ${now}) and (not_before is null or not_before <= ${now}) and (expires_at is null or expires_at > ${now}))`;
          return query.where(live === true ? isLive : sql<boolean>`not ${isLive}`);
        })
        .$if(after !== undefined, (query) =>
          query.where((eb) =>
            eb.or([
              eb('created_at', '>', after?.createdAt ?? now),
              eb.and([eb('created_at', '=', after?.createdAt ?? now), eb('id', '>', after?.id ?? '')]),
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
      return pageOf(records, last && { createdAt: last.created_at, id: last.id }, rows.length > limit);
    },
    async revoke(id, now, revokedBy) {
      const result = await db
        .updateTable('entitlements')
        .set({ revoked_at: now, revoked_by: revokedBy ?? null })
        .where('id', '=', id)
        // Never postpones a revocation; an earlier one (cutting a scheduled revocation short) wins.
        .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]))
        .returning('subject')
        .executeTakeFirst();
      if (result === undefined) return false;
      await announce(result.subject);
      return true;
    },
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
