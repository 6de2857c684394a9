import { sql, type Kysely, type RawBuilder } from 'kysely';
import { compileEntitlement, recordOf, type Entitlement, type EntitlementRecord } from '../policy/entitlement.js';
import { newEntitlementRecord, pageOf } from './entitlement-rows.js';
import { IdempotencyConflictError, type EntitlementStore } from './entitlement-store.js';

/**
 * The tables as both databases hold them, their values left to each dialect: times are epoch milliseconds on
 * SQLite and timestamptz on PostgreSQL, lists JSON text or text[], booleans 0/1 or boolean.
 */
export interface EntitlementsTable {
  id: string;
  subject: string;
  bundle_id: string | null;
  resources: unknown;
  actions: unknown;
  not_before: unknown;
  expires_at: unknown;
  revoked_at: unknown;
  revoked_by: string | null;
  create_only: unknown;
  granted_by: string;
  reason: string;
  created_at: unknown;
}

interface IdempotencyTable {
  scope: string;
  key: string;
  fingerprint: string;
  entitlement_id: string;
  created_at: unknown;
}

export interface EntitlementSchema {
  entitlements: EntitlementsTable;
  idempotency_keys: IdempotencyTable;
}

/** How one database spells an entitlement row, and the little SQL that differs. */
export interface EntitlementDialect {
  /** A date as this database stores it. */
  time(date: Date): unknown;
  /** A stored time back as a date. */
  date(time: unknown): Date;
  toRow(record: EntitlementRecord): EntitlementsTable;
  /** Undefined for a row that does not parse (written around create, by hand): it grants nothing. */
  toEntitlement(row: EntitlementsTable): Entitlement | undefined;
  /** The condition that a row's resources hold exactly this pattern. */
  holdsResource(resource: string): RawBuilder<boolean>;
  /** Tells other replicas a subject's entitlements changed (PostgreSQL's NOTIFY); never fails the write. */
  announce(subject: string): Promise<void>;
}

/** Every store method but the hot path's liveFor (each database prepares that its own way), ping and close. */
export function entitlementQueries(
  db: Kysely<EntitlementSchema>,
  dialect: EntitlementDialect,
): Pick<EntitlementStore, 'historyFor' | 'create' | 'createOnce' | 'find' | 'list' | 'revoke'> {
  const recordsOf = (rows: EntitlementsTable[]): EntitlementRecord[] =>
    rows.flatMap((row) => dialect.toEntitlement(row) ?? []).map(recordOf);
  return {
    async historyFor(subject) {
      const rows = await db
        .selectFrom('entitlements')
        .selectAll()
        .where('subject', '=', subject)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return recordsOf(rows);
    },
    async create(input, now) {
      const record = newEntitlementRecord(input, now);
      await db.insertInto('entitlements').values(dialect.toRow(record)).execute();
      await dialect.announce(record.subject);
      return compileEntitlement(record);
    },
    async createOnce(input, now, { scope, key, fingerprint }) {
      const record = newEntitlementRecord(input, now);
      // One transaction: the key is claimed and the entitlement written together, or neither. A racing request
      // with the same key waits on the key's row (PostgreSQL) or the write lock (SQLite), then reads what it names.
      const existing = await db.transaction().execute(async (trx) => {
        const claimed = await trx
          .insertInto('idempotency_keys')
          .values({ scope, key, fingerprint, entitlement_id: record.id, created_at: dialect.time(now) })
          .onConflict((conflict) => conflict.doNothing())
          .executeTakeFirst();
        if (claimed.numInsertedOrUpdatedRows === 1n) {
          await trx.insertInto('entitlements').values(dialect.toRow(record)).execute();
          return undefined;
        }
        return trx.selectFrom('idempotency_keys').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirstOrThrow();
      });
      if (existing === undefined) {
        await dialect.announce(record.subject);
        return { entitlement: compileEntitlement(record), replayed: false };
      }
      if (existing.fingerprint !== fingerprint) throw new IdempotencyConflictError();
      const row = await db.selectFrom('entitlements').selectAll().where('id', '=', existing.entitlement_id).executeTakeFirstOrThrow();
      const entitlement = dialect.toEntitlement(row);
      if (entitlement === undefined) throw new Error(`entitlement ${row.id} no longer parses`);
      return { entitlement, replayed: true };
    },
    async find(id) {
      const row = await db.selectFrom('entitlements').selectAll().where('id', '=', id).executeTakeFirst();
      const entitlement = row === undefined ? undefined : dialect.toEntitlement(row);
      return entitlement === undefined ? undefined : recordOf(entitlement);
    },
    async list({ subject, bundleId, resource, live, now, after, limit }) {
      const at = dialect.time(now);
      const isLive = sql<boolean>`((revoked_at is null or revoked_at > ${at}) and (not_before is null or not_before <= ${at}) and (expires_at is null or expires_at > ${at}))`;
      let query = db.selectFrom('entitlements').selectAll();
      if (subject !== undefined) query = query.where('subject', '=', subject);
      if (bundleId !== undefined) query = query.where('bundle_id', '=', bundleId);
      if (resource !== undefined) query = query.where(dialect.holdsResource(resource));
      if (live !== undefined) query = query.where(live ? isLive : sql<boolean>`not ${isLive}`);
      if (after !== undefined) {
        const created = dialect.time(after.createdAt);
        query = query.where((eb) =>
          eb.or([eb('created_at', '>', created), eb.and([eb('created_at', '=', created), eb('id', '>', after.id)])]),
        );
      }
      const rows = await query
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit + 1) // one more tells whether another page follows
        .execute();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return pageOf(recordsOf(page), last && { createdAt: dialect.date(last.created_at), id: last.id }, rows.length > limit);
    },
    async revoke(id, now, revokedBy) {
      const at = dialect.time(now);
      const revoked = await db
        .updateTable('entitlements')
        .set({ revoked_at: at, revoked_by: revokedBy ?? null })
        .where('id', '=', id)
        // Never postpones a revocation; an earlier one (cutting a scheduled revocation short) wins.
        .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', at)]))
        .returning('subject')
        .executeTakeFirst();
      if (revoked === undefined) return false;
      await dialect.announce(revoked.subject);
      return true;
    },
  };
}
