import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tokenProblem, type TokenRules } from '../../../src/auth/token-rules.js';

const NOW = 1_800_000_000;
const rules: TokenRules = { issuer: 'https://id.example/', audience: 'access-broker', clockToleranceSeconds: 30, maxTokenAgeSeconds: 3600 };
const good = { sub: 'alice', iss: 'https://id.example/', aud: 'access-broker', iat: NOW, exp: NOW + 600 };
const without = (name: string): Record<string, unknown> => Object.fromEntries(Object.entries(good).filter(([key]) => key !== name));
const check = (payload: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256' }, with_: Partial<TokenRules> = {}) =>
  tokenProblem(header, payload, NOW, { ...rules, ...with_ });

describe('tokenProblem', () => {
  test('an ordinary access token passes', () => {
    assert.equal(check(good), undefined);
  });

  test('regression: a configured issuer is required, not only compared when present', () => {
    const withoutIss = without('iss');
    assert.match(check(withoutIss) ?? '', /no "iss" claim/);
    assert.match(check({ ...good, iss: 'https://ID.example/' }) ?? '', /another issuer/);
    assert.match(check({ ...good, iss: ['https://id.example/'] }) ?? '', /another issuer/);
    assert.equal(check(withoutIss, undefined, { issuer: undefined }), undefined, 'no issuer configured: none required');
  });

  test('regression: a configured audience is required, not only compared when present', () => {
    const withoutAud = without('aud');
    assert.match(check(withoutAud) ?? '', /no "aud" claim/);
    assert.match(check({ ...good, aud: 'other' }) ?? '', /another audience/);
    assert.match(check({ ...good, aud: ['other', 'third'] }) ?? '', /another audience/);
    assert.match(check({ ...good, aud: [] }) ?? '', /another audience/);
    assert.match(check({ ...good, aud: 7 }) ?? '', /another audience/);
    assert.equal(check({ ...good, aud: ['other', 'access-broker'] }), undefined, 'an audience list that names the broker');
    assert.equal(check(withoutAud, undefined, { audience: undefined }), undefined);
  });

  test('typ: access tokens only, when a type is given', () => {
    for (const typ of ['JWT', 'jwt', 'at+jwt', 'AT+JWT', 'application/at+jwt']) assert.equal(check(good, { typ }), undefined, typ);
    for (const typ of ['refresh+jwt', 'id+jwt', 'logout+jwt', 'JWE', '', 'application/refresh+jwt', 42, null, ['JWT']]) {
      assert.match(check(good, { typ }) ?? '', /not an access token/, JSON.stringify(typ));
    }
  });

  test('iat in the future is refused beyond the clock tolerance', () => {
    assert.equal(check({ ...good, iat: NOW + 30, exp: NOW + 600 }), undefined, 'within the tolerance');
    assert.match(check({ ...good, iat: NOW + 31, exp: NOW + 600 }) ?? '', /issued in the future/);
    assert.match(check({ ...good, iat: '1800000000' }) ?? '', /"iat" is not a number/);
    assert.match(check({ ...good, iat: Number.NaN }) ?? '', /"iat" is not a number/);
  });

  test('a token may not claim a longer life than JWT_MAX_TOKEN_AGE_SECONDS', () => {
    assert.equal(check({ ...good, iat: NOW - 100, exp: NOW - 100 + 3600 }), undefined, 'exactly the maximum');
    assert.match(check({ ...good, iat: NOW - 100, exp: NOW - 100 + 3601 }) ?? '', /lifetime exceeds the 3600 s/);
    assert.match(check({ ...good, exp: 1e308 }) ?? '', /lifetime exceeds/, 'regression: exp 1e308 passed');
    assert.match(check({ ...good, exp: Number.MAX_SAFE_INTEGER }) ?? '', /lifetime exceeds/);
    const withoutIat = without('iat');
    assert.equal(check({ ...withoutIat, exp: NOW + 3600 }), undefined, 'without iat, counted from now');
    assert.match(check({ ...withoutIat, exp: NOW + 3601 }) ?? '', /lifetime exceeds/);
    assert.match(check({ ...good, exp: '1800000600' }) ?? '', /"exp" is not a number/);
    assert.match(check({ ...good, exp: Number.POSITIVE_INFINITY }) ?? '', /"exp" is not a number/);
  });
});
