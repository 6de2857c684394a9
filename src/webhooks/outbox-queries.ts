import type { Kysely } from 'kysely';
import type { DeliveryState, LifecycleDialect, LifecycleSchema } from '../lifecycle/lifecycle-schema.js';

/** An event as every receiver gets it: `payload` is the exact body that is signed and sent. */
export interface OutboxEvent {
  readonly id: string;
  readonly type: string;
  readonly payload: string;
  readonly createdAt: Date;
}

/** A delivery this replica has claimed: until the lease ends, no other replica sends it. */
export interface ClaimedDelivery {
  readonly event: OutboxEvent;
  readonly url: string;
  /** Attempts made before this one: this one is number attempts + 1. */
  readonly attempts: number;
}

/** One try at sending, as webhook_attempts keeps it. */
export interface DeliveryAttempt {
  readonly eventId: string;
  readonly url: string;
  /** 1 for the first try; attempt numbers continue across replays. */
  readonly attempt: number;
  readonly at: Date;
  /** The receiver's HTTP status; null when no answer came (refused, reset, timed out). */
  readonly status: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

/** What becomes of the delivery after an attempt. */
export type AttemptOutcome =
  { readonly state: 'delivered' } | { readonly state: 'pending'; readonly nextAttemptAt: Date } | { readonly state: 'failed' };

/** A delivery as the admin sees it, with its event's type and time. */
export interface Delivery {
  readonly eventId: string;
  readonly eventType: string;
  readonly eventCreatedAt: Date;
  readonly url: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
  readonly updatedAt: Date;
}

/** Where a page of deliveries continues: after this one, newest event first. */
export interface DeliveryCursor {
  readonly eventCreatedAt: Date;
  readonly eventId: string;
  readonly url: string;
}

export interface DeliveryQuery {
  readonly state?: DeliveryState | undefined;
  readonly cursor?: DeliveryCursor | undefined;
  readonly limit: number;
}

export interface DeliveryPage {
  readonly deliveries: Delivery[];
  readonly next: DeliveryCursor | undefined;
}

/** The delivery side of the outbox: the dispatcher claims and records, the admin lists and replays. */
export interface OutboxStore {
  /**
   * Claims up to `limit` pending deliveries due at `now`, the longest due first, by moving their next attempt to
   * `leaseUntil` in one conditional UPDATE: a replica that read the same rows finds them no longer due and claims
   * none of them. A claim that is never recorded (the replica died) is due again when the lease ends.
   */
  claimDue(now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]>;
  /**
   * Keeps the attempt and moves the delivery on, in one transaction. False, and nothing written, when the delivery is
   * no longer pending at attempt - 1 (another replica sent it after this one's lease ran out): the count of attempts
   * then stays equal to the attempts kept.
   */
  recordAttempt(attempt: DeliveryAttempt, outcome: AttemptOutcome, now: Date): Promise<boolean>;
  /** Newest event first (then event id and URL, so that a page's end is one row). */
  listDeliveries(query: DeliveryQuery): Promise<DeliveryPage>;
  /** Every attempt at an event's deliveries, in the order they were made. */
  attempts(eventId: string): Promise<DeliveryAttempt[]>;
  /**
   * Failed deliveries of the event become pending and due at `now`; returns how many. The attempt count and history
   * continue, so a replay is one more attempt: if it fails too, the delivery is failed again. Delivered and pending
   * deliveries are left alone (0): receivers deduplicate by webhook-id, so sending a delivered event again would
   * do nothing but blur when it was delivered.
   */
  replay(eventId: string, now: Date): Promise<number>;
}

/** The outbox on either database: the queries are the same, only the values' spelling differs. */
export function outboxQueries(db: Kysely<LifecycleSchema>, dialect: LifecycleDialect): OutboxStore {
  return {
    async claimDue(now, leaseUntil, limit) {
      const due = dialect.time(now);
      return db.transaction().execute(async (trx) => {
        // One statement: PostgreSQL re-checks `next_attempt_at <= now` on a row another replica has just claimed
        // (and skips it), SQLite runs one writer at a time. RETURNING gives the attempts as they are now, not as read.
        const claimed = await trx
          .updateTable('webhook_deliveries')
          .set({ next_attempt_at: dialect.time(leaseUntil) })
          .where('state', '=', 'pending')
          .where('next_attempt_at', '<=', due)
          .where((eb) =>
            eb(
              eb.refTuple('event_id', 'url'),
              'in',
              eb
                .selectFrom('webhook_deliveries as d')
                // A delivery without its event (never written so) is left alone rather than claimed forever.
                .innerJoin('upload_events as e', 'e.id', 'd.event_id')
                .select(['d.event_id', 'd.url'])
                .where('d.state', '=', 'pending')
                .where('d.next_attempt_at', '<=', due)
                .orderBy('d.next_attempt_at')
                .orderBy('d.event_id')
                .orderBy('d.url')
                .limit(limit)
                .$asTuple('event_id', 'url'),
            ),
          )
          .returning(['event_id', 'url', 'attempts'])
          .execute();
        if (claimed.length === 0) return [];
        const events = await trx
          .selectFrom('upload_events')
          .select(['id', 'type', 'payload', 'created_at'])
          .where('id', 'in', [...new Set(claimed.map((row) => row.event_id))])
          .execute();
        const byId = new Map(
          events.map((row) => [row.id, { id: row.id, type: row.type, payload: row.payload, createdAt: dialect.date(row.created_at) }]),
        );
        return claimed
          .flatMap((row) => {
            const event = byId.get(row.event_id);
            return event === undefined ? [] : [{ event, url: row.url, attempts: row.attempts }];
          })
          .sort((a, b) => a.event.createdAt.getTime() - b.event.createdAt.getTime() || a.url.localeCompare(b.url));
      });
    },

    async recordAttempt(attempt, outcome, now) {
      const changes = {
        state: outcome.state,
        attempts: attempt.attempt,
        last_error: attempt.error,
        updated_at: dialect.time(now),
        ...(outcome.state === 'delivered' ? { delivered_at: dialect.time(now) } : {}),
        ...(outcome.state === 'pending' ? { next_attempt_at: dialect.time(outcome.nextAttemptAt) } : {}),
      };
      return db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('webhook_deliveries')
          .set(changes)
          .where('event_id', '=', attempt.eventId)
          .where('url', '=', attempt.url)
          .where('state', '=', 'pending')
          .where('attempts', '=', attempt.attempt - 1)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) return false;
        await trx
          .insertInto('webhook_attempts')
          .values({
            event_id: attempt.eventId,
            url: attempt.url,
            attempt: attempt.attempt,
            at: dialect.time(attempt.at),
            status: attempt.status,
            error: attempt.error,
            duration_ms: Math.round(attempt.durationMs),
          })
          .execute();
        return true;
      });
    },

    async listDeliveries({ state, cursor, limit }) {
      let query = db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('upload_events as e', 'e.id', 'd.event_id')
        .select([
          'd.event_id',
          'd.url',
          'd.state',
          'd.attempts',
          'd.next_attempt_at',
          'd.last_error',
          'd.delivered_at',
          'd.updated_at',
          'e.type',
          'e.created_at',
        ]);
      if (state !== undefined) query = query.where('d.state', '=', state);
      if (cursor !== undefined) {
        const at = dialect.time(cursor.eventCreatedAt);
        query = query.where((eb) =>
          eb.or([
            eb('e.created_at', '<', at),
            eb.and([eb('e.created_at', '=', at), eb('d.event_id', '<', cursor.eventId)]),
            eb.and([eb('e.created_at', '=', at), eb('d.event_id', '=', cursor.eventId), eb('d.url', '<', cursor.url)]),
          ]),
        );
      }
      const rows = await query
        .orderBy('e.created_at', 'desc')
        .orderBy('d.event_id', 'desc')
        .orderBy('d.url', 'desc')
        .limit(limit + 1)
        .execute();
      const deliveries = rows.slice(0, limit).map((row): Delivery => ({
        eventId: row.event_id,
        eventType: row.type,
        eventCreatedAt: dialect.date(row.created_at),
        url: row.url,
        state: row.state,
        attempts: row.attempts,
        nextAttemptAt: dialect.date(row.next_attempt_at),
        lastError: row.last_error,
        deliveredAt: row.delivered_at === null ? null : dialect.date(row.delivered_at),
        updatedAt: dialect.date(row.updated_at),
      }));
      const last = deliveries.at(-1);
      return {
        deliveries,
        next: rows.length > limit && last ? { eventCreatedAt: last.eventCreatedAt, eventId: last.eventId, url: last.url } : undefined,
      };
    },

    async attempts(eventId) {
      const rows = await db.selectFrom('webhook_attempts').selectAll().where('event_id', '=', eventId).orderBy('id').execute();
      return rows.map((row) => ({
        eventId: row.event_id,
        url: row.url,
        attempt: row.attempt,
        at: dialect.date(row.at),
        status: row.status,
        error: row.error,
        durationMs: row.duration_ms,
      }));
    },

    async replay(eventId, now) {
      const result = await db
        .updateTable('webhook_deliveries')
        .set({ state: 'pending', next_attempt_at: dialect.time(now), updated_at: dialect.time(now) })
        .where('event_id', '=', eventId)
        .where('state', '=', 'failed')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
