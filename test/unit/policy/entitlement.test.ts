import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compileEntitlement,
  endOf,
  entitlementProblems,
  InvalidEntitlementError,
  isLive,
  recordOf,
  type EntitlementRecord,
  type NewEntitlement,
} from '../../../src/policy/entitlement.js';
import { NOW, secondsFromNow } from './fixtures.js';

const msFromNow = (ms: number): Date => new Date(NOW.getTime() + ms);

const valid = (overrides: Partial<NewEntitlement> = {}): NewEntitlement => ({
  subject: 'alice',
  resources: ['uploads/alice/*'],
  actions: ['read'],
  grantedBy: 'ops',
  reason: 'ticket 42',
  ...overrides,
});

const problemsOf = (input: NewEntitlement): string[] => entitlementProblems(input, { now: NOW });

const record = (overrides: Partial<EntitlementRecord> = {}): EntitlementRecord => ({
  id: 'e-1',
  subject: 'alice',
  bundleId: null,
  resources: ['uploads/alice/*'],
  actions: ['read'],
  notBefore: null,
  expiresAt: null,
  revokedAt: null,
  revokedBy: null,
  createOnly: false,
  grantedBy: 'ops',
  reason: 'ticket 42',
  createdAt: NOW,
  ...overrides,
});

describe('entitlementProblems: what the caller knows', () => {
  test('an expiry at or before the moment of granting grants nothing, and is refused', () => {
    assert.deepEqual(problemsOf(valid({ expiresAt: msFromNow(1) })), []);
    assert.deepEqual(problemsOf(valid({ expiresAt: NOW })), ['expiresAt is in the past: it would grant nothing']);
    assert.deepEqual(problemsOf(valid({ expiresAt: msFromNow(-86_400_000) })), ['expiresAt is in the past: it would grant nothing']);
  });

  test('a bundle the policy does not define is refused where the policy is known', () => {
    const bundles = new Set(['demo']);
    assert.deepEqual(entitlementProblems(valid({ resources: [], bundleId: 'demo' }), { now: NOW, bundles }), []);
    assert.deepEqual(entitlementProblems(valid({ resources: [], bundleId: 'rust-course' }), { now: NOW, bundles }), [
      'no bundle "rust-course" is defined in the policy',
    ]);
    assert.deepEqual(problemsOf(valid({ resources: [], bundleId: 'rust-course' })), [], 'the store alone cannot know the policy');
  });

  test('regression: an empty resource pattern is refused, as the policy refuses it for rules', () => {
    assert.deepEqual(problemsOf(valid({ resources: ['uploads/alice/*', ''] })), ['a resource pattern is empty']);
  });

  test('regression: a pattern that starts with a wildcard would cover the whole bucket, and is refused', () => {
    for (const pattern of ['*', '*/secret.txt', '*.pdf']) {
      assert.deepEqual(problemsOf(valid({ resources: [pattern], actions: ['read', 'write'] })), [
        `pattern "${pattern}" starts with a wildcard and would cover every key; start it with a prefix`,
      ]);
    }
    assert.deepEqual(problemsOf(valid({ resources: ['{sub}/*', 'shared/*'] })), [], 'a claim or a prefix first is fine');
  });
});

describe('entitlementProblems: valid entitlements', () => {
  test('a bundle alone, read only, is valid', () => {
    assert.deepEqual(problemsOf(valid({ bundleId: 'course-101', resources: undefined })), []);
    assert.deepEqual(problemsOf(valid({ bundleId: 'course-101', resources: [] })), []);
  });

  test('resources alone, read and write, are valid', () => {
    assert.deepEqual(problemsOf(valid({ resources: ['uploads/{sub}/*', 'shared/report.pdf'], actions: ['read', 'write'] })), []);
  });

  test('a bundle and resources together, with write, are valid', () => {
    assert.deepEqual(problemsOf(valid({ bundleId: 'demo', actions: ['read', 'write'] })), []);
  });

  test('dates are valid: either alone, or a window with expiresAt after notBefore', () => {
    assert.deepEqual(problemsOf(valid({ notBefore: secondsFromNow(60) })), []);
    assert.deepEqual(problemsOf(valid({ expiresAt: secondsFromNow(60) })), []);
    assert.deepEqual(problemsOf(valid({ notBefore: NOW, expiresAt: msFromNow(1) })), []);
    assert.deepEqual(problemsOf(valid({ notBefore: null, expiresAt: null })), []);
  });

  test('bundle ids at the edges of the policy id rule are valid', () => {
    for (const bundleId of ['a', '0', 'a.b_c-d', `a${'b'.repeat(63)}`]) {
      assert.deepEqual(problemsOf(valid({ bundleId })), [], bundleId);
    }
  });
});

