import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresStoreConfig } from '../../src/config/config.js';
import { dockerAvailable } from './s3-endpoint.js';

export const POSTGRES_IMAGE = 'postgres:15';

const HOW_TO_PROVIDE = `The PostgreSQL tests need a server and found none.
Provide one of:
  - \`bash scripts/local-postgres.sh\` in another terminal, then TEST_DATABASE_URL=postgres://broker:broker@127.0.0.1:55432/broker;
  - TEST_DATABASE_URL for any PostgreSQL 13+ whose user may create databases (each test file makes and drops its own);
  - a running Docker engine: the tests then start ${POSTGRES_IMAGE} with testcontainers;
  - on a bare Linux machine: \`bash .ci/run\`.`;

export interface PostgresServer {
  /** A fresh database of its own on the server, as the broker's store config. */
  freshDatabase(options?: Partial<Pick<PostgresStoreConfig, 'migrateOnStart' | 'timeoutMs'>>): Promise<PostgresStoreConfig>;
  stop(): Promise<void>;
}

/**
 * Drops a test database, ending its connections. An autovacuum worker still in it belongs to the superuser, whom a
 * test role may not terminate (42501): it finishes within moments, so the drop is tried again.
 */
async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin.query(`drop database if exists ${name} with (force)`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '42501' || attempt === 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * A PostgreSQL for tests: TEST_DATABASE_URL, else postgres:15 through testcontainers where Docker runs, else a
 * failure that says how to provide one. Each fresh database is dropped at stop(), so runs leave nothing behind.
 */
export async function startPostgres(): Promise<PostgresServer> {
  let url = process.env.TEST_DATABASE_URL;
  let stopContainer = async (): Promise<void> => undefined;
  if (!url) {
    if (!dockerAvailable()) throw new Error(HOW_TO_PROVIDE);
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer(POSTGRES_IMAGE).start();
    url = container.getConnectionUri();
    stopContainer = async () => void (await container.stop());
  }
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const databases: string[] = [];
  return {
    async freshDatabase(options = {}) {
      const name = `broker_test_${randomBytes(6).toString('hex')}`;
      await admin.query(`create database ${name}`);
      databases.push(name);
      const databaseUrl = new URL(url);
      databaseUrl.pathname = `/${name}`;
      return { kind: 'postgres', url: databaseUrl.href, migrateOnStart: true, timeoutMs: 2000, poolSize: 4, ...options };
    },
    async stop() {
      try {
        for (const name of databases) await dropDatabase(admin, name);
      } finally {
        await admin.end();
        await stopContainer();
      }
    },
  };
}
