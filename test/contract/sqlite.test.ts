import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openStore, type EntitlementStore } from '../../src/store/entitlement-store.js';
import { openMultipartStore } from '../../src/store/multipart-store.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { aliceReads, entitlementStoreContract, msFromNow, newEntitlement, NOW } from './entitlement-store.js';
import { multipartStoreContract } from './multipart-store.js';
import { policyCasesContract } from './policy-cases.js';
import { auditStoreContract } from './audit-store.js';
import { openAuditStore } from '../../src/audit/audit-stores.js';
import { lifecycleMigrations, sqliteLifecycleDialect, type LifecycleSchema } from '../../src/lifecycle/lifecycle-schema.js';
import { openSqliteDatabase } from '../../src/store/sqlite-database.js';
import { outboxStoreContract } from './outbox-store.js';
import { uploadRecordStoreContract } from './upload-record-store.js';
import { openLifecycleStore } from '../../src/lifecycle/lifecycle-plugin.js';

const root = mkdtempSync(join(tmpdir(), 'entitlement-store-contract-'));
after(() => rmSync(root, { recursive: true, force: true }));

let files = 0;
/** A file in a directory that does not exist yet: the store creates it. */
const freshFilename = (): string => {
  files += 1;
  return join(root, `store-${files}`, 'data', 'entitlements.sqlite');
};

entitlementStoreContract('SQLite store in memory', () => openSqliteStore(':memory:'));
entitlementStoreContract('SQLite store in a file (openStore)', () => openStore({ kind: 'sqlite', filename: freshFilename() }));
multipartStoreContract('SQLite multipart store in a file', () => openMultipartStore({ kind: 'sqlite', filename: freshFilename() }));
policyCasesContract('SQLite store', () => openSqliteStore(':memory:'));
auditStoreContract('SQLite audit store', () => openAuditStore({ kind: 'sqlite', filename: ':memory:' }));
let lifecycleFile = '';
uploadRecordStoreContract(
  'SQLite',
  () => openLifecycleStore({ kind: 'sqlite', filename: (lifecycleFile = freshFilename()) }),
  // A second connection to the same file (another process, or another store of this one): the quota's lock must hold.
  () => openLifecycleStore({ kind: 'sqlite', filename: lifecycleFile }),
);
outboxStoreContract('SQLite webhook outbox', async () => {
  const { db } = await openSqliteDatabase<LifecycleSchema>(':memory:', lifecycleMigrations(sqliteLifecycleDialect), 'lifecycle_migration');
  return { db, dialect: sqliteLifecycleDialect };
});

