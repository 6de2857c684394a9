/** Decisions that mutation testing found unpinned by decide.test.ts, each named for what it guarantees. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchesResolved } from '../../../src/policy/patterns.js';
import { allowed, denied, entitlement, policyOf, principal, readKey, run, writeKey } from './fixtures.js';

describe('claim conditions on array-valued claims', () => {
  const policy = policyOf([{ id: 'gold', when: { claims: { tier: 'gold' } }, actions: ['read'], resources: ['tier/*'] }]);

  test('an array-valued claim that lacks the wanted value does not match', () => {
    denied(run({ policy, who: principal({ sub: 'bob', tier: ['silver', 'bronze'] }), ask: readKey('tier/x') }));
    denied(run({ policy, who: principal({ sub: 'bob', tier: [] }), ask: readKey('tier/x') }));
  });

  test('an array-valued claim that holds the wanted value matches, whatever else it holds', () => {
    allowed(run({ policy, who: principal({ sub: 'bob', tier: ['silver', 'gold'] }), ask: readKey('tier/x') }));
  });
});

describe('bundles never grant writes', () => {
  const policy = policyOf([], { course: { resource: 'courses/101/*' } });

  test('a write is never granted through a bundle, even by an entitlement that may write elsewhere', () => {
    const writer = entitlement({ id: 'e', bundleId: 'course', resources: ['drafts/alice/*'], actions: ['read', 'write'] });
    const ask = writeKey('courses/101/lesson.mp4', { contentType: 'video/mp4', contentLength: 1 });
    denied(run({ policy, who: principal({ sub: 'alice' }), ask, entitlements: [writer] }));
    allowed(run({ policy, who: principal({ sub: 'alice' }), ask: readKey('courses/101/lesson.mp4'), entitlements: [writer] }));
    allowed(
      run({
        policy,
        who: principal({ sub: 'alice' }),
        ask: { ...ask, target: { kind: 'key', key: 'drafts/alice/x' } },
        entitlements: [writer],
      }),
    );
  });
});

describe('uploads', () => {
  test('an upload that names no content type is judged on its size alone', () => {
    const policy = policyOf([
      { id: 'images', actions: ['write'], resources: ['media/*'], limits: { contentTypes: ['image/*'], maxBytes: 10 } },
    ]);
    const who = principal({ sub: 'alice' });
    allowed(run({ policy, who, ask: writeKey('media/a', { contentLength: 10 }) }));
    denied(run({ policy, who, ask: writeKey('media/a', { contentLength: 11 }) }));
  });
});

describe('patterns with several wildcards', () => {
  test('each literal between wildcards needs its own occurrence in the key, in order and without overlap', () => {
    assert.equal(matchesResolved({ chunks: ['', 'ab', 'ba', ''] }, 'aba'), false);
    assert.equal(matchesResolved({ chunks: ['', 'ab', 'ba', ''] }, 'abba'), true);
    assert.equal(matchesResolved({ chunks: ['x/', 'aa', 'aa', ''] }, 'x/aaa'), false);
    assert.equal(matchesResolved({ chunks: ['x/', 'aa', 'aa', ''] }, 'x/aaaa'), true);
    const policy = policyOf([{ id: 'r', actions: ['read'], resources: ['x/*ab*ba*'] }]);
    denied(run({ policy, who: principal({ sub: 'alice' }), ask: readKey('x/aba') }));
    allowed(run({ policy, who: principal({ sub: 'alice' }), ask: readKey('x/ab-ba') }));
  });
});
