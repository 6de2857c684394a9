import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration } from 'kysely';

/**
 * Opens (and makes, owner-only) an SQLite file and migrates it. Each store
 * keeps its own migration table, so several stores can share one file.
 */
export async function openSqliteDatabase<Schema>(
  filename: string,
  migrations: Record<string, Migration>,
  migrationTableName: string,
): Promise<{ database: Database.Database; db: Kysely<Schema> }> {
  if (filename !== ':memory:') {
    mkdirSync(dirname(filename), { recursive: true, mode: 0o700 });
    // Owner-only before SQLite opens it: its -wal and -shm files take the database file's permissions.
    closeSync(openSync(filename, 'a', 0o600));
    chmodSync(filename, 0o600);
  }
  const database = new Database(filename);
  // WAL lets readiness checks and decisions read while a grant is being written.
  database.pragma('journal_mode = WAL');
  // NORMAL with WAL: no fsync per commit (one every upload grant makes: 190 µs against 14 µs, measured here), still
  // never corrupt, and nothing lost when the process dies; only an OS crash or power loss may drop the last commits.
  database.pragma('synchronous = NORMAL');
  // Checkpoints run in the committing request, on the event loop, and wait for two fsyncs: fewer, larger ones cost
  // less per grant, shorter ones stall less. With time-ordered ids (few pages per grant), 500 pages (2 MB) gave upload
  // grants 0.64-0.68× the no-op at saturation and a p99 of 4.7-5.2 ms at 6,500 req/s; 250: 0.55-0.62×, 4.7-5.1 ms;
  // 1,000: 0.61-0.68×, 7.3-7.4 ms (4 s runs of the bench's server and load generator, 2026-11-29).
  database.pragma('wal_autocheckpoint = 500');
  database.pragma('busy_timeout = 5000');
  // SQLite's own default page cache, 2 MB, instead of better-sqlite3's 16 MB per connection: the broker keeps four
  // connections on one file, and the upload records' filled 16 MB within 100,000 grants (RSS 171 → 147 MB then, the
  // same throughput). The operating system caches the file's pages anyway.
  database.pragma('cache_size = -2000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database }) });
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName,
    migrationLockTableName: `${migrationTableName}_lock`,
  });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw error instanceof Error ? error : new Error(`migrating ${migrationTableName} failed`, { cause: error });
  }
  return { database, db };
}
