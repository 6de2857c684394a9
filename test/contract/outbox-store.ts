import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import type { LifecycleDialect, LifecycleSchema } from '../../src/lifecycle/lifecycle-schema.js';
import { outboxQueries, type DeliveryAttempt, type DeliveryCursor, type OutboxStore } from '../../src/webhooks/outbox-queries.js';

export const OUTBOX_NOW = new Date('2026-06-01T12:00:00.250Z');
const later = (ms: number): Date => new Date(OUTBOX_NOW.getTime() + ms);

export interface SeededEvent {
  readonly id: string;
  readonly payload: string;
}

/**
 * An event and its deliveries, written by hand as the lifecycle's transaction writes them: one pending delivery per
 * URL, no attempts yet, due at once.
 */
export async function seedEvent(
  db: Kysely<LifecycleSchema>,
  dialect: LifecycleDialect,
  { id, urls, createdAt = OUTBOX_NOW, dueAt = createdAt }: { id: string; urls: readonly string[]; createdAt?: Date; dueAt?: Date },
): Promise<SeededEvent> {
  const payload = JSON.stringify({
    type: 'upload.verified',
    timestamp: createdAt.toISOString(),
    data: { id: `rec-${id}`, key: 'a/b.png' },
  });
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('upload_events')
      .values({ id, type: 'upload.verified', record_id: `rec-${id}`, payload, created_at: dialect.time(createdAt) })
      .execute();
    await trx
      .insertInto('webhook_deliveries')
      .values(
        urls.map((url) => ({
          event_id: id,
          url,
          state: 'pending' as const,
          attempts: 0,
          next_attempt_at: dialect.time(dueAt),
          last_error: null,
          delivered_at: null,
          updated_at: dialect.time(createdAt),
        })),
      )
      .execute();
  });
  return { id, payload };
}

const attemptOf = (eventId: string, url: string, attempt: number, overrides: Partial<DeliveryAttempt> = {}): DeliveryAttempt => ({
  eventId,
  url,
  attempt,
  at: later(attempt * 1000),
  status: 500,
  error: 'HTTP 500: down',
  durationMs: 12,
  ...overrides,
});

const URL_A = 'https://a.example/hooks';
const URL_B = 'https://b.example/hooks';

