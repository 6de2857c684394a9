import { sql, type Kysely, type Selectable } from 'kysely';
import type { LifecycleDialect, LifecycleSchema } from './lifecycle-schema.js';
import type { QuotaUsage, UploadRecord, UploadRecordStore } from './upload-records.js';

type Row = Selectable<LifecycleSchema['upload_records']>;

/** States whose upload still counts against a quota: in flight, or verified. */
const COUNTED = ['granted', 'uploaded', 'verified'] as const;

/** A row of upload_records as written, column by column. */
export type RecordRow = LifecycleSchema['upload_records'];

export type QuotaCheck = NonNullable<Parameters<UploadRecordStore['create']>[1]>;

/**
 * The two questions a quota asks before a row is written, for the row's subject and source: what counts today, and
 * what is in flight. Built once here for both databases; SQLite runs them compiled, inside its synchronous transaction.
 */
export function usageQueries(db: Kysely<LifecycleSchema>, row: RecordRow, { dayStart, graceMs }: QuotaCheck, dialect: LifecycleDialect) {
  // An upload still `granted` past its expiry and the grace no longer counts: the sweeper will call it expired.
  const liveSince = dialect.time(new Date(dialect.date(row.granted_at).getTime() - graceMs));
  const mine = db
    .selectFrom('upload_records')
    .where('subject', '=', row.subject)
    .where('source_kind', '=', row.source_kind)
    .where('source_id', '=', row.source_id)
    .where((eb) => eb.or([eb('state', '!=', 'granted'), eb('expires_at', '>', liveSince)]));
  return {
    today: mine
      .where('granted_at', '>=', dialect.time(dayStart))
      .where('state', 'in', COUNTED)
      .select((eb) => [
        eb.fn.countAll<string | number>().as('objects'),
        sql<string | number | null>`sum(case when state = 'verified' then coalesce(size, max_bytes) else max_bytes end)`.as('bytes'),
      ]),
    flying: mine
      .where('state', 'in', ['granted', 'uploaded'])
      .select((eb) => [eb.fn.countAll<string | number>().as('count'), sql<unknown>`min(expires_at)`.as('first')]),
  };
}

type UsageRows = {
  [Query in keyof ReturnType<typeof usageQueries>]: Awaited<ReturnType<ReturnType<typeof usageQueries>[Query]['executeTakeFirstOrThrow']>>;
};

/** The answers to usageQueries, as the quota check reads them. */
export function usageFrom({ today, flying }: UsageRows, { graceMs }: QuotaCheck, dialect: LifecycleDialect): QuotaUsage {
  return {
    bytesToday: Number(today.bytes ?? 0),
    objectsToday: Number(today.objects),
    inFlight: Number(flying.count),
    firstInFlightEndsAt:
      flying.first === null || flying.first === undefined ? undefined : new Date(dialect.date(flying.first).getTime() + graceMs),
  };
}

/**
 * The upload records on either database: the queries are the same, only the values' spelling differs. SQLite brings
 * two of its own: `insert` (a record without a quota, as every upload grant writes one) prepared once, since building
 * and preparing it per grant cost several times running it; and `insertWithin` (the quota count and the insert in one
 * synchronous transaction, which no other connection or request can interleave with).
 */
