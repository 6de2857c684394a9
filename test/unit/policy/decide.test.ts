import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchesWhen } from '../../../src/policy/permits.js';
import {
  DEFAULTS,
  allowed,
  denied,
  entitlement,
  policyOf,
  principal,
  readBundle,
  readKey,
  run,
  secondsFromNow,
  writeKey,
} from './fixtures.js';

const alice = principal({ sub: 'alice' });
const bob = principal({ sub: 'bob' });

describe('deny by default', () => {
  const empty = policyOf([]);

  test('an empty policy denies a read, naming the action and key', () => {
    const decision = denied(run({ policy: empty, who: alice, ask: readKey('uploads/alice/x') }));
    assert.equal(decision.code, 'BROKER_FORBIDDEN');
    assert.equal(decision.reason, 'no rule or entitlement grants read on key "uploads/alice/x"');
    assert.equal(decision.source, undefined);
  });

  test('an empty policy denies a write', () => {
    const decision = denied(
      run({ policy: empty, who: alice, ask: writeKey('uploads/alice/x', { contentType: 'text/plain', contentLength: 1 }) }),
    );
    assert.equal(decision.code, 'BROKER_FORBIDDEN');
    assert.match(decision.reason, /grants write on key "uploads\/alice\/x"/);
  });

  test('an empty policy denies a bundle, naming the bundle', () => {
    const decision = denied(run({ policy: empty, who: alice, ask: readBundle('demo') }));
    assert.equal(decision.code, 'BROKER_FORBIDDEN');
    assert.equal(decision.reason, 'no rule or entitlement grants read on bundle "demo"');
  });

  test('an entitlement for another subject does not help', () => {
    const entitlements = [entitlement({ id: 'e-bob', subject: 'bob', resources: ['uploads/alice/*'] })];
    denied(run({ policy: empty, who: alice, ask: readKey('uploads/alice/x'), entitlements }));
  });
});

describe('rules: resources and claims', () => {
  const policy = policyOf([{ id: 'own-uploads', actions: ['read', 'write'], resources: ['uploads/{sub}/*'] }]);

  test('a caller may write under their own prefix; the decision names the rule', () => {
    const decision = allowed(
      run({ policy, who: alice, ask: writeKey('uploads/alice/report.pdf', { contentType: 'application/pdf', contentLength: 10 }) }),
    );
    assert.deepEqual(decision.source, { kind: 'rule', id: 'own-uploads' });
  });

  test("a caller may not read or write another caller's prefix", () => {
    denied(run({ policy, who: alice, ask: readKey('uploads/bob/report.pdf') }));
    denied(run({ policy, who: alice, ask: writeKey('uploads/bob/report.pdf', { contentType: 'text/plain', contentLength: 1 }) }));
  });

  test('regression: a sub of "*" or "alice/../bob" does not reach uploads/bob/', () => {
    for (const sub of ['*', 'alice/../bob', '..', 'bob/*']) {
      const decision = denied(run({ policy, who: principal({ sub }), ask: readKey('uploads/bob/x') }));
      assert.equal(decision.code, 'BROKER_FORBIDDEN', `sub ${sub}`);
    }
  });

  test('a pattern naming a missing claim grants nothing (and does not throw)', () => {
    const tenant = policyOf([{ id: 'tenant', actions: ['read'], resources: ['tenants/{tid}/*'] }]);
    denied(run({ policy: tenant, who: alice, ask: readKey('tenants/undefined/x') }));
    allowed(run({ policy: tenant, who: principal({ sub: 'alice', tid: 't1' }), ask: readKey('tenants/t1/x') }));
  });
});

describe('read and write are separate grants', () => {
  const policy = policyOf([
    { id: 'public-read', actions: ['read'], resources: ['public/*'] },
    { id: 'dropbox-write', actions: ['write'], resources: ['dropbox/*'] },
  ]);

  test('a read grant is never a write grant', () => {
    allowed(run({ policy, who: alice, ask: readKey('public/a.txt') }));
    const decision = denied(run({ policy, who: alice, ask: writeKey('public/a.txt', { contentType: 'text/plain', contentLength: 1 }) }));
    assert.equal(decision.code, 'BROKER_FORBIDDEN');
  });

  test('a write grant is never a read grant', () => {
    allowed(run({ policy, who: alice, ask: writeKey('dropbox/a.txt', { contentType: 'text/plain', contentLength: 1 }) }));
    denied(run({ policy, who: alice, ask: readKey('dropbox/a.txt') }));
  });
});

