import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { quotaCheck, utcDayStart } from '../../../src/lifecycle/quotas.js';
import { QuotaRefusal, type QuotaUsage } from '../../../src/lifecycle/upload-records.js';

const now = new Date('2026-11-29T19:30:00.000Z');
const rule = { kind: 'rule', id: 'photos' } as const;
const usage = (overrides: Partial<QuotaUsage> = {}): QuotaUsage => ({
  bytesToday: 0,
  objectsToday: 0,
  inFlight: 0,
  firstInFlightEndsAt: undefined,
  ...overrides,
});
const refusal = (run: () => void): QuotaRefusal => {
  try {
    run();
  } catch (error) {
    if (error instanceof QuotaRefusal) return error;
    throw error;
  }
  assert.fail('the grant was allowed');
};

describe('upload quotas', () => {
  test('the day starts at UTC midnight', () => {
    assert.equal(utcDayStart(now).toISOString(), '2026-11-29T00:00:00.000Z');
    assert.equal(utcDayStart(new Date('2026-11-29T00:00:00.000Z')).toISOString(), '2026-11-29T00:00:00.000Z');
    assert.equal(utcDayStart(new Date('2026-11-28T23:59:59.999Z')).toISOString(), '2026-11-28T00:00:00.000Z');
  });

  test('bytesPerDay: a grant that lands exactly on the quota fits, one byte more does not', () => {
    const check = quotaCheck({ bytesPerDay: 1000 }, rule, 400, now);
    check(usage({ bytesToday: 600 }));
    const refused = refusal(() => check(usage({ bytesToday: 601 })));
    assert.equal(refused.quota, 'bytesPerDay');
    assert.equal(refused.resetsAt.toISOString(), '2026-11-30T00:00:00.000Z');
    assert.match(refused.detail, /rule "photos" allows 1000 bytes a day; 601 .* asks for 400; it resets at 2026-11-30T00:00:00\.000Z/u);
  });

  test('objectsPerDay and concurrentUploads count this grant as one more', () => {
    quotaCheck({ objectsPerDay: 3 }, rule, 1, now)(usage({ objectsToday: 2 }));
    assert.equal(refusal(() => quotaCheck({ objectsPerDay: 3 }, rule, 1, now)(usage({ objectsToday: 3 }))).quota, 'objectsPerDay');
    quotaCheck({ concurrentUploads: 2 }, rule, 1, now)(usage({ inFlight: 1 }));
    const ends = new Date('2026-11-29T19:45:00.000Z');
    const refused = refusal(() => quotaCheck({ concurrentUploads: 2 }, rule, 1, now)(usage({ inFlight: 2, firstInFlightEndsAt: ends })));
    assert.equal(refused.quota, 'concurrentUploads');
    assert.equal(refused.resetsAt.getTime(), ends.getTime());
  });

  test('a quota of 0 refuses every grant; no quota named refuses nothing', () => {
    assert.equal(refusal(() => quotaCheck({ objectsPerDay: 0 }, rule, 1, now)(usage())).quota, 'objectsPerDay');
    quotaCheck({}, rule, 10 ** 12, now)(usage({ bytesToday: 10 ** 12, objectsToday: 10 ** 6, inFlight: 10 ** 6 }));
  });

  test('concurrency is reported first, and a reset in the past is a second from now', () => {
    const refused = refusal(() =>
      quotaCheck(
        { concurrentUploads: 1, objectsPerDay: 1 },
        rule,
        1,
        now,
      )(usage({ inFlight: 1, objectsToday: 1, firstInFlightEndsAt: new Date(now.getTime() - 60_000) })),
    );
    assert.equal(refused.quota, 'concurrentUploads');
    assert.equal(refused.resetsAt.getTime(), now.getTime() + 1000);
  });
});
