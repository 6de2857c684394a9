/** Entitlement validation details that mutation testing found unpinned by entitlement.test.ts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { endOf, entitlementProblems, type NewEntitlement } from '../../../src/policy/entitlement.js';
import { entitlement, NOW, secondsFromNow } from './fixtures.js';

const valid = (overrides: Partial<NewEntitlement> = {}): NewEntitlement => ({
  subject: 'alice',
  resources: ['uploads/alice/*'],
  actions: ['read'],
  grantedBy: 'ops',
  reason: 'ticket 42',
  ...overrides,
});

describe('entitlementProblems', () => {
  test('an open end is written as null: a start with a null expiry, or an expiry with a null start, is valid', () => {
    assert.deepEqual(entitlementProblems(valid({ notBefore: secondsFromNow(60), expiresAt: null }), { now: NOW }), []);
    assert.deepEqual(entitlementProblems(valid({ notBefore: null, expiresAt: secondsFromNow(60) }), { now: NOW }), []);
  });

  test("resources without a bundle are valid where the policy's bundles are known", () => {
    const context = { now: NOW, bundles: new Set(['course-101']) };
    assert.deepEqual(entitlementProblems(valid({ bundleId: null }), context), []);
    assert.deepEqual(entitlementProblems(valid({ bundleId: undefined }), context), []);
  });

  test('a grantedBy of only white space does not say who granted it', () => {
    assert.deepEqual(entitlementProblems(valid({ grantedBy: ' \t' }), { now: NOW }), ['say who granted it and why (grantedBy, reason)']);
  });
});

describe('dates around the epoch (an open end is null, never the epoch)', () => {
  const epoch = new Date(0);
  const beforeEpoch = new Date(-60_000);

  test('an expiry before 1970 without a start is only in the past, not "before its start"', () => {
    assert.deepEqual(entitlementProblems(valid({ notBefore: null, expiresAt: beforeEpoch }), { now: NOW }), [
      'expiresAt is in the past: it would grant nothing',
    ]);
  });

  test('an entitlement with no expiry and no revocation never ends, even at a clock before 1970', () => {
    const record = entitlement({ id: 'e-1', resources: ['uploads/alice/*'] });
    assert.equal(endOf(record, new Date(-5000)), undefined);
    assert.deepEqual(endOf({ ...record, expiresAt: epoch }, new Date(-5000)), epoch);
  });
});
