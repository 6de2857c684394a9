import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { principalFromClaims } from '../../src/auth/principal.js';
import { runs } from './settings.js';

/** A claim that lists names: a space-separated string or an array, of which only non-empty strings count. */
function listed(value: unknown): string[] {
  const items = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
  return items.filter((item): item is string => typeof item === 'string' && item !== '');
}

/** In first-seen order, each once. */
const unique = (items: readonly string[]): string[] => items.filter((item, i) => items.indexOf(item) === i);

const name = fc.constantFrom('openid', 'files:read', 'files:write', 'admin', 'editor', 'a b', '', ' ', 'ü');
const listClaim = fc.oneof(
  fc.array(name, { maxLength: 4 }).map((names) => names.join(' ')),
  fc.array(fc.oneof(name, fc.constantFrom(7, null, true, ['admin'])), { maxLength: 4 }),
  fc.constantFrom(undefined, 5, { admin: true }, null),
);

describe('principalFromClaims', () => {
  test('any non-empty string sub makes a principal with every claim, and scopes and roles from their two claims each', () => {
    const claims = fc.record({
      sub: fc.string({ minLength: 1, maxLength: 8 }),
      scope: listClaim,
      scp: listClaim,
      roles: listClaim,
      groups: listClaim,
      tid: fc.anything(),
    });
    fc.assert(
      fc.property(claims, (token) => {
        const principal = principalFromClaims(token);
        assert.ok(principal);
        assert.equal(principal.sub, token.sub);
        assert.equal(principal.claims, token);
        assert.deepEqual(principal.scopes, unique([...listed(token.scope), ...listed(token.scp)]));
        assert.deepEqual(principal.roles, unique([...listed(token.roles), ...listed(token.groups)]));
      }),
      runs(1000),
    );
  });

  test('a token whose sub is not a non-empty string identifies nobody', () => {
    const sub = fc.oneof(
      fc.constant(''),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
      fc.object(),
    );
    fc.assert(
      fc.property(sub, listClaim, (value, scope) => {
        assert.equal(principalFromClaims({ sub: value, scope }), undefined);
      }),
      runs(300),
    );
  });
});
