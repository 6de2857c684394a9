import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uploadPrefixes } from '../../../src/policy/upload-prefixes.js';
import { NOW, entitlement, policyOf, principal, secondsFromNow } from './fixtures.js';

describe('uploadPrefixes', () => {
  const policy = policyOf([
    { id: 'own', actions: ['read', 'write'], resources: ['uploads/{sub}/*'] },
    { id: 'read-only', actions: ['read'], resources: ['public/*'] },
    { id: 'not-a-prefix', actions: ['write'], resources: ['reports/*/summary.pdf', 'exact/key.txt'] },
    { id: 'editors', when: { roles: ['editor'] }, actions: ['write'], resources: ['shared/*'] },
    { id: 'tenant', actions: ['write'], resources: ['tenants/{tid}/*'] },
    { id: 'own-again', actions: ['write'], resources: ['uploads/{sub}/*'] },
  ]);
  const alice = principal({ sub: 'alice' });

  test('lists the "prefix*" write patterns a caller matches, resolved, in policy order, without duplicates', () => {
    assert.deepEqual(uploadPrefixes(principal({ sub: 'alice', roles: ['editor'], tid: 't1' }), policy, [], NOW), [
      'uploads/alice/',
      'shared/',
      'tenants/t1/',
    ]);
  });

  test('skips read-only rules, non-prefix patterns, rules whose conditions fail and patterns whose claims are missing', () => {
    assert.deepEqual(uploadPrefixes(alice, policy, [], NOW), ['uploads/alice/']);
  });

  test('regression: a claim that could widen a pattern yields no prefix at all', () => {
    assert.deepEqual(uploadPrefixes(principal({ sub: '*' }), policy, [], NOW), []);
    assert.deepEqual(uploadPrefixes(principal({ sub: 'alice/../bob' }), policy, [], NOW), []);
  });

  test('an empty policy yields no prefixes', () => {
    assert.deepEqual(uploadPrefixes(alice, policyOf([]), [], NOW), []);
  });

  test('adds live write entitlements of the caller after the rules', () => {
    const entitlements = [
      entitlement({ id: 'drop', resources: ['dropbox/{sub}/*', 'inbox/*/x'], actions: ['write'] }),
      entitlement({ id: 'read-only', resources: ['readonly/*'], actions: ['read'] }),
      entitlement({ id: 'other', subject: 'bob', resources: ['bob/*'], actions: ['write'] }),
      entitlement({ id: 'expired', resources: ['expired/*'], actions: ['write'], expiresAt: secondsFromNow(-1) }),
      entitlement({ id: 'future', resources: ['future/*'], actions: ['write'], notBefore: secondsFromNow(1) }),
      entitlement({ id: 'revoked', resources: ['revoked/*'], actions: ['write'], revokedAt: secondsFromNow(0) }),
      entitlement({ id: 'malformed', resources: ['/bad/*', 'bad?/*', 'good/*'], actions: ['write'] }),
      entitlement({ id: 'dupe', resources: ['uploads/{sub}/*'], actions: ['write'] }),
    ];
    assert.deepEqual(uploadPrefixes(alice, policy, entitlements, NOW), ['uploads/alice/', 'dropbox/alice/', 'good/']);
  });
});
