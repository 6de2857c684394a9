import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { LifecycleStore } from '../../src/lifecycle/lifecycle-plugin.js';
import { QuotaRefusal, type NewUploadRecord, type QuotaUsage } from '../../src/lifecycle/upload-records.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number): Date => new Date(NOW.getTime() + ms);
const MINUTE = 60_000;
const DAY_START = new Date('2026-06-01T00:00:00.000Z');

let ids = 0;
export function newRecord(overrides: Partial<NewUploadRecord> = {}): NewUploadRecord {
  ids += 1;
  return {
    id: `upl_${String(ids).padStart(4, '0')}`,
    key: `inbox/alice/${ids}.png`,
    subject: 'alice',
    source: { kind: 'rule', id: 'own' },
    kind: 'put',
    multipartUploadId: null,
    contentType: 'image/png',
    maxBytes: 1000,
    exactSize: true,
    checksum: null,
    grantedAt: NOW,
    expiresAt: at(15 * MINUTE),
    nextLookAt: at(30 * MINUTE),
    ...overrides,
  };
}

const event = (id: string) => ({ id, type: 'upload.verified' as const, payload: `{"id":"${id}"}` });

/**
 * The upload records port on each database: what the lifecycle relies on for "one outcome whichever path comes
 * first" (conditional claims and finishes, the event written with the state), and the quota count and its lock.
 * `open` may be called twice for one database (two replicas) when `second` is given.
 */
