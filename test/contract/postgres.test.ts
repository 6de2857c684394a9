import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { cachedEntitlementStore } from '../../src/store/entitlement-cache.js';
import { openStore } from '../../src/store/entitlement-store.js';
import { openMultipartStore } from '../../src/store/multipart-store.js';
import { openPostgresDatabase, PendingMigrationsError } from '../../src/store/postgres-database.js';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { startPostgres } from '../helpers/postgres.js';
import { bearer } from '../helpers/tokens.js';
import { aliceReads, entitlementStoreContract, msFromNow, newEntitlement, NOW } from './entitlement-store.js';
import { multipartStoreContract } from './multipart-store.js';
import { policyCasesContract } from './policy-cases.js';
import { auditStoreContract } from './audit-store.js';
import { openAuditStore } from '../../src/audit/audit-stores.js';
import { lifecycleMigrations, postgresLifecycleDialect, type LifecycleSchema } from '../../src/lifecycle/lifecycle-schema.js';
import { outboxStoreContract } from './outbox-store.js';
import { uploadRecordStoreContract } from './upload-record-store.js';
import { openLifecycleStore } from '../../src/lifecycle/lifecycle-plugin.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const server = startPostgres();
after(async () => (await server).stop());
const freshDatabase = async (options?: Parameters<Awaited<typeof server>['freshDatabase']>[0]) => (await server).freshDatabase(options);

entitlementStoreContract('PostgreSQL store', async () => openStore(await freshDatabase()));
multipartStoreContract('PostgreSQL multipart store', async () => openMultipartStore(await freshDatabase()));
policyCasesContract('PostgreSQL store', async () => openStore(await freshDatabase()));
auditStoreContract('PostgreSQL audit store', async () => openAuditStore(await freshDatabase()));
let lifecycleConfig: Awaited<ReturnType<typeof freshDatabase>> | undefined;
uploadRecordStoreContract(
  'PostgreSQL',
  async () => openLifecycleStore((lifecycleConfig = await freshDatabase())),
  // Another replica on the same database: the quota's lock must hold across connections.
  async () => openLifecycleStore(lifecycleConfig!),
);
outboxStoreContract('PostgreSQL webhook outbox', async () => {
  const config = await freshDatabase();
  const { db } = await openPostgresDatabase<LifecycleSchema>(config, lifecycleMigrations(postgresLifecycleDialect), 'lifecycle_migration');
  return { db, dialect: postgresLifecycleDialect };
});

