import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { AuditCursor, AuditRecord, AuditStore } from '../../src/audit/audit-record.js';

const AT = new Date('2026-06-01T12:00:00.250Z');

const record = (overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  at: AT,
  requestId: 'req-1',
  subject: 'alice',
  clientAddress: '198.51.100.7',
  kind: 'download',
  action: 'read',
  targetKind: 'key',
  target: 'public/a.png',
  allow: true,
  code: null,
  reason: null,
  decidedBy: 'rule:public',
  expiresAt: new Date(AT.getTime() + 900_000),
  ...overrides,
});

/** What every audit store does (test/contract/sqlite.test.ts, postgres.test.ts). */
export function auditStoreContract(name: string, open: () => Promise<AuditStore>): void {
  describe(name, () => {
    let store: AuditStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => store.close());

    test('records come back as written, to the millisecond, newest first', async () => {
      const denied = record({
        at: new Date(AT.getTime() + 1),
        allow: false,
        code: 'BROKER_FORBIDDEN',
        reason: 'no rule',
        decidedBy: null,
        expiresAt: null,
        targetKind: 'bundle',
        target: 'demo',
      });
      await store.append([record(), denied]);
      const { records, next } = await store.query({ limit: 10 });
      assert.equal(next, undefined);
      assert.ok(records.every((written) => Number.isSafeInteger(written.id)));
      assert.deepEqual(
        records.map((written) => ({ ...record(), ...written, id: undefined })),
        [denied, record()].map((expected) => ({ ...expected, id: undefined })),
      );
    });

    test('filters: subject, outcome, a time range', async () => {
      await store.append([
        record({ subject: 'bob' }),
        record({ allow: false, code: 'BROKER_FORBIDDEN', reason: 'x', expiresAt: null }),
        record({ at: new Date(AT.getTime() + 60_000) }),
      ]);
      const count = async (query: Parameters<AuditStore['query']>[0]) => (await store.query(query)).records.length;
      assert.equal(await count({ subject: 'bob', limit: 10 }), 1);
      assert.equal(await count({ allow: false, limit: 10 }), 1);
      assert.equal(await count({ allow: true, limit: 10 }), 2);
      assert.equal(await count({ from: new Date(AT.getTime() + 1), limit: 10 }), 1);
      assert.equal(await count({ to: new Date(AT.getTime() + 1), limit: 10 }), 2);
    });

    test('pages cover every record once, even many at one instant', async () => {
      await store.append(Array.from({ length: 7 }, (_, i) => record({ requestId: `r${i}`, at: i < 5 ? AT : new Date(AT.getTime() + i) })));
      const seen: string[] = [];
      let before: AuditCursor | undefined;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await store.query({ before, limit: 2 });
        seen.push(...page.records.map((r) => r.requestId));
        if (page.next === undefined) break;
        before = page.next;
      }
      assert.deepEqual([...seen].sort(), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
      assert.deepEqual(seen.slice(0, 2), ['r6', 'r5']);
    });

    test('an empty batch writes nothing', async () => {
      await store.append([]);
      assert.deepEqual((await store.query({ limit: 10 })).records, []);
    });
  });
}
