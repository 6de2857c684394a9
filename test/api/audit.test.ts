import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import type { AuditRecord, AuditStore } from '../../src/audit/audit-record.js';
import { auditSink } from '../../src/audit/audit-sink.js';
import type { DecisionRecord } from '../../src/audit/decision-recorder.js';
import type { AuditRecordView } from '../../src/admin/schemas.js';
import { capturedLogger, testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { bearer, token } from '../helpers/tokens.js';

const now = new Date('2026-06-01T12:00:00Z');
const admin = bearer({ sub: 'auditor', scope: 'broker:admin' });
const grantTwoKeys = (app: Awaited<ReturnType<typeof testApp>>, headers = bearer({ sub: 'alice' })) =>
  app.inject({
    method: 'POST',
    url: '/v1/downloads',
    payload: { keys: ['public/a.png', 'private/b.png'] },
    headers,
    remoteAddress: '198.51.100.7',
  });

describe('the audit trail in the log stream (AUDIT_LOG)', async () => {
  const config = testConfig({ overrides: { audit: { log: true, database: false, queueMax: 100 } } });
  const { logger, lines } = capturedLogger(config, 'info');
  const app = await testApp({ config, logger, now: () => now });
  after(() => app.close());

  test('one info line per decision, granted or denied, with who, from where, what, what decided and until when; never the token', async () => {
    const secret = token({ sub: 'alice' });
    const response = await grantTwoKeys(app, { authorization: `Bearer ${secret}` });
    assert.equal(response.statusCode, 200);
    const audit = lines()
      .split('\n')
      .filter((line) => line.includes('"msg":"audit"'))
      .map((line) => JSON.parse(line) as { level: number; reqId: string; audit: Record<string, unknown> });
    assert.equal(audit.length, 2);
    assert.ok(audit.every((line) => line.level === 30 && line.reqId === response.headers['x-request-id']));
    assert.deepEqual(audit[0]?.audit, {
      at: now.toISOString(),
      subject: 'alice',
      clientAddress: '198.51.100.7',
      kind: 'download',
      action: 'read',
      targetKind: 'key',
      target: 'public/a.png',
      allow: true,
      code: null,
      reason: null,
      decidedBy: 'rule:dev-public',
      expiresAt: '2026-06-01T12:15:00.000Z',
    });
    assert.deepEqual((({ allow, code, decidedBy, expiresAt }) => ({ allow, code, decidedBy, expiresAt }))(audit[1]?.audit ?? {}), {
      allow: false,
      code: 'BROKER_FORBIDDEN',
      decidedBy: null,
      expiresAt: null,
    });
    assert.ok(!lines().includes(secret));
  });
});

describe('the audit trail in the database (AUDIT_DATABASE), read at GET /v1/admin/audit', async () => {
  const filename = join(await mkdtemp(join(tmpdir(), 'audit-')), 'entitlements.sqlite');
  const config = testConfig({ overrides: { store: { kind: 'sqlite', filename }, audit: { log: false, database: true, queueMax: 100 } } });
  const app = await testApp({ config, now: () => now });
  after(() => app.close());

  const page = async (query = '') => {
    const response = await app.inject({ method: 'GET', url: `/v1/admin/audit${query}`, headers: admin });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ records: AuditRecordView[]; next: string | null }>();
  };

  test('grants and denials arrive in batches off the request path, newest first, and filter and page', async () => {
    await grantTwoKeys(app);
    await grantTwoKeys(app, bearer({ sub: 'bob' }));
    const started = Date.now();
    while ((await page()).records.length < 4) {
      assert.ok(Date.now() - started < 5000, 'the batch was not written within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { records } = await page();
    assert.deepEqual(
      records.map((record) => [record.subject, record.target, record.allow]),
      [
        ['bob', 'private/b.png', false],
        ['bob', 'public/a.png', true],
        ['alice', 'private/b.png', false],
        ['alice', 'public/a.png', true],
      ],
    );
    assert.equal(records[1]?.decidedBy, 'rule:dev-public');
    assert.equal(records[1]?.clientAddress, '198.51.100.7');
    assert.equal((await page('?subject=alice&allow=false')).records.length, 1);
    const first = await page('?limit=3');
    assert.equal(first.records.length, 3);
    assert.ok(first.next);
    const second = await page(`?limit=3&cursor=${first.next}`);
    assert.deepEqual(
      second.records.map((record) => record.subject),
      ['alice'],
    );
    assert.equal(second.next, null);
    for (const query of ['?cursor=bm9wZQ', '?allow=maybe', '?from=yesterday']) {
      const response = await app.inject({ method: 'GET', url: `/v1/admin/audit${query}`, headers: admin });
      assert.equal(response.statusCode, 400, query);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/v1/admin/audit', headers: bearer({ sub: 'alice' }) })).statusCode, 403);
  });
});

describe('GET /v1/admin/audit without AUDIT_DATABASE', async () => {
  const app = await testApp();
  after(() => app.close());

  test('501 saying how to turn it on', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/admin/audit', headers: admin });
    assert.equal(response.statusCode, 501);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_AUDIT_NOT_CONFIGURED');
  });
});

describe('the audit sink', () => {
  const decision = (i: number): DecisionRecord => ({
    at: now,
    requestId: `r${i}`,
    clientAddress: '192.0.2.1',
    subject: 'alice',
    kind: 'download',
    action: 'read',
    target: { kind: 'key', key: `k${i}` },
    decision: { allow: true, source: { kind: 'rule', id: 'r' }, ttlSeconds: 60, maxBytes: 0, createOnly: false },
  });
  const silent = pino({ level: 'silent' });
  const options = { queueMax: 5, batchSize: 2, flushIntervalMs: 60_000 };

  test('a database that is away never holds up record(): past the queue, records are shed and counted', async () => {
    let calls = 0;
    const failing: AuditStore = {
      append: async () => {
        calls += 1;
        throw new Error('database down');
      },
      query: async () => ({ records: [], next: undefined }),
      close: async () => undefined,
    };
    let dropped = 0;
    const sink = auditSink(failing, options, silent, (count) => (dropped += count));
    for (let i = 0; i < 8; i += 1) sink.record(decision(i));
    await sink.flush();
    assert.ok(calls > 0);
    assert.equal(sink.pending(), 5, 'the failed batch back in front, as much as fits');
    assert.equal(dropped, 3);
    await sink.stop();
  });

  test('a batch that failed is written on the next flush, in order; stop writes what is left', async () => {
    const written: AuditRecord[] = [];
    let down = true;
    const flaky: AuditStore = {
      append: async (records) => {
        if (down) throw new Error('blip');
        written.push(...records);
      },
      query: async () => ({ records: [], next: undefined }),
      close: async () => undefined,
    };
    const sink = auditSink(flaky, options, silent, () => assert.fail('nothing should be dropped'));
    for (let i = 0; i < 3; i += 1) sink.record(decision(i));
    await sink.flush();
    assert.equal(written.length, 0);
    down = false;
    sink.record(decision(3));
    await sink.stop();
    assert.deepEqual(
      written.map((record) => record.requestId),
      ['r0', 'r1', 'r2', 'r3'],
    );
  });
});