export function recordQueries(
  db: Kysely<LifecycleSchema>,
  dialect: LifecycleDialect,
  insert: (row: RecordRow) => Promise<void> = async (row) => void (await db.insertInto('upload_records').values(row).execute()),
  insertWithin?: (row: RecordRow, quota: QuotaCheck) => Promise<void>,
): UploadRecordStore {
  const toRecord = (row: Row): UploadRecord => ({
    id: row.id,
    key: row.key,
    subject: row.subject,
    source: { kind: row.source_kind === 'entitlement' ? 'entitlement' : 'rule', id: row.source_id },
    kind: row.kind,
    multipartUploadId: row.multipart_upload_id,
    contentType: row.content_type,
    maxBytes: Number(row.max_bytes),
    exactSize: Boolean(row.exact_size),
    checksum: row.checksum_algorithm !== null && row.checksum !== null ? { algorithm: row.checksum_algorithm, value: row.checksum } : null,
    grantedAt: dialect.date(row.granted_at),
    expiresAt: dialect.date(row.expires_at),
    updatedAt: dialect.date(row.updated_at),
    state: row.state,
    reason: row.reason,
    size: row.size === null ? null : Number(row.size),
    etag: row.etag,
  });

  const newest = (key: string) =>
    db.selectFrom('upload_records').selectAll().where('key', '=', key).orderBy('granted_at', 'desc').orderBy('id', 'desc').limit(1);

  return {
    async create(record, quotaCheck) {
      const values: RecordRow = {
        id: record.id,
        key: record.key,
        subject: record.subject,
        source_kind: record.source.kind,
        source_id: record.source.id,
        kind: record.kind,
        multipart_upload_id: record.multipartUploadId,
        content_type: record.contentType,
        max_bytes: dialect.size(record.maxBytes),
        exact_size: dialect.bool(record.exactSize),
        checksum_algorithm: record.checksum?.algorithm ?? null,
        checksum: record.checksum?.value ?? null,
        granted_at: dialect.time(record.grantedAt),
        expires_at: dialect.time(record.expiresAt),
        updated_at: dialect.time(record.grantedAt),
        state: 'granted',
        reason: null,
        size: null,
        etag: null,
        claimed_until: null,
        next_look_at: dialect.time(record.nextLookAt),
      };
      if (quotaCheck === undefined) return insert(values);
      if (insertWithin !== undefined) return insertWithin(values, quotaCheck);
      const countAndInsert = async (trx: Kysely<LifecycleSchema>): Promise<void> => {
        // One writer per subject and source at a time, so grants racing each other cannot share one remainder.
        await sql`select pg_advisory_xact_lock(hashtextextended(${`${record.subject}\n${record.source.kind}:${record.source.id}`}, 0))`.execute(
          trx,
        );
        const { today, flying } = usageQueries(trx, values, quotaCheck, dialect);
        const rows = { today: await today.executeTakeFirstOrThrow(), flying: await flying.executeTakeFirstOrThrow() };
        quotaCheck.check(usageFrom(rows, quotaCheck, dialect));
        await trx.insertInto('upload_records').values(values).execute();
      };
      await db.transaction().execute(countAndInsert);
    },

    async latestForKey(key) {
      const row = await newest(key).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },

    async grantedBy(key, instant) {
      const row = await db
        .selectFrom('upload_records')
        .selectAll()
        .where('key', '=', key)
        .where('granted_at', '<=', dialect.time(instant))
        .orderBy('granted_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },

    async latestForKeys(keys) {
      const found = new Map<string, UploadRecord>();
      if (keys.length === 0) return found;
      const rows = await db
        .selectFrom('upload_records')
        .selectAll()
        .where('key', 'in', [...new Set(keys)])
        .where('state', '!=', 'expired')
        .orderBy('granted_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      for (const row of rows) if (!found.has(row.key)) found.set(row.key, toRecord(row));
      return found;
    },

    async byId(id) {
      const row = await db.selectFrom('upload_records').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },

    async byMultipartUpload(uploadId) {
      const row = await db.selectFrom('upload_records').selectAll().where('multipart_upload_id', '=', uploadId).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },

    async release(id, etag, now) {
      await db
        .updateTable('upload_records')
        .set({ claimed_until: dialect.time(now) })
        .where('id', '=', id)
        .where('state', '=', 'uploaded')
        .where('etag', '=', etag)
        .execute();
    },

    async claim(id, from, found, now, leaseUntil) {
      const result = await db
        .updateTable('upload_records')
        .set({
          state: 'uploaded',
          size: dialect.size(found.size),
          etag: found.etag,
          reason: null,
          claimed_until: dialect.time(leaseUntil),
          // Should this verifier die, the sweeper takes over once its lease is over.
          next_look_at: dialect.time(leaseUntil),
          updated_at: dialect.time(now),
        })
        .where('id', '=', id)
        .where('state', '=', from)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', dialect.time(now))]))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async finish(id, from, outcome, now, etag) {
      return db.transaction().execute(async (trx) => {
        let update = trx
          .updateTable('upload_records')
          .set({
            state: outcome.state,
            reason: outcome.reason,
            claimed_until: null,
            next_look_at: outcome.nextLookAt === null ? null : dialect.time(outcome.nextLookAt),
            updated_at: dialect.time(now),
          })
          .where('id', '=', id)
          .where('state', '=', from);
        if (etag !== undefined) update = update.where('etag', '=', etag);
        const result = await update.executeTakeFirst();
        if (result.numUpdatedRows === 0n) return false;
        const at = dialect.time(now);
        await trx
          .insertInto('upload_events')
          .values({ id: outcome.event.id, type: outcome.event.type, record_id: id, payload: outcome.event.payload, created_at: at })
          .execute();
        if (outcome.deliverTo.length > 0) {
          await trx
            .insertInto('webhook_deliveries')
            .values(
              outcome.deliverTo.map((url) => ({
                event_id: outcome.event.id,
                url,
                state: 'pending' as const,
                attempts: 0,
                next_attempt_at: at,
                last_error: null,
                delivered_at: null,
                updated_at: at,
              })),
            )
            .execute();
        }
        return true;
      });
    },

    async due(now, limit) {
      const rows = await db
        .selectFrom('upload_records')
        .selectAll()
        .where('next_look_at', '<=', dialect.time(now))
        .orderBy('next_look_at')
        .limit(limit)
        .execute();
      return rows.map(toRecord);
    },

    async lookAgain(id, at) {
      await db
        .updateTable('upload_records')
        .set({ next_look_at: at === null ? null : dialect.time(at) })
        .where('id', '=', id)
        .execute();
    },

    async shutdown() {
      await db.destroy();
    },
  };
}
