import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryDelayMs } from '../../../src/webhooks/backoff.js';

const options = { baseMs: 1000, maxMs: 60_000 };
/** Just under 1: the top of each attempt's range (random() never returns 1). */
const top = () => 1 - Number.EPSILON;

test('the ceiling doubles from baseMs with each failed attempt, up to maxMs', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => retryDelayMs(attempt, options, top)),
    [999, 1999, 3999, 7999, 15_999, 31_999, 59_999, 59_999],
  );
});

test('full jitter: the delay is drawn from all of [0, ceiling), in whole milliseconds', () => {
  assert.equal(
    retryDelayMs(3, options, () => 0),
    0,
  );
  assert.equal(
    retryDelayMs(3, options, () => 0.5),
    2000,
  );
  assert.equal(
    retryDelayMs(3, options, () => 0.123456),
    493,
  );
  for (let i = 0; i < 1000; i += 1) {
    const delay = retryDelayMs(4, options);
    assert.ok(Number.isInteger(delay) && delay >= 0 && delay < 8000, String(delay));
  }
});

test('no overflow however many attempts: still capped at maxMs', () => {
  for (const attempt of [30, 53, 1024, 10_000, Number.MAX_SAFE_INTEGER]) assert.equal(retryDelayMs(attempt, options, top), 59_999);
});

test('an attempt number below 1 waits as the first', () => {
  assert.equal(retryDelayMs(0, options, top), 999);
});

test('a cap below the base caps the first retry too', () => {
  assert.equal(
    retryDelayMs(1, { baseMs: 500, maxMs: 100 }, () => 0.5),
    50,
  );
});