describe('rules: conditions (when)', () => {
  const policy = policyOf([
    { id: 'by-subject', when: { subjects: ['alice', 'carol'] }, actions: ['read'], resources: ['subjects/*'] },
    { id: 'by-scope', when: { scopes: ['files:read', 'files:admin'] }, actions: ['read'], resources: ['scoped/*'] },
    { id: 'by-role', when: { roles: ['editor', 'admin'] }, actions: ['read'], resources: ['roles/*'] },
    { id: 'by-claim', when: { claims: { tier: ['gold', 'platinum'] } }, actions: ['read'], resources: ['tier/*'] },
    { id: 'by-number-claim', when: { claims: { level: 3 } }, actions: ['read'], resources: ['level/*'] },
    {
      id: 'all-of',
      when: { subjects: ['carol'], roles: ['auditor'], claims: { dept: 'finance' } },
      actions: ['read'],
      resources: ['audit/*'],
    },
  ]);
  const reads = (who: ReturnType<typeof principal>, key: string): boolean => run({ policy, who, ask: readKey(key) }).allow;

  test('subjects: any of the listed subjects', () => {
    assert.equal(reads(alice, 'subjects/x'), true);
    assert.equal(reads(principal({ sub: 'carol' }), 'subjects/x'), true);
    assert.equal(reads(bob, 'subjects/x'), false);
  });

  test('scopes: taken from the space-separated "scope" claim, any one is enough', () => {
    assert.equal(reads(principal({ sub: 'bob', scope: 'openid files:read profile' }), 'scoped/x'), true);
    assert.equal(reads(principal({ sub: 'bob', scope: 'files:admin' }), 'scoped/x'), true);
    assert.equal(reads(principal({ sub: 'bob', scope: 'openid profile' }), 'scoped/x'), false);
    assert.equal(reads(bob, 'scoped/x'), false);
  });

  test('scopes: matched whole, never as a substring', () => {
    assert.equal(reads(principal({ sub: 'bob', scope: 'files:reader' }), 'scoped/x'), false);
    assert.equal(reads(principal({ sub: 'bob', scope: 'files:read-only' }), 'scoped/x'), false);
  });

  test('scopes: also taken from an "scp" array', () => {
    assert.equal(reads(principal({ sub: 'bob', scp: ['files:read'] }), 'scoped/x'), true);
  });

  test('roles: taken from "roles" or "groups"', () => {
    assert.equal(reads(principal({ sub: 'bob', roles: ['editor'] }), 'roles/x'), true);
    assert.equal(reads(principal({ sub: 'bob', groups: ['admin'] }), 'roles/x'), true);
    assert.equal(reads(principal({ sub: 'bob', roles: ['viewer'], groups: ['staff'] }), 'roles/x'), false);
    assert.equal(reads(bob, 'roles/x'), false);
  });

  test('claims: any of the listed values, on a string or an array claim', () => {
    assert.equal(reads(principal({ sub: 'bob', tier: 'gold' }), 'tier/x'), true);
    assert.equal(reads(principal({ sub: 'bob', tier: ['silver', 'platinum'] }), 'tier/x'), true);
    assert.equal(reads(principal({ sub: 'bob', tier: 'silver' }), 'tier/x'), false);
    assert.equal(reads(principal({ sub: 'bob', tier: 'GOLD' }), 'tier/x'), false);
    assert.equal(reads(bob, 'tier/x'), false);
  });

  test('claims: compared by type, so the string "3" is not the number 3', () => {
    assert.equal(reads(principal({ sub: 'bob', level: 3 }), 'level/x'), true);
    assert.equal(reads(principal({ sub: 'bob', level: '3' }), 'level/x'), false);
  });

  test('every named condition must hold', () => {
    const carolAuditorFinance = principal({ sub: 'carol', roles: ['auditor'], dept: 'finance' });
    assert.equal(reads(carolAuditorFinance, 'audit/x'), true);
    assert.equal(reads(principal({ sub: 'carol', roles: ['auditor'], dept: 'sales' }), 'audit/x'), false);
    assert.equal(reads(principal({ sub: 'carol', dept: 'finance' }), 'audit/x'), false);
    assert.equal(reads(principal({ sub: 'dave', roles: ['auditor'], dept: 'finance' }), 'audit/x'), false);
  });
});