describe('entitlementProblems: each rule', () => {
  test('an empty or blank subject', () => {
    assert.deepEqual(problemsOf(valid({ subject: '' })), ['subject is empty']);
    assert.deepEqual(problemsOf(valid({ subject: ' \t' })), ['subject is empty']);
  });

  test('a bundle id that is not a policy id', () => {
    for (const bundleId of ['', 'Demo', '-demo', '.demo', 'demo/x', 'de mo', `a${'b'.repeat(64)}`]) {
      assert.deepEqual(problemsOf(valid({ bundleId })), [`bundle id "${bundleId}" must match ^[a-z0-9][a-z0-9._-]{0,63}$`], bundleId);
    }
  });

  test('neither a bundle nor a resource pattern', () => {
    const expected = ['name a bundle or at least one resource pattern'];
    assert.deepEqual(problemsOf(valid({ resources: [] })), expected);
    assert.deepEqual(problemsOf(valid({ resources: undefined, bundleId: null })), expected);
  });

  test('each malformed pattern is named, the valid ones beside it are not', () => {
    assert.deepEqual(problemsOf(valid({ resources: ['/x/*', 'ok/*', 'x?', 'x/{oops', 'x/}'] })), [
      'pattern "/x/*": must not start with "/"',
      'pattern "x?": "?" is not allowed; use "*"',
      'pattern "x/{oops": "{" and "}" only enclose a claim name',
      'pattern "x/}": "{" and "}" only enclose a claim name',
    ]);
  });

  test('no actions', () => {
    assert.deepEqual(problemsOf(valid({ actions: [] })), ['name at least one action']);
  });

  test('an action other than read or write', () => {
    const actions = ['read', 'delete'] as unknown as NewEntitlement['actions'];
    assert.deepEqual(problemsOf(valid({ actions })), ['action "delete" must be read or write']);
  });

  test('write with only a bundle: bundles are read-only', () => {
    assert.deepEqual(problemsOf(valid({ bundleId: 'demo', resources: [], actions: ['write'] })), [
      'bundles are read-only: write needs resource patterns',
    ]);
  });

  test('createOnly without write: it would change nothing, so it is refused', () => {
    assert.deepEqual(problemsOf(valid({ createOnly: true })), ['createOnly applies to writes: add the write action']);
    assert.deepEqual(problemsOf(valid({ createOnly: true, actions: ['read', 'write'] })), []);
    assert.deepEqual(problemsOf(valid({ createOnly: false })), []);
  });

  test('a date that is not a date', () => {
    assert.deepEqual(problemsOf(valid({ notBefore: new Date('nope') })), ['notBefore is not a date']);
    assert.deepEqual(problemsOf(valid({ expiresAt: new Date(Number.NaN) })), ['expiresAt is not a date']);
  });

  test('expiresAt at or before notBefore', () => {
    assert.deepEqual(problemsOf(valid({ notBefore: secondsFromNow(60), expiresAt: secondsFromNow(60) })), [
      'expiresAt must be after notBefore',
    ]);
    assert.deepEqual(problemsOf(valid({ notBefore: secondsFromNow(60), expiresAt: secondsFromNow(59) })), [
      'expiresAt must be after notBefore',
    ]);
  });

  test('an empty or blank grantedBy or reason', () => {
    const expected = ['say who granted it and why (grantedBy, reason)'];
    assert.deepEqual(problemsOf(valid({ grantedBy: '' })), expected);
    assert.deepEqual(problemsOf(valid({ reason: '  ' })), expected);
    assert.deepEqual(problemsOf(valid({ grantedBy: '', reason: '' })), expected);
  });

  test('every problem is reported at once, in rule order', () => {
    const problems = problemsOf({
      subject: '',
      bundleId: 'Bad',
      resources: ['x?'],
      actions: [],
      notBefore: new Date('nope'),
      grantedBy: '',
      reason: '',
    });
    assert.deepEqual(problems, [
      'subject is empty',
      'bundle id "Bad" must match ^[a-z0-9][a-z0-9._-]{0,63}$',
      'pattern "x?": "?" is not allowed; use "*"',
      'name at least one action',
      'notBefore is not a date',
      'say who granted it and why (grantedBy, reason)',
    ]);
  });

  test('InvalidEntitlementError carries the problems and names each in its message', () => {
    const error = new InvalidEntitlementError(['subject is empty', 'name at least one action']);
    assert.deepEqual(error.problems, ['subject is empty', 'name at least one action']);
    assert.equal(error.name, 'InvalidEntitlementError');
    assert.equal(error.message, 'entitlement is not valid: subject is empty; name at least one action');
    assert.ok(error instanceof Error);
  });
});

describe('compileEntitlement', () => {
  test('compiles every pattern once, keeping its source and order', () => {
    const compiled = compileEntitlement(record({ resources: ['uploads/{sub}/*', 'public/a.txt'] }));
    assert.deepEqual(
      compiled.patterns.map((pattern) => pattern.source),
      ['uploads/{sub}/*', 'public/a.txt'],
    );
    assert.deepEqual(compiled.patterns[0]?.parts, [{ literal: 'uploads/' }, { claim: 'sub' }, { literal: '/' }, { wildcard: true }]);
  });

  test('regression: a malformed stored pattern is skipped, never widened, and the others are kept', () => {
    const resources = ['/x/*', 'ok/*', 'x?', 'y/{oops', 'z/{sub}/*'];
    const compiled = compileEntitlement(record({ resources }));
    assert.deepEqual(
      compiled.patterns.map((pattern) => pattern.source),
      ['ok/*', 'z/{sub}/*'],
    );
    assert.deepEqual(compiled.resources, resources, 'the stored sources are kept as they are, for output');
  });

  test('a bundle-only record has no patterns', () => {
    assert.deepEqual(compileEntitlement(record({ bundleId: 'demo', resources: [] })).patterns, []);
  });

  test('keeps every field of the record', () => {
    const full = record({ bundleId: 'demo', notBefore: NOW, expiresAt: secondsFromNow(60), revokedAt: secondsFromNow(30) });
    assert.deepEqual(recordOf(compileEntitlement(full)), full);
  });
});

