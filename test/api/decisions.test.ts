import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import type { DecisionRecord } from '../../src/audit/decision-recorder.js';
import type { S3Signer } from '../../src/signing/s3-signer.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { bearer } from '../helpers/tokens.js';

const now = new Date('2026-06-01T12:00:00.750Z');

describe('every decision goes through the decision recorder', async () => {
  const records: DecisionRecord[] = [];
  const app = await testApp({
    config: testConfig({ cloudfront: true }),
    now: () => now,
    decisionRecorder: { record: (r) => records.push(r) },
  });
  after(() => app.close());
  beforeEach(() => {
    records.length = 0;
  });
  const alice = { ...bearer({ sub: 'alice' }), 'x-request-id': 'trace-42' };

  test('a download request records one decision per valid key, allowed or denied, with who, what, where and why', async () => {
    const keys = ['uploads/alice/a.txt', 'uploads/bob/b.txt', 'a//b'];
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys },
      headers: alice,
      remoteAddress: '203.0.113.9',
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(
      records.map((r) => [r.kind, r.action, r.target, r.decision.allow]),
      [
        ['download', 'read', { kind: 'key', key: 'uploads/alice/a.txt' }, true],
        ['download', 'read', { kind: 'key', key: 'uploads/bob/b.txt' }, false],
      ],
      'an invalid key is refused before any decision',
    );
    for (const record of records) {
      assert.equal(record.requestId, 'trace-42');
      assert.equal(record.subject, 'alice');
      assert.equal(record.clientAddress, '203.0.113.9');
      assert.equal(record.at.toISOString(), '2026-06-01T12:00:00.000Z', 'the decision clock is in whole seconds');
    }
    const [allowed, denied] = records.map((record) => record.decision);
    assert.deepEqual(allowed?.allow === true ? allowed.source : undefined, { kind: 'rule', id: 'dev-own-uploads' });
    assert.equal(denied?.allow === false ? denied.code : undefined, 'BROKER_FORBIDDEN');
  });

  test('a generated upload key records only the outcome, not each candidate tried', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'text/plain', contentLength: 3 },
      headers: alice,
    });
    assert.equal(response.statusCode, 201);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.kind, 'upload');
    assert.deepEqual(records[0]?.target, { kind: 'key', key: response.json<{ key: string }>().key });
  });

  test('a refused upload and a refused bundle are recorded as denials', async () => {
    const upload = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'text/plain', contentLength: 3, key: 'public/x.txt' },
      headers: alice,
    });
    assert.equal(upload.statusCode, 403);
    const bundle = await app.inject({ method: 'POST', url: '/v1/bundles/demo/cookies', headers: bearer({ sub: 'bob' }) });
    assert.equal(bundle.statusCode, 200);
    assert.deepEqual(
      records.map((r) => [r.kind, r.subject, r.decision.allow]),
      [
        ['upload', 'alice', false],
        ['bundle', 'bob', true],
      ],
    );
  });

  test('a request refused before any decision (bad token, bad body) records nothing', async () => {
    await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/x'] } });
    await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [] }, headers: alice });
    assert.deepEqual(records, []);
  });
});

describe('ports own their lifecycle', () => {
  test('the configured SQLite store is opened by the app and closed with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'broker-store-'));
    try {
      const filename = join(dir, 'entitlements.sqlite');
      const app = await testApp({ config: testConfig({ overrides: { store: { kind: 'sqlite', filename } } }) });
      await app.ready();
      assert.ok(existsSync(filename), 'the store file is created');
      assert.ok(existsSync(`${filename}-wal`), 'an open WAL database has its -wal file');
      await app.close();
      assert.ok(!existsSync(`${filename}-wal`), 'closing the last connection checkpoints and removes the -wal file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a store or signer passed in belongs to the caller: the app does not close it', async () => {
    const store = await openSqliteStore(':memory:');
    let signerClosed = false;
    const s3Signer: S3Signer = {
      presignPut: () => Promise.reject(new Error('unused')),
      presignPost: () => Promise.reject(new Error('unused')),
      presignPart: () => Promise.reject(new Error('unused')),
      presignGet: () => Promise.reject(new Error('unused')),
      credentialsExpireAt: async () => undefined,
      prepare: async () => undefined,
      close: () => {
        signerClosed = true;
      },
    };
    const { buildApp } = await import('../../src/app.js');
    const app = await buildApp({ config: testConfig(), store, s3Signer, logger: false });
    await app.ready();
    await app.close();
    assert.equal(signerClosed, false);
    await store.ping(); // still open
    await store.close();
  });
});
