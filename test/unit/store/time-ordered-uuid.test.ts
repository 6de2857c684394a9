import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeOrderedUuid } from '../../../src/store/time-ordered-uuid.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/u;

test('a time-ordered id is an RFC 9562 version 7 UUID carrying its millisecond', () => {
  const at = Date.UTC(2026, 10, 29, 21, 30, 0, 123);
  const id = timeOrderedUuid(at);
  assert.match(id, UUID_V7);
  assert.equal(Number.parseInt(id.replace(/-/gu, '').slice(0, 12), 16), at);
  assert.match(timeOrderedUuid(0), /^00000000-0000-7/u);
});

test('ids of later milliseconds sort after earlier ones, as text', () => {
  const start = Date.UTC(2026, 0, 1);
  const ids = [0, 1, 255, 256, 4096, 86_400_000, 10 ** 11].map((offset) => timeOrderedUuid(start + offset));
  assert.deepEqual([...ids].sort(), ids);
});

test('ids of the same millisecond differ in their random bits', () => {
  const ids = new Set(Array.from({ length: 10_000 }, () => timeOrderedUuid(1_700_000_000_000)));
  assert.equal(ids.size, 10_000);
  for (const id of ids) assert.match(id, UUID_V7);
});
