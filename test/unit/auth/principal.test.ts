import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { principalFromClaims } from '../../../src/auth/principal.js';

describe('principalFromClaims', () => {
  test('a token without a usable sub identifies nobody', () => {
    assert.equal(principalFromClaims({}), undefined);
    assert.equal(principalFromClaims({ sub: '' }), undefined);
    assert.equal(principalFromClaims({ sub: 42 }), undefined);
    assert.equal(principalFromClaims({ sub: ['alice'] }), undefined);
  });

  test('scopes come from the space-separated "scope" claim and the "scp" claim, deduplicated', () => {
    const principal = principalFromClaims({ sub: 'a', scope: ' openid  files:read ', scp: ['files:read', 'files:write', 7] });
    assert.deepEqual(principal?.scopes, ['openid', 'files:read', 'files:write']);
  });

  test('"scp" may also be a space-separated string', () => {
    assert.deepEqual(principalFromClaims({ sub: 'a', scp: 'a b' })?.scopes, ['a', 'b']);
  });

  test('roles come from "roles" and "groups", deduplicated; non-strings are dropped', () => {
    const principal = principalFromClaims({ sub: 'a', roles: ['admin', '', null], groups: ['admin', 'staff'] });
    assert.deepEqual(principal?.roles, ['admin', 'staff']);
  });

  test('no scope or role claims give empty lists', () => {
    const principal = principalFromClaims({ sub: 'a', scope: 5, roles: { admin: true } });
    assert.deepEqual(principal?.scopes, []);
    assert.deepEqual(principal?.roles, []);
  });

  test('keeps the sub and every claim', () => {
    const claims = { sub: 'alice', tenant: 't1' };
    const principal = principalFromClaims(claims);
    assert.equal(principal?.sub, 'alice');
    assert.equal(principal?.claims.tenant, 't1');
  });
});