describe('recordOf', () => {
  test('drops the compiled patterns and keeps every record field', () => {
    const full = record({
      id: 'e-9',
      subject: 'bob',
      bundleId: 'demo',
      resources: ['a/*', 'b/{sub}'],
      actions: ['read', 'write'],
      notBefore: NOW,
      expiresAt: secondsFromNow(60),
      revokedAt: secondsFromNow(30),
      revokedBy: 'support',
      createOnly: true,
      grantedBy: 'shop',
      reason: 'purchase',
      createdAt: secondsFromNow(-60),
    });
    const output = recordOf(compileEntitlement(full));
    assert.deepEqual(output, full);
    assert.equal('patterns' in output, false);
    assert.deepEqual(Object.keys(output).sort(), [
      'actions',
      'bundleId',
      'createOnly',
      'createdAt',
      'expiresAt',
      'grantedBy',
      'id',
      'notBefore',
      'reason',
      'resources',
      'revokedAt',
      'revokedBy',
      'subject',
    ]);
  });

  test('is what JSON output shows: no compiled parts leak', () => {
    const json = JSON.stringify(recordOf(compileEntitlement(record({ resources: ['uploads/{sub}/*'] }))));
    assert.doesNotMatch(json, /"parts"|"patterns"/);
  });
});

describe('isLive', () => {
  test('an open-ended, unrevoked entitlement is live', () => {
    assert.equal(isLive(record(), NOW), true);
  });

  test('notBefore: live from that instant on, not a millisecond before', () => {
    assert.equal(isLive(record({ notBefore: NOW }), NOW), true);
    assert.equal(isLive(record({ notBefore: msFromNow(1) }), NOW), false);
    assert.equal(isLive(record({ notBefore: msFromNow(-1) }), NOW), true);
  });

  test('expiresAt: not live at that instant, live a millisecond before', () => {
    assert.equal(isLive(record({ expiresAt: NOW }), NOW), false);
    assert.equal(isLive(record({ expiresAt: msFromNow(1) }), NOW), true);
    assert.equal(isLive(record({ expiresAt: msFromNow(-1) }), NOW), false);
  });

  test('revokedAt: not live from the revocation on; a scheduled revocation leaves it live until then', () => {
    assert.equal(isLive(record({ revokedAt: NOW }), NOW), false);
    assert.equal(isLive(record({ revokedAt: msFromNow(-1) }), NOW), false);
    assert.equal(isLive(record({ revokedAt: msFromNow(1) }), NOW), true);
  });

  test('inside a window it is live; a revocation inside the window ends it', () => {
    const windowed = record({ notBefore: msFromNow(-1000), expiresAt: msFromNow(1000) });
    assert.equal(isLive(windowed, NOW), true);
    assert.equal(isLive({ ...windowed, revokedAt: msFromNow(-500) }, NOW), false);
  });
});

describe('endOf', () => {
  test('an open-ended entitlement has no end', () => {
    assert.equal(endOf(record(), NOW), undefined);
    assert.equal(endOf(record({ notBefore: msFromNow(-1000) }), NOW), undefined);
  });

  test('ends at its expiry', () => {
    assert.deepEqual(endOf(record({ expiresAt: secondsFromNow(60) }), NOW), secondsFromNow(60));
  });

  test('ends at a scheduled revocation', () => {
    assert.deepEqual(endOf(record({ revokedAt: secondsFromNow(30) }), NOW), secondsFromNow(30));
  });

  test('picks the earlier of expiry and scheduled revocation', () => {
    assert.deepEqual(endOf(record({ expiresAt: secondsFromNow(60), revokedAt: secondsFromNow(30) }), NOW), secondsFromNow(30));
    assert.deepEqual(endOf(record({ expiresAt: secondsFromNow(30), revokedAt: secondsFromNow(60) }), NOW), secondsFromNow(30));
  });

  test('ignores dates at or before now', () => {
    assert.deepEqual(endOf(record({ expiresAt: msFromNow(-1), revokedAt: secondsFromNow(30) }), NOW), secondsFromNow(30));
    assert.deepEqual(endOf(record({ expiresAt: secondsFromNow(60), revokedAt: NOW }), NOW), secondsFromNow(60));
    assert.equal(endOf(record({ expiresAt: NOW, revokedAt: msFromNow(-1) }), NOW), undefined);
  });

  test('is a millisecond-exact instant', () => {
    assert.equal(endOf(record({ expiresAt: msFromNow(1) }), NOW)?.getTime(), NOW.getTime() + 1);
  });
});
