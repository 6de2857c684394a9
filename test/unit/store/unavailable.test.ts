import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUnavailable } from '../../../src/store/unavailable.js';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test('a database away or too slow is "unavailable" (503, retry); a fault or a broken database is not (500)', () => {
  for (const error of [
    coded('ECONNREFUSED'),
    coded('ECONNRESET'),
    coded('ETIMEDOUT'),
    coded('57P01', 'terminating connection due to administrator command'),
    coded('57014', 'canceling statement due to statement timeout'),
    coded('53300', 'sorry, too many clients already'),
    coded('08006', 'connection failure'),
    coded('SQLITE_BUSY', 'database is locked'),
    coded('SQLITE_BUSY_SNAPSHOT', 'database is locked'),
    coded('SQLITE_LOCKED_SHAREDCACHE', 'database table is locked'),
    new Error('timeout exceeded when trying to connect'),
    new Error('Query read timeout'),
    new Error('Connection terminated unexpectedly'),
  ]) {
    assert.equal(isUnavailable(error), true, error.message);
  }
  for (const error of [
    coded('SQLITE_CORRUPT', 'database disk image is malformed'),
    coded('SQLITE_FULL', 'database or disk is full'),
    coded('42P01', 'relation "entitlements" does not exist'),
    coded('23505', 'duplicate key value violates unique constraint'),
    new TypeError("Cannot read properties of undefined (reading 'id')"),
    'a string',
    undefined,
  ]) {
    assert.equal(isUnavailable(error), false, String(error));
  }
});