describe('matchesWhen', () => {
  test('an empty condition matches everybody', () => {
    assert.equal(matchesWhen({}, alice), true);
  });

  test('a scope condition does not match on roles, and vice versa', () => {
    const who = principal({ sub: 'x', scope: 'admin', roles: ['files:read'] });
    assert.equal(matchesWhen({ roles: ['admin'] }, who), false);
    assert.equal(matchesWhen({ scopes: ['files:read'] }, who), false);
    assert.equal(matchesWhen({ scopes: ['admin'], roles: ['files:read'] }, who), true);
  });

  test('a boolean claim condition', () => {
    assert.equal(matchesWhen({ claims: { email_verified: true } }, principal({ sub: 'x', email_verified: true })), true);
    assert.equal(matchesWhen({ claims: { email_verified: true } }, principal({ sub: 'x', email_verified: 'true' })), false);
  });
});

describe('bundles', () => {
  const policy = policyOf(
    [
      { id: 'course-readers', when: { claims: { enrolled: '101' } }, actions: ['read'], bundles: ['course-101'] },
      { id: 'team-readers', actions: ['read'], bundles: ['team'] },
    ],
    {
      'course-101': { resource: 'courses/101/*' },
      'course-102': { resource: 'courses/102/*' },
      team: { resource: 'teams/{team}/*' },
    },
  );
  const student = principal({ sub: 'sam', enrolled: '101' });

  test("a rule's bundles grant the bundle itself, naming the rule", () => {
    const decision = allowed(run({ policy, who: student, ask: readBundle('course-101') }));
    assert.deepEqual(decision.source, { kind: 'rule', id: 'course-readers' });
  });

  test('a bundle not named by any matching rule is denied', () => {
    denied(run({ policy, who: student, ask: readBundle('course-102') }));
    denied(run({ policy, who: principal({ sub: 'sam', enrolled: '102' }), ask: readBundle('course-101') }));
  });

  test("a rule's bundles grant reading single keys inside the bundle's resource", () => {
    allowed(run({ policy, who: student, ask: readKey('courses/101/lesson-1.mp4') }));
    denied(run({ policy, who: student, ask: readKey('courses/102/lesson-1.mp4') }));
  });

  test('a bundle resource with a claim resolves per caller', () => {
    const member = principal({ sub: 'tom', team: 'red' });
    allowed(run({ policy, who: member, ask: readKey('teams/red/plan.pdf') }));
    denied(run({ policy, who: member, ask: readKey('teams/blue/plan.pdf') }));
    denied(run({ policy, who: principal({ sub: 'eve', team: '*' }), ask: readKey('teams/red/plan.pdf') }));
  });

  test('bundles never grant writes to their keys', () => {
    denied(run({ policy, who: student, ask: writeKey('courses/101/lesson-1.mp4', { contentType: 'video/mp4', contentLength: 1 }) }));
  });
});