describe('PostgreSQL store shared by several replicas', () => {
  test('what one replica creates or revokes, another sees at once', async () => {
    const config = await freshDatabase();
    const [one, two] = [await openStore(config), await openStore(config)];
    try {
      const granted = await one.create(newEntitlement({ expiresAt: msFromNow(60_000) }), NOW);
      assert.deepEqual(await two.liveFor('alice', NOW), [granted]);
      assert.equal(await two.revoke(granted.id, NOW), true);
      assert.deepEqual(await one.liveFor('alice', NOW), []);
      assert.equal(await one.revoke(granted.id, NOW), false);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('the same entitlement revoked from two replicas at once: exactly one revoke wins', async () => {
    const config = await freshDatabase();
    const [one, two] = [await openStore(config), await openStore(config)];
    try {
      const granted = await one.create(newEntitlement(), NOW);
      const results = await Promise.all([one, two, one, two].map((store) => store.revoke(granted.id, NOW)));
      assert.equal(results.filter(Boolean).length, 1);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('replicas starting together on an empty database migrate it once, and both work', async () => {
    const config = await freshDatabase();
    const stores = await Promise.all([openStore(config), openStore(config), openStore(config)]);
    try {
      const granted = await stores[0].create(newEntitlement(), NOW);
      for (const store of stores) assert.deepEqual(await store.liveFor('alice', NOW), [granted]);
    } finally {
      for (const store of stores) await store.close();
    }
  });
});

describe('migrations', () => {
  test('MIGRATE_ON_START=false refuses a schema that is behind, naming what is pending; after `migrate` it opens', async () => {
    const config = await freshDatabase({ migrateOnStart: false });
    await assert.rejects(openStore(config), (error: unknown) => {
      assert.ok(error instanceof PendingMigrationsError);
      assert.deepEqual(error.pending, ['0001-entitlements', '0002-admin', '0003-millisecond-created-at']);
      assert.match(error.message, /run `npm run migrate`/u);
      return true;
    });
    await assert.rejects(openMultipartStore(config), PendingMigrationsError);
    await (await openStore({ ...config, migrateOnStart: true })).close();
    await (await openMultipartStore({ ...config, migrateOnStart: true })).shutdown();
    const store = await openStore(config);
    await store.close();
  });
});

describe('paging rows written by hand with now()', () => {
  test('microseconds do not make a row come back after its own cursor: pages of one end, each row once', async () => {
    const config = await freshDatabase();
    const store = await openStore(config);
    const client = new pg.Client({ connectionString: config.url });
    await client.connect();
    try {
      for (let i = 0; i < 3; i += 1) {
        await client.query(
          `insert into entitlements (id, subject, resources, actions, granted_by, reason, created_at)
           values ($1, 'alice', '{shared/*}', '{read}', 'dba', 'by hand', clock_timestamp())`,
          [`hand-${i}`],
        );
      }
      const seen: string[] = [];
      let after;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await store.list({ now: NOW, after, limit: 1 });
        seen.push(...page.records.map((record) => record.id));
        if (page.next === undefined) break;
        after = page.next;
      }
      assert.deepEqual(seen, ['hand-0', 'hand-1', 'hand-2']);
    } finally {
      await client.end();
      await store.close();
    }
  });
});

describe('rows written around create (by hand in the database)', () => {
  test('an unknown action or a malformed pattern grants nothing beyond itself; the other rows still do', async () => {
    const config = await freshDatabase();
    const store = await openStore(config);
    const client = new pg.Client({ connectionString: config.url });
    await client.connect();
    try {
      const insert = (id: string, resources: string[], actions: string[]) =>
        client.query(
          `insert into entitlements (id, subject, bundle_id, resources, actions, granted_by, reason, created_at)
           values ($1, 'alice', null, $2, $3, 'dba', 'by hand', $4)`,
          [id, resources, actions, NOW],
        );
      await insert('good', ['/x/*', 'reports/*'], ['read']);
      await insert('unknown-action', ['shared/*'], ['read', 'admin']);
      const live = await store.liveFor('alice', NOW);
      assert.deepEqual(
        live.map((entitlement) => entitlement.id),
        ['good'],
      );
      assert.equal(aliceReads(live, 'reports/q1.pdf'), true);
      assert.equal(aliceReads(live, '/x/a'), false);
      assert.equal(aliceReads(live, 'shared/x'), false);
    } finally {
      await client.end();
      await store.close();
    }
  });
});

describe('the broker on PostgreSQL', () => {
  test('an entitlement granted and revoked through the CLI decides grants at once; /readyz reads the database', async () => {
    const store = await freshDatabase();
    const app = await testApp({ config: testConfig({ overrides: { store } }) });
    try {
      const alice = bearer({ sub: 'alice' });
      const download = async () => {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/downloads',
          payload: { keys: ['shared/team/plan.pdf'] },
          headers: alice,
        });
        return response.json<{ results: { url?: string; error?: { code: string } }[] }>().results[0];
      };
      assert.equal((await download())?.error?.code, 'BROKER_FORBIDDEN');
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DOTENV_CONFIG_PATH: '/dev/null', DATABASE_URL: store.url };
      const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/entitlements.ts', ...args], { cwd: root, env });
      const granted = await cli('grant', '--sub', 'alice', '--resource', 'shared/team/*', '--by', 'ops', '--reason', 'postgres test');
      const id = /[0-9a-f-]{36}/u.exec(granted.stdout)?.[0];
      assert.ok(id, granted.stdout);
      assert.ok((await download())?.url);
      await cli('revoke', id);
      assert.equal((await download())?.error?.code, 'BROKER_FORBIDDEN');
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  test('`npm run migrate` brings a database up to date for brokers started with MIGRATE_ON_START=false', async () => {
    const store = await freshDatabase({ migrateOnStart: false });
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DOTENV_CONFIG_PATH: '/dev/null', DATABASE_URL: store.url };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/migrate.ts'], { cwd: root, env });
    assert.match(stdout, /^migrate: the PostgreSQL schema is up to date$/mu);
    await (await openStore(store)).close();
    await (await openMultipartStore(store)).shutdown();
    await (await openAuditStore(store)).close();
  });
});

describe('changes pushed to every replica (LISTEN/NOTIFY)', () => {
  /** Polls until `check` holds; fails after `withinMs`. */
  async function eventually(check: () => Promise<boolean>, withinMs: number, what: string): Promise<number> {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > withinMs) assert.fail(`${what}: not within ${withinMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return Date.now() - started;
  }

  test("a revocation on one replica reaches another's cache long before the cache's own bound; so does a grant", async () => {
    const config = await freshDatabase();
    const [one, two] = [await openStore(config), await openStore(config)];
    // A bound of a minute: only the push can make the change visible within the test.
    const cached = cachedEntitlementStore(two, { maxAgeMs: 60_000, maxSubjects: 100 });
    const admin = new pg.Client({ connectionString: config.url });
    await admin.connect();
    try {
      // The listener's first act on connecting is to forget everything: wait for it before priming the cache.
      const listening = async () =>
        (await admin.query(`select 1 from pg_stat_activity where query ilike 'LISTEN%' and datname = current_database()`)).rows.length ===
        1;
      await eventually(listening, 5000, 'the LISTEN connection');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(await cached.store.liveFor('alice', NOW), [], 'nothing yet, and cached as nothing for a minute');
      const granted = await one.create(newEntitlement(), NOW);
      await eventually(async () => (await cached.store.liveFor('alice', NOW)).length === 1, 5000, 'the grant');
      await one.revoke(granted.id, NOW, 'admin');
      await eventually(async () => (await cached.store.liveFor('alice', NOW)).length === 0, 5000, 'the revocation');
    } finally {
      await admin.end();
      cached.stop();
      await one.close();
      await two.close();
    }
  });

  test('a listener that loses its connection reconnects, forgets what it cached meanwhile, and hears later changes', async () => {
    const config = await freshDatabase();
    const [one, two] = [await openStore(config), await openStore(config)];
    const cached = cachedEntitlementStore(two, { maxAgeMs: 60_000, maxSubjects: 100 });
    const admin = new pg.Client({ connectionString: config.url });
    await admin.connect();
    try {
      const first = await one.create(newEntitlement(), NOW);
      await eventually(async () => (await cached.store.liveFor('alice', NOW)).length === 1, 5000, 'the grant');
      const listening = async () =>
        (await admin.query(`select pid from pg_stat_activity where query ilike 'LISTEN%' and datname = current_database()`)).rows.length;
      await eventually(async () => (await listening()) === 1, 5000, 'the LISTEN connection');
      await new Promise((resolve) => setTimeout(resolve, 200)); // the grant's own NOTIFY, delivered
      assert.equal((await cached.store.liveFor('alice', NOW)).length, 1);
      assert.equal(cached.cachedSubjects(), 1, 'alice is cached when the listener goes');
      await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where query ilike 'LISTEN%' and datname = current_database()`,
      );
      await eventually(async () => (await listening()) === 0, 5000, 'the listener gone');
      // Revoked while the listener is away (it waits a second to reconnect): this NOTIFY is lost, and only the
      // reconnection's resync can tell.
      await one.revoke(first.id, NOW);
      await eventually(async () => (await cached.store.liveFor('alice', NOW)).length === 0, 10_000, 'the resync after reconnecting');
      await one.create(newEntitlement({ reason: 'after' }), NOW);
      await eventually(async () => (await cached.store.liveFor('alice', NOW)).length === 1, 5000, 'a change after reconnecting');
    } finally {
      await admin.end();
      cached.stop();
      await one.close();
      await two.close();
    }
  });
});
