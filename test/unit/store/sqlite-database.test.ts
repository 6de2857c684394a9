import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openSqliteDatabase } from '../../../src/store/sqlite-database.js';

const dir = mkdtempSync(join(tmpdir(), 'broker-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a store file opens owner-only, in WAL without an fsync per commit, with a 2 MB page cache and 2 MB checkpoints', async () => {
  const filename = join(dir, 'nested', 'broker.sqlite');
  const { database, db } = await openSqliteDatabase(filename, {}, 'test_migration');
  try {
    const pragma = (name: string): unknown => database.pragma(name, { simple: true });
    assert.equal(pragma('journal_mode'), 'wal');
    assert.equal(pragma('synchronous'), 1, 'NORMAL');
    assert.equal(pragma('cache_size'), -2000, "KiB: not better-sqlite3's default of 16 MB");
    assert.equal(pragma('wal_autocheckpoint'), 500);
    assert.equal(pragma('busy_timeout'), 5000);
    assert.equal(statSync(filename).mode & 0o777, 0o600);
  } finally {
    await db.destroy();
  }
});
