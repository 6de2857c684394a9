import { Kysely, Migrator, PostgresDialect, type Migration } from 'kysely';
import pg from 'pg';
import type { PostgresStoreConfig } from '../config/config.js';

/** Thrown when MIGRATE_ON_START=false and the schema is behind: the broker refuses to run on a schema it does not know. */
export class PendingMigrationsError extends Error {
  constructor(readonly pending: readonly string[]) {
    super(`the database schema is behind (pending: ${pending.join(', ')}); run \`npm run migrate\`, or set MIGRATE_ON_START=true`);
  }
}

/**
 * A pool on DATABASE_URL with bounded waits (a connection, a statement), migrated or checked first. Each store
 * keeps its own migration table, as on SQLite. Kysely's migrator takes a lock, so replicas starting together
 * migrate once.
 */
export async function openPostgresDatabase<Schema>(
  config: PostgresStoreConfig,
  migrations: Record<string, Migration>,
  migrationTableName: string,
): Promise<{ pool: pg.Pool; db: Kysely<Schema> }> {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize,
    connectionTimeoutMillis: config.timeoutMs,
    // Both sides: the server cancels a slow statement, the client stops waiting for a server that went silent.
    statement_timeout: config.timeoutMs,
    query_timeout: config.timeoutMs + 500,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server emits here; without a listener Node would exit. The next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  // Migrations on a connection of their own without the request timeouts: building an index on a large table, or
  // waiting for another replica's migration lock, takes longer than any grant may.
  const migrationDb = new Kysely<unknown>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: config.url, max: 1, connectionTimeoutMillis: config.timeoutMs }),
    }),
  });
  try {
    const migrator = new Migrator({
      db: migrationDb,
      provider: { getMigrations: async () => migrations },
      migrationTableName,
      migrationLockTableName: `${migrationTableName}_lock`,
    });
    if (config.migrateOnStart) {
      const { error } = await migrator.migrateToLatest();
      if (error) throw error instanceof Error ? error : new Error(`migrating ${migrationTableName} failed`, { cause: error });
    } else {
      const pending = (await migrator.getMigrations()).filter((migration) => migration.executedAt === undefined);
      if (pending.length > 0) throw new PendingMigrationsError(pending.map((migration) => migration.name));
    }
  } catch (error) {
    await db.destroy();
    throw error;
  } finally {
    await migrationDb.destroy();
  }
  return { pool, db };
}
