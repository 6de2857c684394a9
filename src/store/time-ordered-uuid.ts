import { randomUUID } from 'node:crypto';

/**
 * A UUID version 7 (RFC 9562): the time in milliseconds first, then 74 random bits from `randomUUID`'s pooled source.
 * Ids made one after another sort together, so a table and index keyed by them grow at one end: an insert touches
 * the last pages instead of a random page of a large index (which in SQLite's WAL is a page to write and later copy).
 */
export function timeOrderedUuid(now: number = Date.now()): string {
  const time = Math.trunc(now).toString(16).padStart(12, '0');
  // randomUUID's tail past the version digit: three random hex digits, then the variant group and the last 12 digits.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}