/** What the outbox's queries do on each database (test/contract/sqlite.test.ts, postgres.test.ts). */
export function outboxStoreContract(name: string, open: () => Promise<{ db: Kysely<LifecycleSchema>; dialect: LifecycleDialect }>): void {
  describe(name, () => {
    let db: Kysely<LifecycleSchema>;
    let dialect: LifecycleDialect;
    let store: OutboxStore;
    beforeEach(async () => {
      ({ db, dialect } = await open());
      store = outboxQueries(db, dialect);
    });
    afterEach(async () => db.destroy());

    const seed = (id: string, options: { urls?: readonly string[]; createdAt?: Date; dueAt?: Date } = {}) =>
      seedEvent(db, dialect, { id, urls: [URL_A], ...options });

    test('claims the due pending deliveries, longest due first, with their event; a claimed one is not due again until its lease ends', async () => {
      const second = await seed('msg_2', { dueAt: later(-1000) });
      const first = await seed('msg_1', { dueAt: later(-2000), createdAt: later(-5000) });
      await seed('msg_future', { dueAt: later(1) });
      const lease = later(60_000);
      const claimed = await store.claimDue(OUTBOX_NOW, lease, 10);
      assert.deepEqual(claimed, [
        { event: { id: 'msg_1', type: 'upload.verified', payload: first.payload, createdAt: later(-5000) }, url: URL_A, attempts: 0 },
        { event: { id: 'msg_2', type: 'upload.verified', payload: second.payload, createdAt: OUTBOX_NOW }, url: URL_A, attempts: 0 },
      ]);
      assert.deepEqual(await store.claimDue(OUTBOX_NOW, later(60_000), 10), [], 'claimed: not due meanwhile');
      assert.deepEqual(
        (await store.claimDue(later(59_999), later(120_000), 10)).map((delivery) => delivery.event.id),
        ['msg_future'],
        'the lease holds to its end',
      );
      assert.deepEqual(
        (await store.claimDue(lease, later(120_000), 10)).map((delivery) => delivery.event.id),
        ['msg_1', 'msg_2'],
        'a claim never recorded (its replica died) is due again when the lease ends',
      );
    });

    test('the limit takes the longest due; delivered and failed deliveries are never claimed', async () => {
      for (let i = 0; i < 5; i += 1) await seed(`msg_${i}`, { dueAt: later(-1000 * (5 - i)) });
      await store.recordAttempt(attemptOf('msg_0', URL_A, 1, { status: 200, error: null }), { state: 'delivered' }, OUTBOX_NOW);
      await store.recordAttempt(attemptOf('msg_1', URL_A, 1), { state: 'failed' }, OUTBOX_NOW);
      const claimed = await store.claimDue(OUTBOX_NOW, later(60_000), 2);
      assert.deepEqual(
        claimed.map((delivery) => delivery.event.id),
        ['msg_2', 'msg_3'],
      );
    });

    test('claims made at once (as by several replicas) hand out each delivery once', async () => {
      const ids = Array.from({ length: 30 }, (_, i) => `msg_${String(i).padStart(2, '0')}`);
      for (const id of ids) await seed(id, { urls: [URL_A, URL_B] });
      const rounds = await Promise.all(Array.from({ length: 12 }, () => store.claimDue(OUTBOX_NOW, later(60_000), 7)));
      const more = await store.claimDue(OUTBOX_NOW, later(60_000), 100);
      const claimed = [...rounds.flat(), ...more].map((delivery) => `${delivery.event.id} ${delivery.url}`);
      assert.equal(claimed.length, 60);
      assert.equal(new Set(claimed).size, 60, 'no delivery claimed twice');
    });

    test('an attempt is kept and moves the delivery on: retry, delivered; a stale attempt number is refused and writes nothing', async () => {
      await seed('msg_1', { urls: [URL_A, URL_B] });
      const retryAt = later(5000);
      assert.equal(
        await store.recordAttempt(attemptOf('msg_1', URL_A, 1), { state: 'pending', nextAttemptAt: retryAt }, later(1000)),
        true,
      );
      assert.equal(
        await store.recordAttempt(attemptOf('msg_1', URL_A, 1, { status: 200, error: null }), { state: 'delivered' }, later(1000)),
        false,
        'attempt 1 is recorded already',
      );
      let [b, a] = (await store.listDeliveries({ limit: 10 })).deliveries;
      assert.deepEqual(a, {
        eventId: 'msg_1',
        eventType: 'upload.verified',
        eventCreatedAt: OUTBOX_NOW,
        url: URL_A,
        state: 'pending',
        attempts: 1,
        nextAttemptAt: retryAt,
        lastError: 'HTTP 500: down',
        deliveredAt: null,
        updatedAt: later(1000),
      });
      assert.equal(b?.attempts, 0, 'the other URL is a delivery of its own');
      assert.deepEqual(await store.claimDue(later(4999), later(60_000), 10).then((claimed) => claimed.map((d) => d.url)), [URL_B]);
      assert.deepEqual(
        (await store.claimDue(retryAt, later(60_000), 10)).map((d) => [d.url, d.attempts]),
        [[URL_A, 1]],
      );
      const delivered = attemptOf('msg_1', URL_A, 2, { status: 204, error: null, durationMs: 40 });
      assert.equal(await store.recordAttempt(delivered, { state: 'delivered' }, later(2500)), true);
      [b, a] = (await store.listDeliveries({ limit: 10 })).deliveries;
      assert.equal(a?.state, 'delivered');
      assert.equal(a.attempts, 2);
      assert.equal(a.lastError, null);
      assert.deepEqual(a.deliveredAt, later(2500));
      assert.deepEqual(await store.attempts('msg_1'), [attemptOf('msg_1', URL_A, 1), delivered]);
      assert.deepEqual(await store.attempts('msg_unknown'), []);
    });

    test('failed deliveries are listed by state; a replay makes them pending and due now, the count and history continuing', async () => {
      await seed('msg_1', { urls: [URL_A, URL_B] });
      await seed('msg_2');
      await store.recordAttempt(attemptOf('msg_1', URL_A, 1, { status: null, error: 'ECONNREFUSED' }), { state: 'failed' }, later(1));
      await store.recordAttempt(attemptOf('msg_1', URL_B, 1, { status: 404, error: 'HTTP 404: ' }), { state: 'failed' }, later(1));
      await store.recordAttempt(attemptOf('msg_2', URL_A, 1, { status: 200, error: null }), { state: 'delivered' }, later(1));
      const failed = await store.listDeliveries({ state: 'failed', limit: 10 });
      assert.deepEqual(
        failed.deliveries.map((delivery) => [delivery.eventId, delivery.url, delivery.lastError]),
        [
          ['msg_1', URL_B, 'HTTP 404: '],
          ['msg_1', URL_A, 'ECONNREFUSED'],
        ],
      );
      assert.equal(await store.replay('msg_2', later(2)), 0, 'a delivered event is not sent again');
      assert.equal(await store.replay('msg_unknown', later(2)), 0);
      assert.equal(await store.replay('msg_1', later(2)), 2);
      assert.equal(await store.replay('msg_1', later(2)), 0, 'pending now: nothing left to replay');
      assert.deepEqual((await store.listDeliveries({ state: 'failed', limit: 10 })).deliveries, []);
      const claimed = await store.claimDue(later(2), later(60_000), 10);
      assert.deepEqual(
        claimed.map((delivery) => [delivery.url, delivery.attempts]),
        [
          [URL_A, 1],
          [URL_B, 1],
        ],
      );
      assert.equal(
        await store.recordAttempt(attemptOf('msg_1', URL_A, 2, { status: 200, error: null }), { state: 'delivered' }, later(3)),
        true,
      );
      assert.deepEqual(
        (await store.attempts('msg_1')).filter((attempt) => attempt.url === URL_A).map((attempt) => [attempt.attempt, attempt.status]),
        [
          [1, null],
          [2, 200],
        ],
      );
    });

    test('pages cover every delivery once, newest event first, even many events at one instant', async () => {
      for (let i = 0; i < 5; i += 1) await seed(`msg_${i}`, { urls: [URL_A, URL_B], createdAt: i < 3 ? OUTBOX_NOW : later(i) });
      const seen: string[] = [];
      let cursor: DeliveryCursor | undefined;
      for (let pages = 0; pages < 20; pages += 1) {
        const page = await store.listDeliveries({ cursor, limit: 3 });
        seen.push(...page.deliveries.map((delivery) => `${delivery.eventId} ${delivery.url.slice(8, 9)}`));
        if (page.next === undefined) break;
        cursor = page.next;
      }
      assert.deepEqual(seen, [
        'msg_4 b',
        'msg_4 a',
        'msg_3 b',
        'msg_3 a',
        'msg_2 b',
        'msg_2 a',
        'msg_1 b',
        'msg_1 a',
        'msg_0 b',
        'msg_0 a',
      ]);
    });
  });
}