describe('entitlements', () => {
  const policy = policyOf([], { 'course-101': { resource: 'courses/101/*' } });
  const resourceGrant = entitlement({ id: 'e-shared', resources: ['shared/{sub}/*', 'reports/q1.pdf'], actions: ['read'] });

  test('a live entitlement grants its resources; the decision names the entitlement', () => {
    const decision = allowed(run({ policy, who: alice, ask: readKey('reports/q1.pdf'), entitlements: [resourceGrant] }));
    assert.deepEqual(decision.source, { kind: 'entitlement', id: 'e-shared' });
    allowed(run({ policy, who: alice, ask: readKey('shared/alice/x'), entitlements: [resourceGrant] }));
    denied(run({ policy, who: alice, ask: readKey('reports/q2.pdf'), entitlements: [resourceGrant] }));
  });

  test('the subject must match', () => {
    denied(run({ policy, who: bob, ask: readKey('reports/q1.pdf'), entitlements: [resourceGrant] }));
  });

  test('regression: a grant never outlives the entitlement behind it (a 60 s trial gives at most 60 s)', () => {
    const trial = entitlement({ id: 'e-trial', resources: ['reports/*'], actions: ['read'], expiresAt: secondsFromNow(60.9) });
    const decision = allowed(run({ policy, who: alice, ask: readKey('reports/q1.pdf', { ttlSeconds: 3600 }), entitlements: [trial] }));
    assert.equal(decision.ttlSeconds, 60);
    const revoking = entitlement({ id: 'e-revoking', resources: ['reports/*'], actions: ['read'], revokedAt: secondsFromNow(30) });
    assert.equal(allowed(run({ policy, who: alice, ask: readKey('reports/q1.pdf'), entitlements: [revoking] })).ttlSeconds, 30);
  });

  test('an entitlement ending within the second grants nothing', () => {
    const ending = entitlement({ id: 'e-ending', resources: ['reports/*'], actions: ['read'], expiresAt: secondsFromNow(0.5) });
    denied(run({ policy, who: alice, ask: readKey('reports/q1.pdf'), entitlements: [ending] }));
  });

  test('claims in entitlement patterns resolve against the caller', () => {
    denied(run({ policy, who: alice, ask: readKey('shared/bob/x'), entitlements: [resourceGrant] }));
  });

  test('not before: denied until then, allowed from that instant', () => {
    const early = entitlement({ id: 'e', resources: ['x/*'], notBefore: secondsFromNow(1) });
    denied(run({ policy, who: alice, ask: readKey('x/1'), entitlements: [early] }));
    const starting = entitlement({ id: 'e', resources: ['x/*'], notBefore: secondsFromNow(0) });
    allowed(run({ policy, who: alice, ask: readKey('x/1'), entitlements: [starting] }));
  });

  test('expires at: allowed before, denied at and after that instant', () => {
    const later = entitlement({ id: 'e', resources: ['x/*'], expiresAt: secondsFromNow(1) });
    allowed(run({ policy, who: alice, ask: readKey('x/1'), entitlements: [later] }));
    for (const seconds of [0, -1]) {
      const expired = entitlement({ id: 'e', resources: ['x/*'], expiresAt: secondsFromNow(seconds) });
      denied(run({ policy, who: alice, ask: readKey('x/1'), entitlements: [expired] }));
    }
  });

  test('revoked at: denied once revoked; a revocation scheduled for later does not yet apply', () => {
    for (const seconds of [0, -60]) {
      const revoked = entitlement({ id: 'e', resources: ['x/*'], revokedAt: secondsFromNow(seconds) });
      denied(run({ policy, who: alice, ask: readKey('x/1'), entitlements: [revoked] }));
    }
    const scheduled = entitlement({ id: 'e', resources: ['x/*'], revokedAt: secondsFromNow(60) });
    allowed(run({ policy, who: alice, ask: readKey('x/1'), entitlements: [scheduled] }));
  });

  test('actions: a read entitlement does not grant write, a write entitlement does not grant read', () => {
    const readOnly = entitlement({ id: 'r', resources: ['x/*'], actions: ['read'] });
    denied(run({ policy, who: alice, ask: writeKey('x/1', { contentType: 'text/plain', contentLength: 1 }), entitlements: [readOnly] }));
    const writeOnly = entitlement({ id: 'w', resources: ['x/*'], actions: ['write'] });
    allowed(run({ policy, who: alice, ask: writeKey('x/1', { contentType: 'text/plain', contentLength: 1 }), entitlements: [writeOnly] }));
    denied(run({ policy, who: alice, ask: readKey('x/1'), entitlements: [writeOnly] }));
  });

  test('a bundle entitlement grants the bundle and reading keys inside it', () => {
    const course = entitlement({ id: 'e-course', bundleId: 'course-101' });
    const decision = allowed(run({ policy, who: alice, ask: readBundle('course-101'), entitlements: [course] }));
    assert.deepEqual(decision.source, { kind: 'entitlement', id: 'e-course' });
    allowed(run({ policy, who: alice, ask: readKey('courses/101/a.mp4'), entitlements: [course] }));
    denied(run({ policy, who: alice, ask: readKey('courses/102/a.mp4'), entitlements: [course] }));
    denied(run({ policy, who: alice, ask: readBundle('course-102'), entitlements: [course] }));
  });

  test('a bundle entitlement with write still never grants writing keys inside the bundle', () => {
    const course = entitlement({ id: 'e-course', bundleId: 'course-101', actions: ['read', 'write'] });
    denied(
      run({
        policy,
        who: alice,
        ask: writeKey('courses/101/a.mp4', { contentType: 'video/mp4', contentLength: 1 }),
        entitlements: [course],
      }),
    );
  });

  test('an entitlement naming a bundle the policy no longer defines grants no keys', () => {
    const gone = entitlement({ id: 'e-gone', bundleId: 'retired' });
    denied(run({ policy, who: alice, ask: readKey('courses/101/a.mp4'), entitlements: [gone] }));
  });

  test('a malformed stored pattern grants nothing and does not throw', () => {
    const malformed = entitlement({ id: 'bad', resources: ['/x/*', 'x/?', 'x/{oops'] });
    const decision = denied(run({ policy, who: alice, ask: readKey('x/?'), entitlements: [malformed] }));
    assert.equal(decision.code, 'BROKER_FORBIDDEN');
    denied(run({ policy, who: alice, ask: readKey('/x/a'), entitlements: [malformed] }));
  });

  test('a malformed pattern does not stop a later good pattern of the same entitlement', () => {
    const mixed = entitlement({ id: 'mixed', resources: ['x/?', 'x/*'] });
    allowed(run({ policy, who: alice, ask: readKey('x/a'), entitlements: [mixed] }));
  });

  test('the first covering live entitlement is named', () => {
    const dead = entitlement({ id: 'dead', resources: ['x/*'], revokedAt: secondsFromNow(-1) });
    const first = entitlement({ id: 'first', resources: ['x/*'] });
    const second = entitlement({ id: 'second', resources: ['x/*'] });
    const decision = allowed(run({ policy, who: alice, ask: readKey('x/a'), entitlements: [dead, first, second] }));
    assert.deepEqual(decision.source, { kind: 'entitlement', id: 'first' });
  });

  test('rules are considered before entitlements', () => {
    const withRule = policyOf([{ id: 'public', actions: ['read'], resources: ['x/*'] }]);
    const decision = allowed(
      run({ policy: withRule, who: alice, ask: readKey('x/a'), entitlements: [entitlement({ id: 'e', resources: ['x/*'] })] }),
    );
    assert.deepEqual(decision.source, { kind: 'rule', id: 'public' });
  });

  test('an entitlement upload is bounded by the broker-wide maxBytes', () => {
    const writer = entitlement({ id: 'e-write', resources: ['x/*'], actions: ['write'] });
    const ok = allowed(
      run({
        policy,
        who: alice,
        ask: writeKey('x/a', { contentType: 'text/plain', contentLength: DEFAULTS.maxBytes }),
        entitlements: [writer],
      }),
    );
    assert.equal(ok.maxBytes, DEFAULTS.maxBytes);
    const tooBig = denied(
      run({
        policy,
        who: alice,
        ask: writeKey('x/a', { contentType: 'text/plain', contentLength: DEFAULTS.maxBytes + 1 }),
        entitlements: [writer],
      }),
    );
    assert.equal(tooBig.code, 'BROKER_LIMIT_EXCEEDED');
    assert.deepEqual(tooBig.source, { kind: 'entitlement', id: 'e-write' });
    assert.match(tooBig.reason, /^entitlement "e-write": /);
  });
});