describe('SQLite file store shared by the CLI and a running broker', () => {
  let filename: string;
  let broker: EntitlementStore;
  let cli: EntitlementStore;

  beforeEach(async () => {
    filename = freshFilename();
    broker = await openStore({ kind: 'sqlite', filename });
    cli = await openStore({ kind: 'sqlite', filename });
  });

  afterEach(async () => {
    await cli.close();
    await broker.close();
  });

  test('an entitlement granted through one handle is live in another opened on the same file', async () => {
    const granted = await cli.create(newEntitlement({ expiresAt: msFromNow(60_000) }), NOW);
    assert.deepEqual(await broker.liveFor('alice', NOW), [granted]);
  });

  test('a revoke through one handle takes effect in the other', async () => {
    const granted = await broker.create(newEntitlement(), NOW);
    assert.equal((await broker.liveFor('alice', NOW)).length, 1);
    assert.equal(await cli.revoke(granted.id, NOW), true);
    assert.deepEqual(await broker.liveFor('alice', NOW), []);
    assert.equal(await broker.revoke(granted.id, NOW), false);
  });

  test('the same entitlement revoked from both handles at once: exactly one revoke wins', async () => {
    const granted = await broker.create(newEntitlement(), NOW);
    const results = await Promise.all([cli, broker, cli, broker].map((store) => store.revoke(granted.id, NOW)));
    assert.equal(results.filter(Boolean).length, 1);
  });

  test('creates from both handles at once all land', async () => {
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? cli : broker).create(newEntitlement({ reason: `r${i}` }), NOW)),
    );
    const live = (await broker.liveFor('alice', NOW)).map((entitlement) => entitlement.id).sort();
    assert.deepEqual(live, created.map((entitlement) => entitlement.id).sort());
    assert.deepEqual((await cli.liveFor('alice', NOW)).map((entitlement) => entitlement.id).sort(), live);
  });

  test('entitlements survive closing every handle and reopening the file', async () => {
    const granted = await cli.create(newEntitlement({ notBefore: msFromNow(-1), expiresAt: msFromNow(1000) }), NOW);
    await cli.close();
    await broker.close();
    const reopened = await openStore({ kind: 'sqlite', filename });
    try {
      assert.deepEqual(await reopened.liveFor('alice', NOW), [granted]);
    } finally {
      await reopened.close();
    }
    // afterEach closes these again; closing twice must be harmless.
  });

  test('the store creates its missing directory, private to the broker’s user', () => {
    const directory = join(filename, '..');
    assert.ok(statSync(filename).isFile());
    assert.equal(statSync(directory).mode & 0o777, 0o700);
  });

  describe('rows written around create (by hand in the database)', () => {
    function insertByHand(resources: readonly string[] | string, { id = 'by-hand-1', actions = '["read"]' } = {}): string {
      const database = new Database(filename);
      try {
        database
          .prepare(
            `insert into entitlements (id, subject, bundle_id, resources, actions, not_before, expires_at, revoked_at, granted_by, reason, created_at)
             values (?, 'alice', null, ?, ?, null, null, null, 'dba', 'by hand', ?)`,
          )
          .run(id, typeof resources === 'string' ? resources : JSON.stringify(resources), actions, NOW.getTime());
      } finally {
        database.close();
      }
      return id;
    }

    test('regression: a malformed stored pattern grants nothing, and the entitlement’s other patterns still do', async () => {
      const resources = ['/x/*', 'x?', 'shared/{oops', 'reports/*'];
      const id = insertByHand(resources);
      const live = await broker.liveFor('alice', NOW);
      assert.equal(live.length, 1);
      const [found] = live;
      assert.equal(found?.id, id);
      assert.deepEqual(found.resources, resources, 'the stored sources are shown as they are');
      assert.deepEqual(
        found.patterns.map((pattern) => pattern.source),
        ['reports/*'],
      );
      assert.equal(aliceReads(live, 'reports/q1.pdf'), true);
      for (const key of ['/x/a', 'x/a', 'x?', 'xa', 'shared/{oops', 'shared/anything']) assert.equal(aliceReads(live, key), false, key);
    });

    test('regression: a row whose lists do not parse grants nothing, and the subject’s other entitlements still do', async () => {
      const good = insertByHand(['reports/*'], { id: 'good' });
      insertByHand('reports/* not json', { id: 'broken-json' });
      insertByHand('{"not":"a list"}', { id: 'not-a-list' });
      insertByHand(['shared/*'], { id: 'unknown-action', actions: '["read","admin"]' });
      const live = await broker.liveFor('alice', NOW);
      assert.deepEqual(
        live.map((entitlement) => entitlement.id),
        [good],
      );
      assert.equal(aliceReads(live, 'reports/q1.pdf'), true);
      assert.equal(aliceReads(live, 'shared/x'), false);
    });

    test('regression: a create_only written by hand as anything but 0 fails closed (create-only)', async () => {
      insertByHand(['drop/*'], { id: 'by-hand-2', actions: '["write"]' });
      const database = new Database(filename);
      try {
        database.prepare(`update entitlements set create_only = 2 where id = 'by-hand-2'`).run();
      } finally {
        database.close();
      }
      const [found] = await broker.liveFor('alice', NOW);
      assert.equal(found?.createOnly, true);
    });

    test('a file made before create-only existed opens, and its entitlements may replace keys as before', async () => {
      const old = freshFilename();
      const first = await openStore({ kind: 'sqlite', filename: old });
      await first.close();
      const database = new Database(old);
      try {
        // Back to the first schema: the later migrations undone, as a broker of an earlier release left the file.
        database.exec(
          `drop table idempotency_keys; drop index entitlements_created; alter table entitlements drop column revoked_by;
           alter table entitlements drop column create_only; delete from kysely_migration where name in ('0002-create-only', '0003-admin')`,
        );
        database
          .prepare(
            `insert into entitlements (id, subject, bundle_id, resources, actions, not_before, expires_at, revoked_at, granted_by, reason, created_at)
             values ('old', 'alice', null, '["drop/*"]', '["write"]', null, null, null, 'dba', 'old release', ?)`,
          )
          .run(NOW.getTime());
      } finally {
        database.close();
      }
      const reopened = await openStore({ kind: 'sqlite', filename: old });
      try {
        const [found] = await reopened.liveFor('alice', NOW);
        assert.equal(found?.id, 'old');
        assert.equal(found.createOnly, false);
      } finally {
        await reopened.close();
      }
    });

    test('rows that no longer parse do not end the paging early', async () => {
      for (let i = 0; i < 3; i += 1) insertByHand('not json', { id: `broken-${i}` });
      const good = insertByHand(['reports/*'], { id: 'zz-good' });
      const seen: string[] = [];
      let after;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await broker.list({ now: NOW, after, limit: 2 });
        seen.push(...page.records.map((record) => record.id));
        if (page.next === undefined) break;
        after = page.next;
      }
      assert.deepEqual(seen, [good]);
    });

    test('a row written by hand can still be revoked through the store', async () => {
      const id = insertByHand(['reports/*']);
      assert.equal(await cli.revoke(id, NOW), true);
      assert.deepEqual(await broker.liveFor('alice', NOW), []);
    });
  });
});