export function uploadRecordStoreContract(
  name: string,
  open: () => Promise<LifecycleStore>,
  second?: (first: LifecycleStore) => Promise<LifecycleStore>,
) {
  describe(`${name}: upload records`, () => {
    let store: LifecycleStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => store.close());

    test('a record round-trips, sizes past 4 GiB and its checksum included; the newest grant for a key wins', async () => {
      const big = newRecord({ key: 'inbox/alice/big.bin', maxBytes: 5 * 1024 ** 4, kind: 'multipart', multipartUploadId: 'mp-1' });
      await store.records.create(big);
      const newer = newRecord({ key: 'inbox/alice/big.bin', grantedAt: at(1000), checksum: { algorithm: 'SHA256', value: 'c2hh' } });
      await store.records.create(newer);
      const latest = await store.records.latestForKey('inbox/alice/big.bin');
      assert.equal(latest?.id, newer.id);
      assert.deepEqual(latest?.checksum, { algorithm: 'SHA256', value: 'c2hh' });
      const first = await store.records.byId(big.id);
      assert.equal(first?.maxBytes, 5 * 1024 ** 4);
      assert.equal(first?.multipartUploadId, 'mp-1');
      assert.equal(first?.state, 'granted');
      assert.deepEqual(first?.source, { kind: 'rule', id: 'own' });
      assert.equal(first?.expiresAt.getTime(), big.expiresAt.getTime());
      const map = await store.records.latestForKeys(['inbox/alice/big.bin', 'inbox/alice/none.png']);
      assert.deepEqual([...map.keys()], ['inbox/alice/big.bin']);
      assert.equal(map.get('inbox/alice/big.bin')?.id, newer.id);
    });

    test('a claim leases the record: a second claim waits for the lease to end', async () => {
      const record = newRecord();
      await store.records.create(record);
      assert.equal(await store.records.claim(record.id, 'granted', { size: 1000, etag: '"a"' }, NOW, at(MINUTE)), true);
      assert.equal(
        await store.records.claim(record.id, 'granted', { size: 1000, etag: '"a"' }, NOW, at(MINUTE)),
        false,
        'no longer granted',
      );
      assert.equal(await store.records.claim(record.id, 'uploaded', { size: 1000, etag: '"a"' }, at(30_000), at(MINUTE)), false, 'leased');
      assert.equal(await store.records.claim(record.id, 'uploaded', { size: 1000, etag: '"a"' }, at(MINUTE), at(2 * MINUTE)), true);
      const claimed = await store.records.byId(record.id);
      assert.equal(claimed?.state, 'uploaded');
      assert.equal(claimed?.size, 1000);
      assert.equal(claimed?.etag, '"a"');
    });

    test('finish writes the state, its event and one delivery per URL together, once', async () => {
      const record = newRecord();
      await store.records.create(record);
      await store.records.claim(record.id, 'granted', { size: 1000, etag: '"a"' }, NOW, at(MINUTE));
      const outcome = {
        state: 'verified' as const,
        reason: null,
        event: event('msg_one'),
        deliverTo: ['http://a.example/h', 'http://b.example/h'],
        nextLookAt: null,
      };
      assert.equal(await store.records.finish(record.id, 'uploaded', outcome, at(1000)), true);
      assert.equal(await store.records.finish(record.id, 'uploaded', { ...outcome, event: event('msg_two') }, at(2000)), false);
      assert.equal((await store.records.byId(record.id))?.state, 'verified');
      const page = await store.outbox.listDeliveries({ limit: 10 });
      assert.deepEqual(page.deliveries.map((delivery) => [delivery.eventId, delivery.url, delivery.state]).sort(), [
        ['msg_one', 'http://a.example/h', 'pending'],
        ['msg_one', 'http://b.example/h', 'pending'],
      ]);
    });

    test('an event that cannot be written leaves the state as it was (one transaction)', async () => {
      const [one, two] = [newRecord(), newRecord()];
      await store.records.create(one);
      await store.records.create(two);
      await store.records.finish(
        one.id,
        'granted',
        { state: 'expired', reason: 'x', event: event('msg_same'), deliverTo: [], nextLookAt: null },
        NOW,
      );
      await assert.rejects(
        store.records.finish(
          two.id,
          'granted',
          { state: 'expired', reason: 'x', event: event('msg_same'), deliverTo: [], nextLookAt: null },
          NOW,
        ),
      );
      assert.equal((await store.records.byId(two.id))?.state, 'granted');
    });

    test('due: what the sweeper looks at next, by next look; leases, last looks and deferrals move it', async () => {
      const due = newRecord({ nextLookAt: at(-2 * MINUTE) });
      const notYet = newRecord({ nextLookAt: at(MINUTE) });
      const leased = newRecord({ nextLookAt: at(-3 * MINUTE) });
      const lastLook = newRecord({ nextLookAt: at(-MINUTE) });
      for (const record of [due, notYet, leased, lastLook]) await store.records.create(record);
      await store.records.claim(leased.id, 'granted', { size: 1, etag: '"l"' }, NOW, at(MINUTE));
      await store.records.claim(lastLook.id, 'granted', { size: 1, etag: '"v"' }, at(-3 * MINUTE), at(-2 * MINUTE));
      const verified = { state: 'verified' as const, reason: null, event: event('msg_last'), deliverTo: [], nextLookAt: at(-30_000) };
      await store.records.finish(lastLook.id, 'uploaded', verified, at(-3 * MINUTE));
      assert.deepEqual(
        (await store.records.due(NOW, 10)).map((record) => record.id),
        [due.id, lastLook.id],
      );
      await store.records.lookAgain(lastLook.id, null);
      await store.records.lookAgain(due.id, at(5 * MINUTE));
      assert.deepEqual(await store.records.due(NOW, 10), []);
      // Both due at the same instant (the lease's end, the first look): in either order.
      assert.deepEqual((await store.records.due(at(2 * MINUTE), 10)).map((record) => record.id).sort(), [leased.id, notYet.id].sort());
    });

    test('grantedBy: the grant an object stored at some instant came through', async () => {
      const first = newRecord({ key: 'k/owned', grantedAt: at(-10 * MINUTE) });
      const second = newRecord({ key: 'k/owned', grantedAt: at(-MINUTE) });
      await store.records.create(first);
      await store.records.create(second);
      assert.equal(await store.records.grantedBy('k/owned', at(-11 * MINUTE)), undefined);
      assert.equal((await store.records.grantedBy('k/owned', at(-5 * MINUTE)))?.id, first.id);
      assert.equal((await store.records.grantedBy('k/owned', NOW))?.id, second.id);
    });

    test('quota usage: verified bytes and in-flight grants count; rejected, expired, stale and other subjects or rules do not', async () => {
      const records = {
        verified: newRecord({ maxBytes: 1000 }),
        inFlight: newRecord({ maxBytes: 300 }),
        uploading: newRecord({ maxBytes: 50 }),
        rejected: newRecord({ maxBytes: 7000 }),
        stale: newRecord({ maxBytes: 9000, grantedAt: at(-60 * MINUTE), expiresAt: at(-30 * MINUTE) }),
        yesterday: newRecord({ maxBytes: 20, grantedAt: new Date(DAY_START.getTime() - MINUTE), expiresAt: at(MINUTE) }),
        otherRule: newRecord({ maxBytes: 8000, source: { kind: 'rule', id: 'other' } }),
        otherSubject: newRecord({ maxBytes: 8000, subject: 'bob' }),
      };
      for (const record of Object.values(records)) await store.records.create(record);
      await store.records.claim(records.verified.id, 'granted', { size: 400, etag: '"v"' }, NOW, at(MINUTE));
      await store.records.finish(
        records.verified.id,
        'uploaded',
        { state: 'verified', reason: null, event: event('msg_v'), deliverTo: [], nextLookAt: null },
        NOW,
      );
      await store.records.claim(records.uploading.id, 'granted', { size: 50, etag: '"u"' }, NOW, at(MINUTE));
      await store.records.claim(records.rejected.id, 'granted', { size: 7000, etag: '"r"' }, NOW, at(MINUTE));
      await store.records.finish(
        records.rejected.id,
        'uploaded',
        { state: 'rejected', reason: 'x', event: event('msg_r'), deliverTo: [], nextLookAt: null },
        NOW,
      );
      let seen: QuotaUsage | undefined;
      await store.records.create(newRecord(), {
        dayStart: DAY_START,
        graceMs: 10 * MINUTE,
        check: (usage) => {
          seen = usage;
        },
      });
      // The verified object at its real size, the grants in flight at their maximum.
      assert.equal(seen?.bytesToday, 400 + 300 + 50);
      assert.equal(seen?.objectsToday, 3);
      assert.equal(seen?.inFlight, 3, "in flight: inFlight, uploading and yesterday's still-open grant");
      assert.equal(
        seen?.firstInFlightEndsAt?.getTime(),
        at(MINUTE + 10 * MINUTE).getTime(),
        "the earliest expiry in flight (yesterday's) plus the grace",
      );
    });

    test('a refused check writes nothing', async () => {
      const record = newRecord();
      await assert.rejects(
        store.records.create(record, {
          dayStart: DAY_START,
          graceMs: 0,
          check: () => {
            throw new QuotaRefusal('objectsPerDay', 'no', at(MINUTE));
          },
        }),
        QuotaRefusal,
      );
      assert.equal(await store.records.byId(record.id), undefined);
    });

    test('grants racing for the last places of a quota: exactly as many as fit are written', async () => {
      const replica = second ? await second(store) : store;
      try {
        const check = {
          dayStart: DAY_START,
          graceMs: 0,
          check: (usage: QuotaUsage) => {
            if (usage.inFlight + 1 > 3) throw new QuotaRefusal('concurrentUploads', 'full', at(MINUTE));
          },
        };
        const outcomes = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : replica).records.create(newRecord({ key: `race/${i}` }), check)),
        );
        assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 3);
        assert.ok(outcomes.every((outcome) => outcome.status === 'fulfilled' || outcome.reason instanceof QuotaRefusal));
      } finally {
        if (replica !== store) await replica.close();
      }
    });
  });
}