describe('limits', () => {
  const policy = policyOf([
    {
      id: 'images',
      actions: ['write'],
      resources: ['media/*'],
      limits: { maxBytes: 1000, contentTypes: ['image/*', 'text/plain'] },
    },
  ]);
  const upload = (contentType: string, contentLength: number) =>
    run({ policy, who: alice, ask: writeKey('media/a', { contentType, contentLength }) });

  test('an upload of exactly maxBytes fits; the decision carries the rule maxBytes', () => {
    assert.equal(allowed(upload('image/png', 1000)).maxBytes, 1000);
  });

  test('one byte more than maxBytes is BROKER_LIMIT_EXCEEDED, naming the rule and the limit', () => {
    const decision = denied(upload('image/png', 1001));
    assert.equal(decision.code, 'BROKER_LIMIT_EXCEEDED');
    assert.equal(decision.reason, 'rule "images": contentLength 1001 exceeds the limit of 1000 bytes');
    assert.deepEqual(decision.source, { kind: 'rule', id: 'images' });
  });

  test('"image/*" allows any image subtype, case-insensitively', () => {
    allowed(upload('image/png', 1));
    allowed(upload('image/webp', 1));
    allowed(upload('IMAGE/JPEG', 1));
  });

  test('regression: "image/*" does not allow image/svg+xml, which runs script; only naming it does', () => {
    const decision = denied(upload('image/svg+xml', 1));
    assert.equal(decision.code, 'BROKER_LIMIT_EXCEEDED');
    assert.match(decision.reason, /runs script in browsers/);
    const named = policyOf([{ id: 'logos', actions: ['write'], resources: ['media/*'], limits: { contentTypes: ['image/svg+xml'] } }]);
    allowed(
      run({ policy: named, who: alice, ask: writeKey('media/a', { contentType: 'image/svg+xml; charset=utf-8', contentLength: 1 }) }),
    );
  });

  test('regression: with no contentTypes list, HTML, XML, SVG and JavaScript are refused', () => {
    const open = policyOf([{ id: 'open', actions: ['write'], resources: ['media/*'] }]);
    for (const type of [
      'text/html',
      'TEXT/HTML; charset=utf-8',
      'application/xhtml+xml',
      'image/svg+xml',
      'text/xml',
      'application/xml',
      'application/rss+xml',
      'text/javascript',
      'application/javascript',
      'application/x-shockwave-flash',
    ]) {
      const decision = denied(run({ policy: open, who: alice, ask: writeKey('media/a', { contentType: type, contentLength: 1 }) }));
      assert.match(decision.reason, /runs script in browsers/, type);
    }
    for (const type of ['text/plain', 'application/json', 'image/png', 'application/pdf', 'video/mp4', 'application/octet-stream']) {
      allowed(run({ policy: open, who: alice, ask: writeKey('media/a', { contentType: type, contentLength: 1 }) }));
    }
  });

  test('regression: a write on a bundle is never allowed, even by an entitlement that may write its resources', () => {
    const policy = policyOf([], { course: { resource: 'courses/rust/*' } });
    const entitlements = [entitlement({ id: 'e', bundleId: 'course', resources: ['notes/{sub}/*'], actions: ['read', 'write'] })];
    const ask = { action: 'write' as const, target: { kind: 'bundle' as const, bundleId: 'course' } };
    denied(run({ policy, who: alice, entitlements, ask }));
    allowed(run({ policy, who: alice, entitlements, ask: { ...ask, action: 'read' } }));
  });

  test('an entitlement (no limits of its own) does not allow active content either', () => {
    const none = policyOf([]);
    const entitlements = [entitlement({ id: 'e', resources: ['media/*'], actions: ['write'] })];
    denied(run({ policy: none, who: alice, entitlements, ask: writeKey('media/a', { contentType: 'text/html', contentLength: 1 }) }));
    allowed(run({ policy: none, who: alice, entitlements, ask: writeKey('media/a', { contentType: 'text/plain', contentLength: 1 }) }));
  });

  test('"image/*" does not allow a type that merely starts with "image"', () => {
    const decision = denied(upload('imagex/png', 1));
    assert.equal(decision.code, 'BROKER_LIMIT_EXCEEDED');
  });

  test('parameters are ignored: "text/plain; charset=utf-8" fits "text/plain"', () => {
    allowed(upload('text/plain; charset=utf-8', 1));
    allowed(upload('text/plain;charset=UTF-8', 1));
  });

  test('an exact type is matched whole, not as a prefix', () => {
    denied(upload('text/plainx', 1));
    denied(upload('text/html', 1));
  });

  test('a type outside the list is BROKER_LIMIT_EXCEEDED, listing what is allowed', () => {
    const decision = denied(upload('Application/PDF; x=y', 1));
    assert.equal(decision.code, 'BROKER_LIMIT_EXCEEDED');
    assert.equal(decision.reason, 'rule "images": content type "application/pdf" is not one of image/*, text/plain');
  });

  test("a rule's maxBytes above the broker maximum is capped by the broker maximum", () => {
    const generous = policyOf([{ id: 'big', actions: ['write'], resources: ['x/*'], limits: { maxBytes: DEFAULTS.maxBytes * 10 } }]);
    const ok = allowed(
      run({ policy: generous, who: alice, ask: writeKey('x/a', { contentType: 'a/b', contentLength: DEFAULTS.maxBytes }) }),
    );
    assert.equal(ok.maxBytes, DEFAULTS.maxBytes);
    const decision = denied(
      run({ policy: generous, who: alice, ask: writeKey('x/a', { contentType: 'a/b', contentLength: DEFAULTS.maxBytes + 1 }) }),
    );
    assert.equal(decision.code, 'BROKER_LIMIT_EXCEEDED');
    assert.match(decision.reason, new RegExp(`exceeds the limit of ${DEFAULTS.maxBytes} bytes`));
  });

  test('limits never deny a read', () => {
    const both = policyOf([
      { id: 'rw', actions: ['read', 'write'], resources: ['x/*'], limits: { maxBytes: 1, contentTypes: ['image/png'] } },
    ]);
    allowed(run({ policy: both, who: alice, ask: readKey('x/a', { contentType: 'text/html', contentLength: 5 }) }));
  });

  describe('several rules', () => {
    const layered = policyOf([
      { id: 'small-any', actions: ['write'], resources: ['x/*'], limits: { maxBytes: 100 } },
      { id: 'video', actions: ['write'], resources: ['x/videos/*'], limits: { maxBytes: 5000, contentTypes: ['video/*'] } },
      { id: 'elsewhere', actions: ['write'], resources: ['y/*'], limits: { maxBytes: 9000 } },
    ]);
    const ask = (key: string, contentType: string, contentLength: number) =>
      run({ policy: layered, who: alice, ask: writeKey(key, { contentType, contentLength }) });

    test('the first rule that fits wins', () => {
      assert.deepEqual(allowed(ask('x/videos/a.mp4', 'video/mp4', 50)).source, { kind: 'rule', id: 'small-any' });
    });

    test('a later rule wins when an earlier covering rule does not fit', () => {
      const decision = allowed(ask('x/videos/a.mp4', 'video/mp4', 4000));
      assert.deepEqual(decision.source, { kind: 'rule', id: 'video' });
      assert.equal(decision.maxBytes, 5000);
    });

    test('BROKER_LIMIT_EXCEEDED when rules cover the key but none fits, with the first rule’s reason', () => {
      const decision = denied(ask('x/videos/a.mp4', 'video/mp4', 6000));
      assert.equal(decision.code, 'BROKER_LIMIT_EXCEEDED');
      assert.equal(decision.reason, 'rule "small-any": contentLength 6000 exceeds the limit of 100 bytes');
    });

    test('BROKER_FORBIDDEN, not LIMIT_EXCEEDED, when no rule covers the key, however roomy other rules are', () => {
      const decision = denied(ask('z/a', 'text/plain', 1));
      assert.equal(decision.code, 'BROKER_FORBIDDEN');
      assert.equal(decision.source, undefined);
    });
  });
});

