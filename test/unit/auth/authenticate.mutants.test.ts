/**
 * The authentication plugin on a bare Fastify instance: what a refused caller is told, what the
 * operator's log says, and where verification is pinned. Mutation testing found these unpinned.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { createSigner } from 'fast-jwt';
import { TEST_JWT_SECRET } from '../../helpers/config.js';
import { bareApp } from './bare-app.js';

const now = (): number => Math.floor(Date.now() / 1000);
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const hs = (claims: Record<string, unknown>, algorithm: 'HS256' | 'HS384' = 'HS256'): string =>
  createSigner({ key: TEST_JWT_SECRET, algorithm })({ exp: now() + 600, ...claims });

describe('what a refused caller is told', () => {
  const cases: readonly [string, () => string, string][] = [
    ['a header that is not "Bearer <token>"', () => 'Bearer a b', 'the Authorization header must have the form "Bearer <token>"'],
    [
      'an unsigned token',
      () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'a', exp: now() + 600 })}.`,
      'token is not signed',
    ],
    [
      'a token signed with another algorithm',
      () => `Bearer ${hs({ sub: 'a' }, 'HS384')}`,
      'token is signed with an algorithm this broker does not accept',
    ],
    ['a token not valid yet', () => `Bearer ${hs({ sub: 'a', nbf: now() + 3600 })}`, 'token is not valid yet (nbf is in the future)'],
  ];
  for (const [name, authorization, detail] of cases) {
    test(`${name}: 401 "${detail}", with an invalid_token challenge`, async () => {
      const { app } = await bareApp();
      const response = await app.inject({ url: '/who', headers: { authorization: authorization() } });
      assert.equal(response.statusCode, 401);
      assert.deepEqual(response.json(), { code: 'BROKER_UNAUTHENTICATED', detail });
      assert.match(
        String(response.headers['www-authenticate']),
        /^Bearer realm="access-broker", error="invalid_token", error_description="/u,
      );
    });
  }

  test('the challenge carries the reason as RFC 6750 allows: a double quote becomes an apostrophe', async () => {
    const { app } = await bareApp();
    const response = await app.inject({ url: '/who', headers: { authorization: `Bearer ${hs({ sub: '' })}` } });
    assert.equal(
      response.headers['www-authenticate'],
      `Bearer realm="access-broker", error="invalid_token", error_description="token has no usable 'sub' claim"`,
    );
  });

  test('regression: another scheme (Basic) gets the bare challenge, without an invalid_token error', async () => {
    const { app } = await bareApp();
    for (const authorization of ['Basic YWxpY2U6c2VjcmV0', 'Basic Bearer abc', 'Token Bearer x.y.z']) {
      const response = await app.inject({ url: '/who', headers: { authorization } });
      assert.equal(response.statusCode, 401, authorization);
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="access-broker"', `${authorization}: the scheme is the first word`);
    }
  });

  test('every refusal is logged with its reason, for the operator', async () => {
    const { app, logs } = await bareApp();
    await app.inject({ url: '/who', headers: { authorization: `Bearer ${hs({ sub: 'a', nbf: now() + 3600 })}` } });
    assert.ok(
      logs.some((line) => line.msg === 'token refused' && line.reason === 'token is not valid yet (nbf is in the future)'),
      JSON.stringify(logs),
    );
  });
});

describe('verification is pinned to the key', () => {
  test('a public key verifies only its own algorithm: RS384 with the same RSA key is refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { app } = await bareApp({
      kind: 'public-key',
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      algorithm: 'RS256',
    });
    const sign = (algorithm: 'RS256' | 'RS384'): string =>
      createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm })({ sub: 'alice', exp: now() + 600 });
    assert.equal((await app.inject({ url: '/who', headers: { authorization: `Bearer ${sign('RS256')}` } })).statusCode, 200);
    const refused = await app.inject({ url: '/who', headers: { authorization: `Bearer ${sign('RS384')}` } });
    assert.equal(refused.statusCode, 401);
  });
});

describe('a JWKS that cannot be reached', () => {
  // Port 9 on the loopback address: nothing listens there, so the connection is refused at once.
  const verification = { kind: 'jwks', url: 'http://127.0.0.1:9/jwks.json' } as const;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rs = (kid?: string): string =>
    createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'RS256', ...(kid ? { kid } : {}) })({
      sub: 'alice',
      exp: now() + 600,
    });

  test('is a 503 for the caller, not a 401, and a warning in the log', async () => {
    const { app, logs } = await bareApp(verification);
    const response = await app.inject({ url: '/who', headers: { authorization: `Bearer ${rs('k1')}` } });
    assert.equal(response.statusCode, 503);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_AUTH_UNAVAILABLE');
    const warning = logs.find((line) => line.msg === 'fetching JWKS_URL failed; keeping the last good keys');
    assert.ok(warning?.level === 40 && warning.err !== undefined, JSON.stringify(logs));
  });

  test('a token that names no key is still the caller’s problem: 401 with a challenge', async () => {
    const { app } = await bareApp(verification);
    const response = await app.inject({ url: '/who', headers: { authorization: `Bearer ${rs()}` } });
    assert.equal(response.statusCode, 401);
    assert.match(String(response.headers['www-authenticate']), /error="invalid_token"/u);
  });
});

describe('the plugin', () => {
  test('request.principal read outside the authenticated context fails loudly instead of being undefined', async () => {
    const { app } = await bareApp();
    const response = await app.inject({ url: '/outside' });
    assert.equal(response.statusCode, 500);
    assert.equal(response.json<{ detail: string }>().detail, 'request.principal read outside the authenticated context');
  });

  test('registers under its name, so that other plugins can depend on it', async () => {
    const { app } = await bareApp();
    assert.equal(app.hasPlugin('access-broker-authentication'), true);
  });
});
