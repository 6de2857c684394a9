import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { principalFromClaims } from '../../src/auth/principal.js';
import { Authorizer } from '../../src/grants/authorizer.js';
import type { Ask, Decision } from '../../src/policy/decide.js';
import { validatePolicyDocument } from '../../src/policy/load.js';
import type { PolicyDocument } from '../../src/policy/schema.js';
import type { EntitlementStore } from '../../src/store/entitlement-store.js';

interface EntitlementRow {
  subject: string;
  bundleId?: string;
  resources?: string[];
  actions: ('read' | 'write')[];
  notBefore?: number;
  expiresAt?: number;
  revoked?: boolean;
  createOnly?: boolean;
  reason: string;
}

interface PolicyCase {
  name: string;
  claims: Record<string, unknown>;
  action: 'read' | 'write';
  key?: string;
  bundleId?: string;
  contentType?: string;
  contentLength?: number;
  clientAddress?: string;
  expect: { allow: boolean; code?: string; reason?: string; source?: string; ttlSeconds?: number; createOnly?: boolean };
}

const table = parse(readFileSync(new URL('policy-cases.yaml', import.meta.url), 'utf8')) as {
  policy: PolicyDocument;
  entitlements: EntitlementRow[];
  cases: PolicyCase[];
};
const NOW = new Date('2026-06-01T12:00:00Z');
const at = (seconds: number | undefined): Date | null => (seconds === undefined ? null : new Date(NOW.getTime() + seconds * 1000));

/** The policy cases of policy-cases.yaml, decided through the authorizer against a store `open` makes. */
export function policyCasesContract(name: string, open: () => Promise<EntitlementStore>): void {
  describe(`policy cases (policy-cases.yaml) on the ${name}`, () => {
    const policy = validatePolicyDocument(table.policy, 'policy-cases.yaml');
    let store: EntitlementStore;
    let authorizer: Authorizer;
    const idsByReason = new Map<string, string>();

    before(async () => {
      store = await open();
      for (const row of table.entitlements) {
        const created = await store.create(
          {
            subject: row.subject,
            bundleId: row.bundleId ?? null,
            resources: row.resources ?? [],
            actions: row.actions,
            notBefore: at(row.notBefore),
            expiresAt: at(row.expiresAt),
            createOnly: row.createOnly ?? false,
            grantedBy: 'policy-cases.yaml',
            reason: row.reason,
          },
          NOW,
        );
        if (row.revoked) await store.revoke(created.id, NOW);
        idsByReason.set(row.reason, created.id);
      }
      const defaults = { maxBytes: 5 * 1024 ** 3, defaultTtlSeconds: 900, maxTtlSeconds: 3600 };
      authorizer = new Authorizer({ policy, defaults, store, recorder: { record: () => undefined }, now: () => NOW, cloudfront: true });
    });
    after(async () => store?.close());

    test('the table covers every rule, and every rule is named by a case', () => {
      const named = new Set(table.cases.flatMap((c) => (c.expect.source?.startsWith('rule:') ? [c.expect.source.slice(5)] : [])));
      assert.deepEqual(
        policy.rules.map((rule) => rule.id).filter((id) => !named.has(id)),
        [],
      );
    });

    for (const policyCase of table.cases) {
      test(policyCase.name, async () => {
        const principal = principalFromClaims(policyCase.claims);
        assert.ok(principal, 'each case names a sub');
        const ask: Ask = {
          action: policyCase.action,
          target:
            policyCase.key === undefined ? { kind: 'bundle', bundleId: policyCase.bundleId ?? '' } : { kind: 'key', key: policyCase.key },
          ...(policyCase.contentType === undefined ? {} : { contentType: policyCase.contentType }),
          ...(policyCase.contentLength === undefined ? {} : { contentLength: policyCase.contentLength }),
        };
        const decision: Decision = await authorizer.explain(principal, ask, policyCase.clientAddress ?? '192.0.2.10');
        const { expect } = policyCase;
        assert.equal(decision.allow, expect.allow, JSON.stringify(decision));
        if (expect.source !== undefined) {
          const [kind, id = ''] = expect.source.split(/:(.*)/u);
          assert.deepEqual(decision.source, { kind, id: kind === 'entitlement' ? idsByReason.get(id) : id });
        }
        if (decision.allow) {
          if (expect.ttlSeconds !== undefined) assert.equal(decision.ttlSeconds, expect.ttlSeconds);
          if (expect.createOnly !== undefined) assert.equal(decision.createOnly, expect.createOnly);
        } else {
          if (expect.code !== undefined) assert.equal(decision.code, expect.code);
          if (expect.reason !== undefined) assert.match(decision.reason, new RegExp(expect.reason, 'u'));
        }
      });
    }
  });
}