describe('TTL', () => {
  const policy = policyOf([
    { id: 'uncapped', actions: ['read'], resources: ['open/*'] },
    { id: 'short', actions: ['read'], resources: ['short/*'], limits: { maxTtlSeconds: 600 } },
    { id: 'long', actions: ['read'], resources: ['long/*'], limits: { maxTtlSeconds: 7200 } },
  ]);
  const ttl = (key: string, ttlSeconds?: number): number =>
    allowed(run({ policy, who: alice, ask: readKey(key, ttlSeconds === undefined ? {} : { ttlSeconds }) })).ttlSeconds;

  test('the default TTL is used when none is requested', () => {
    assert.equal(ttl('open/a'), DEFAULTS.defaultTtlSeconds);
  });

  test('a requested TTL within the caps is granted as asked', () => {
    assert.equal(ttl('open/a', 120), 120);
    assert.equal(ttl('open/a', 3000), 3000);
  });

  test("the rule's maxTtlSeconds caps a request", () => {
    assert.equal(ttl('short/a', 10_000), 600);
  });

  test("the rule's maxTtlSeconds caps the default TTL too", () => {
    assert.equal(ttl('short/a'), 600);
  });

  test("the broker's maxTtlSeconds caps a request when the rule has no cap", () => {
    assert.equal(ttl('open/a', 100_000), DEFAULTS.maxTtlSeconds);
  });

  test("the broker's maxTtlSeconds wins over a larger rule cap", () => {
    assert.equal(ttl('long/a', 7200), DEFAULTS.maxTtlSeconds);
  });

  test("an entitlement's TTL is capped by the broker maximum", () => {
    const decision = allowed(
      run({
        policy: policyOf([]),
        who: alice,
        ask: readKey('e/a', { ttlSeconds: 999_999 }),
        entitlements: [entitlement({ id: 'e', resources: ['e/*'] })],
      }),
    );
    assert.equal(decision.ttlSeconds, DEFAULTS.maxTtlSeconds);
  });

  test('the TTL applies to bundle grants', () => {
    const bundles = policyOf([{ id: 'b', actions: ['read'], bundles: ['demo'], limits: { maxTtlSeconds: 300 } }], {
      demo: { resource: 'demo/*' },
    });
    assert.equal(allowed(run({ policy: bundles, who: alice, ask: readBundle('demo', { ttlSeconds: 900 }) })).ttlSeconds, 300);
  });
});

