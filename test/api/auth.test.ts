import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { createSigner } from 'fast-jwt';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { token } from '../helpers/tokens.js';
import type { Config } from '../../src/config/config.js';

const upload = { contentType: 'text/plain', contentLength: 5 };

async function post(app: Awaited<ReturnType<typeof testApp>>, authorization?: string) {
  return app.inject({ method: 'POST', url: '/v1/uploads', payload: upload, headers: authorization === undefined ? {} : { authorization } });
}

function withJwt(jwt: Partial<Config['jwt']>): Config {
  const config = testConfig();
  return { ...config, jwt: { ...config.jwt, ...jwt } };
}

describe('authentication with HS256', async () => {
  const app = await testApp();
  after(() => app.close());

  test('a valid token is accepted', async () => {
    const response = await post(app, `Bearer ${token({ sub: 'alice' })}`);
    assert.equal(response.statusCode, 201, response.body);
  });

  const rejections: [string, () => string | undefined, RegExp][] = [
    ['no Authorization header', () => undefined, /missing "Authorization: Bearer <token>" header/],
    ['a Basic header', () => 'Basic YWxpY2U6c2VjcmV0', /must have the form "Bearer <token>"|missing/],
    ['a malformed token', () => 'Bearer not.a.jwt', /malformed|not valid/],
    ['an expired token', () => `Bearer ${token({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 600 })}`, /expired/],
    [
      'a token valid only in the future',
      () => `Bearer ${token({ sub: 'alice', nbf: Math.floor(Date.now() / 1000) + 600 })}`,
      /not valid yet/,
    ],
    [
      'a token signed with another secret',
      () => `Bearer ${token({ sub: 'alice' }, { key: 'another-secret-another-secret-another-secret' })}`,
      /signature/,
    ],
    [
      'a token without exp',
      () => `Bearer ${createSigner({ key: 'test-secret-that-is-at-least-32-characters-long' })({ sub: 'alice' })}`,
      /exp/,
    ],
    ['a token without sub', () => `Bearer ${token({ name: 'alice' })}`, /sub/],
    [
      'an unsigned token (alg none)',
      () => `Bearer ${createSigner({ algorithm: 'none' })({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 })}`,
      /not signed|not valid|algorithm/,
    ],
  ];
  for (const [name, authorization, detail] of rejections) {
    test(`${name} gets 401 with a problem body that does not echo the token`, async () => {
      const header = authorization();
      const response = await post(app, header);
      assert.equal(response.statusCode, 401, response.body);
      assert.match(String(response.headers['content-type']), /application\/problem\+json/);
      const body = response.json<{ code: string; detail: string }>();
      assert.equal(body.code, 'BROKER_UNAUTHENTICATED');
      assert.match(body.detail, detail);
      const credential = header?.split(' ')[1];
      if (credential) assert.ok(!response.body.includes(credential), 'the token is echoed');
    });
  }

  test('the clock tolerance accepts a token that expired a moment ago', async () => {
    const response = await post(app, `Bearer ${token({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 2 })}`);
    assert.equal(response.statusCode, 201, response.body);
  });
});

describe('issuer and audience', async () => {
  const app = await testApp({ config: withJwt({ issuer: 'https://issuer.example/', audience: 'access-broker' }) });
  after(() => app.close());

  test('matching iss and aud are accepted', async () => {
    const response = await post(app, `Bearer ${token({ sub: 'a', iss: 'https://issuer.example/', aud: 'access-broker' })}`);
    assert.equal(response.statusCode, 201, response.body);
  });
  test('another issuer is refused', async () => {
    const response = await post(app, `Bearer ${token({ sub: 'a', iss: 'https://evil.example/', aud: 'access-broker' })}`);
    assert.equal(response.statusCode, 401);
    assert.match(response.json<{ detail: string }>().detail, /iss/);
  });
  test('another audience is refused', async () => {
    const response = await post(app, `Bearer ${token({ sub: 'a', iss: 'https://issuer.example/', aud: 'other-service' })}`);
    assert.equal(response.statusCode, 401);
    assert.match(response.json<{ detail: string }>().detail, /aud/);
  });
});

describe('public keys: RS256 and ES256, pinned', async () => {
  const rsa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const ec = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const rsApp = await testApp({ config: withJwt({ verification: { kind: 'public-key', publicKey: rsa.publicKey, algorithm: 'RS256' } }) });
  const esApp = await testApp({ config: withJwt({ verification: { kind: 'public-key', publicKey: ec.publicKey, algorithm: 'ES256' } }) });
  after(async () => {
    await rsApp.close();
    await esApp.close();
  });

  test('RS256 tokens verify against the RSA public key', async () => {
    const response = await post(rsApp, `Bearer ${token({ sub: 'a' }, { key: rsa.privateKey, algorithm: 'RS256' })}`);
    assert.equal(response.statusCode, 201, response.body);
  });
  test('ES256 tokens verify against the P-256 public key', async () => {
    const response = await post(esApp, `Bearer ${token({ sub: 'a' }, { key: ec.privateKey, algorithm: 'ES256' })}`);
    assert.equal(response.statusCode, 201, response.body);
  });
  test('a token of the other key type is refused for its algorithm, before any signature is tried', async () => {
    for (const [app, forged] of [
      [rsApp, token({ sub: 'a' }, { key: ec.privateKey, algorithm: 'ES256' })],
      [esApp, token({ sub: 'a' }, { key: rsa.privateKey, algorithm: 'RS256' })],
    ] as const) {
      const response = await post(app, `Bearer ${forged}`);
      assert.equal(response.statusCode, 401);
      assert.equal(response.json<{ detail: string }>().detail, 'token is signed with an algorithm this broker does not accept');
    }
  });
  test('algorithm confusion: an HS256 token keyed with the public key is refused', async () => {
    const forged = token({ sub: 'a' }, { key: rsa.publicKey, algorithm: 'HS256' });
    const response = await post(rsApp, `Bearer ${forged}`);
    assert.equal(response.statusCode, 401);
  });
});

describe('JWKS', async () => {
  const keys = [1, 2].map((n) => ({ kid: `key-${n}`, ...generateKeyPairSync('rsa', { modulusLength: 2048 }) }));
  let published = [keys[0]!];
  let fetches = 0;
  const server: Server = createServer((_request, response) => {
    fetches += 1;
    const body = { keys: published.map((key) => ({ ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, alg: 'RS256', use: 'sig' })) };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  const app = await testApp({ config: withJwt({ verification: { kind: 'jwks', url } }) });
  after(async () => {
    await app.close();
    server.close();
  });
  const signed = (index: number, kid = keys[index]!.kid) =>
    `Bearer ${token({ sub: 'a' }, { key: keys[index]!.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'RS256', kid })}`;

  test('a token signed by a published key is accepted, and the key set is cached', async () => {
    assert.equal((await post(app, signed(0))).statusCode, 201);
    assert.equal((await post(app, signed(0))).statusCode, 201);
    assert.equal(fetches, 1);
  });
  test('a rotated-in key is found by refetching on its unknown kid', async () => {
    published = [keys[0]!, keys[1]!];
    const response = await post(app, signed(1));
    assert.equal(response.statusCode, 201, response.body);
    assert.equal(fetches, 2);
  });
  test('unknown kids do not make the broker hammer the identity provider', async () => {
    for (let i = 0; i < 5; i += 1) {
      const response = await post(app, signed(0, `made-up-${i}`));
      assert.equal(response.statusCode, 401);
      assert.match(response.json<{ detail: string }>().detail, /key the identity provider does not publish/);
    }
    assert.equal(fetches, 2, 'a refetch happened inside the cooldown');
  });
});
