/**
 * The detail of every 401 a token can earn, word for word: the broker's own sentence where it has
 * one, otherwise fast-jwt's description of what is wrong with the token's shape, after "token is
 * not valid: " and without fast-jwt's closing full stop (a full stop inside the sentence stays).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TEST_JWT_SECRET } from '../../helpers/config.js';
import { forge, hs256 } from '../../helpers/jwt-forge.js';
import { bareApp } from './bare-app.js';

const now = (): number => Math.floor(Date.now() / 1000);
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const signed = (header: Record<string, unknown>, payload: Record<string, unknown>): string =>
  forge({ alg: 'HS256', ...header }, payload, hs256(TEST_JWT_SECRET));
const valid = (): Record<string, unknown> => ({ sub: 'alice', exp: now() + 600 });

const cases: readonly [string, () => string, string][] = [
  ['an expired token', () => signed({}, { sub: 'alice', exp: now() - 3600 }), 'token has expired'],
  [
    'a token signed with another secret',
    () => forge({ alg: 'HS256' }, valid(), hs256('another-secret-another-secret-another-secret')),
    'token is not valid: The token signature is invalid',
  ],
  ['a token without exp', () => signed({}, { sub: 'alice' }), 'token is not valid: The exp claim is required'],
  ['exp as a string', () => signed({}, { sub: 'alice', exp: String(now() + 600) }), 'token is not valid: The exp claim must be a number'],
  ['a token that is not three segments', () => 'abc', 'token is not valid: The token is malformed'],
  [
    'a header that is a JSON list',
    () => `${b64([1])}.${b64(valid())}.c2ln`,
    'token is not valid: The token header is not a valid JSON object',
  ],
  ['a payload that is a JSON list', () => `${b64({ alg: 'HS256' })}.${b64([1])}.c2ln`, 'token is not valid: The payload must be an object'],
  ['an empty crit header', () => signed({ crit: [] }, valid()), 'token is not valid: The crit header must be a non-empty array'],
  [
    'a critical extension the broker does not understand, with a full stop in its name',
    () => signed({ crit: ['x.ext'], 'x.ext': 1 }, valid()),
    'token is not valid: Critical extension "x.ext" is not supported',
  ],
];

describe('what a refused token earns', () => {
  for (const [name, token, detail] of cases) {
    test(`${name}: 401 "${detail}"`, async () => {
      const { app } = await bareApp();
      const response = await app.inject({ url: '/who', headers: { authorization: `Bearer ${token()}` } });
      assert.equal(response.statusCode, 401);
      assert.deepEqual(response.json(), { code: 'BROKER_UNAUTHENTICATED', detail });
    });
  }

  test('no Authorization header: the missing header is named, under the bare challenge', async () => {
    const { app } = await bareApp();
    const response = await app.inject({ url: '/who' });
    assert.deepEqual(response.json(), { code: 'BROKER_UNAUTHENTICATED', detail: 'missing "Authorization: Bearer <token>" header' });
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="access-broker"');
  });
});