describe('create-only', () => {
  const policy = policyOf([
    { id: 'inbox', actions: ['write'], resources: ['inbox/{sub}/*'], createOnly: true },
    { id: 'own', actions: ['read', 'write'], resources: ['uploads/{sub}/*', 'inbox/{sub}/*'] },
  ]);
  const write = (key: string) => writeKey(key, { contentType: 'text/plain', contentLength: 1 });

  test('a grant decided by a create-only rule says so; one decided by another rule does not', () => {
    assert.equal(allowed(run({ policy, who: alice, ask: write('inbox/alice/a') })).createOnly, true);
    assert.equal(allowed(run({ policy, who: alice, ask: write('uploads/alice/a') })).createOnly, false);
  });

  test('the first rule that fits decides: a create-only rule whose limits do not fit leaves the grant to the next, which may replace', () => {
    const limited = policyOf([
      { id: 'inbox', actions: ['write'], resources: ['inbox/{sub}/*'], createOnly: true, limits: { maxBytes: 0 } },
      { id: 'own', actions: ['write'], resources: ['inbox/{sub}/*'] },
    ]);
    const decision = allowed(run({ policy: limited, who: alice, ask: write('inbox/alice/a') }));
    assert.deepEqual([decision.source.id, decision.createOnly], ['own', false]);
  });

  test('a create-only entitlement says so too', () => {
    const entitlements = [entitlement({ id: 'e-drop', resources: ['drop/*'], actions: ['write'], createOnly: true })];
    const decision = allowed(run({ policy: policyOf([]), who: alice, ask: write('drop/a'), entitlements }));
    assert.deepEqual([decision.source, decision.createOnly], [{ kind: 'entitlement', id: 'e-drop' }, true]);
  });
});
