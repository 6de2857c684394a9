import assert from 'node:assert/strict';
import { principalFromClaims, type Principal } from '../../../src/auth/principal.js';
import type { Policy } from '../../../src/policy/compile.js';
import { decide, type Ask, type Decision } from '../../../src/policy/decide.js';
import type { Defaults } from '../../../src/policy/defaults.js';
import { compileEntitlement, type Entitlement, type EntitlementRecord } from '../../../src/policy/entitlement.js';
import { validatePolicyDocument } from '../../../src/policy/load.js';

export const NOW = new Date('2025-06-01T12:00:00.000Z');
export const DEFAULTS: Defaults = { maxBytes: 10_000, defaultTtlSeconds: 900, maxTtlSeconds: 3600 };

export const secondsFromNow = (seconds: number): Date => new Date(NOW.getTime() + seconds * 1000);

/** A compiled policy from plain rules and bundles, through the same validation as a policy file. */
export function policyOf(rules: readonly unknown[], bundles?: Record<string, unknown>): Policy {
  return validatePolicyDocument({ version: 1, rules, ...(bundles === undefined ? {} : { bundles }) }, 'test policy');
}

export function principal(claims: Record<string, unknown>): Principal {
  const result = principalFromClaims(claims);
  assert.ok(result, 'test principal needs a sub');
  return result;
}

/** An entitlement as the store hands it over: compiled from its record. */
export function entitlement(overrides: Partial<EntitlementRecord> & Pick<EntitlementRecord, 'id'>): Entitlement {
  return compileEntitlement({
    subject: 'alice',
    bundleId: null,
    resources: [],
    actions: ['read'],
    notBefore: null,
    expiresAt: null,
    revokedAt: null,
    revokedBy: null,
    createOnly: false,
    grantedBy: 'test',
    reason: 'test',
    createdAt: new Date(0),
    ...overrides,
  });
}

export const readKey = (key: string, extra: Partial<Ask> = {}): Ask => ({ action: 'read', target: { kind: 'key', key }, ...extra });
export const writeKey = (key: string, extra: Partial<Ask> = {}): Ask => ({ action: 'write', target: { kind: 'key', key }, ...extra });
export const readBundle = (bundleId: string, extra: Partial<Ask> = {}): Ask => ({
  action: 'read',
  target: { kind: 'bundle', bundleId },
  ...extra,
});

export interface Case {
  readonly policy: Policy;
  readonly who: Principal;
  readonly ask: Ask;
  readonly entitlements?: readonly Entitlement[];
  readonly defaults?: Defaults;
  readonly now?: Date;
}

export const run = (c: Case): Decision =>
  decide({
    policy: c.policy,
    principal: c.who,
    ask: c.ask,
    entitlements: c.entitlements ?? [],
    now: c.now ?? NOW,
    defaults: c.defaults ?? DEFAULTS,
  });

export type Allowed = Extract<Decision, { allow: true }>;
export type Denied = Extract<Decision, { allow: false }>;

export function allowed(decision: Decision): Allowed {
  if (!decision.allow) assert.fail(`expected an allow, got ${decision.code}: ${decision.reason}`);
  return decision;
}

export function denied(decision: Decision): Denied {
  if (decision.allow) assert.fail(`expected a denial, got an allow from ${decision.source.kind} "${decision.source.id}"`);
  return decision;
}
