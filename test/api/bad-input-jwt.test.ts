import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import type { Config } from '../../src/config/config.js';
import { testApp, type FastifyInstance } from '../helpers/app.js';
import { TEST_JWT_SECRET, testConfig } from '../helpers/config.js';
import { es256, forge, hs256, rs256 } from '../helpers/jwt-forge.js';

/**
 * The JWT corpus: every refused shape of token found in review, and its
 * siblings, against each way the broker verifies tokens, with an issuer and an
 * audience configured. Only the first case may get a grant.
 */
const ISSUER = 'https://id.example/';
const AUDIENCE = 'access-broker';
const now = (): number => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: 'alice',
  iss: ISSUER,
  aud: AUDIENCE,
  iat: now(),
  exp: now() + 600,
  ...extra,
});
const without =
  (name: string) =>
  (payload: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(payload).filter(([key]) => key !== name));

interface Case {
  readonly name: string;
  readonly header?: Record<string, unknown>;
  readonly payload: () => Record<string, unknown>;
  readonly detail: RegExp;
}

const refused: Case[] = [
  { name: 'regression: no aud while JWT_AUDIENCE is set', payload: () => without('aud')(claims()), detail: /aud/ },
  { name: 'regression: no iss while JWT_ISSUER is set', payload: () => without('iss')(claims()), detail: /iss/ },
  { name: 'aud naming another service', payload: () => claims({ aud: 'billing' }), detail: /aud|audience/ },
  { name: 'aud list without the broker', payload: () => claims({ aud: ['billing', 'mail'] }), detail: /aud|audience/ },
  { name: 'aud as a number', payload: () => claims({ aud: 1 }), detail: /aud|audience/ },
  { name: 'iss of another issuer', payload: () => claims({ iss: 'https://evil.example/' }), detail: /iss|issuer/ },
  { name: 'iss differing only in case', payload: () => claims({ iss: 'https://ID.example/' }), detail: /iss|issuer/ },
  { name: 'a refresh token (typ refresh+jwt)', header: { typ: 'refresh+jwt' }, payload: () => claims(), detail: /not an access token/ },
  { name: 'an ID token (typ id+jwt)', header: { typ: 'id+jwt' }, payload: () => claims(), detail: /not an access token/ },
  { name: 'typ as a number', header: { typ: 1 }, payload: () => claims(), detail: /not an access token/ },
  { name: 'iat an hour in the future', payload: () => claims({ iat: now() + 3600, exp: now() + 4000 }), detail: /issued in the future/ },
  { name: 'iat as a string', payload: () => claims({ iat: String(now()) }), detail: /iat/ },
  { name: 'regression: exp 1e308', payload: () => claims({ exp: 1e308 }), detail: /lifetime exceeds|exp/ },
  { name: 'exp ten years out', payload: () => claims({ exp: now() + 10 * 365 * 86_400 }), detail: /lifetime exceeds/ },
  { name: 'exp two days after iat', payload: () => claims({ iat: now() - 60, exp: now() - 60 + 2 * 86_400 }), detail: /lifetime exceeds/ },
  { name: 'exp as a string', payload: () => claims({ exp: String(now() + 600) }), detail: /exp/ },
  { name: 'no exp', payload: () => without('exp')(claims()), detail: /exp/ },
  { name: 'expired an hour ago', payload: () => claims({ iat: now() - 7200, exp: now() - 3600 }), detail: /expired/ },
  { name: 'nbf an hour ahead', payload: () => claims({ nbf: now() + 3600 }), detail: /not valid yet|nbf/ },
  { name: 'no sub', payload: () => without('sub')(claims()), detail: /sub/ },
  { name: 'sub as a number', payload: () => claims({ sub: 42 }), detail: /sub/ },
  { name: 'empty sub', payload: () => claims({ sub: '' }), detail: /sub/ },
  { name: 'sub as a list', payload: () => claims({ sub: ['alice'] }), detail: /sub/ },
  {
    name: 'an unknown critical header',
    header: { crit: ['x-must-understand'], 'x-must-understand': 1 },
    payload: () => claims(),
    detail: /./,
  },
];

type Signer = (header: Record<string, unknown>, payload: Record<string, unknown>) => string;

function withJwt(jwt: Partial<Config['jwt']>): Config {
  const config = testConfig();
  return { ...config, jwt: { ...config.jwt, issuer: ISSUER, audience: AUDIENCE, ...jwt } };
}

const rsa = (modulusLength: number) => generateKeyPairSync('rsa', { modulusLength });
const rsaKey = rsa(2048);

async function jwksServer(keys: Record<string, unknown>[]): Promise<{ url: string; close: () => void }> {
  const server = createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, close: () => server.close() };
}

const jwkOf = (key: KeyObject, extra: Record<string, unknown>): Record<string, unknown> => ({ ...key.export({ format: 'jwk' }), ...extra });

describe('JWT corpus: refused tokens, for every verification mode', async () => {
  const jwks = await jwksServer([jwkOf(rsaKey.publicKey, { kid: 'good', alg: 'RS256', use: 'sig' })]);
  const modes: [string, FastifyInstance, Signer][] = [
    [
      'HS256',
      await testApp({ config: withJwt({}) }),
      (header, payload) => forge({ alg: 'HS256', ...header }, payload, hs256(TEST_JWT_SECRET)),
    ],
    [
      'RS256 public key',
      await testApp({
        config: withJwt({
          verification: {
            kind: 'public-key',
            publicKey: rsaKey.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
            algorithm: 'RS256',
          },
        }),
      }),
      (header, payload) => forge({ alg: 'RS256', ...header }, payload, rs256(rsaKey.privateKey)),
    ],
    [
      'JWKS',
      await testApp({ config: withJwt({ verification: { kind: 'jwks', url: jwks.url } }) }),
      (header, payload) => forge({ alg: 'RS256', kid: 'good', ...header }, payload, rs256(rsaKey.privateKey)),
    ],
  ];
  after(async () => {
    for (const [, app] of modes) await app.close();
    jwks.close();
  });

  for (const [mode, app, signer] of modes) {
    const grant = (token: string) =>
      app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a'] }, headers: { authorization: `Bearer ${token}` } });

    test(`${mode}: a proper access token gets a grant (the corpus' control case)`, async () => {
      const response = await grant(signer({ typ: 'JWT' }, claims()));
      assert.equal(response.statusCode, 200, response.body);
    });

    for (const item of refused) {
      test(`${mode}: ${item.name} gets 401 and a WWW-Authenticate challenge`, async () => {
        const response = await grant(signer(item.header ?? {}, item.payload()));
        assert.equal(response.statusCode, 401, response.body);
        const body = response.json<{ code: string; detail: string }>();
        assert.equal(body.code, 'BROKER_UNAUTHENTICATED');
        assert.match(body.detail, item.detail);
        assert.doesNotMatch(body.detail, /\.$/u, "regression: fast-jwt's full stop ended the detail");
        assert.match(
          String(response.headers['www-authenticate']),
          /^Bearer realm="access-broker", error="invalid_token", error_description="[^"\\]*"$/,
        );
      });
    }
  }

  test('no token: a challenge without an error (RFC 6750 §3.1)', async () => {
    const [, app] = modes[0]!;
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a'] } });
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="access-broker"');
  });
});

describe('JWKS: every published key is held to the same rules as JWT_PUBLIC_KEY', async () => {
  const weak1024 = rsa(1024);
  const weak512 = rsa(512);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const encryption = rsa(2048);
  const mislabelled = rsa(2048);
  const privateOne = rsa(2048);
  const jwks = await jwksServer([
    jwkOf(rsaKey.publicKey, { kid: 'good' }),
    jwkOf(p256.publicKey, { kid: 'good-ec', alg: 'ES256' }),
    jwkOf(weak1024.publicKey, { kid: 'rsa-1024', alg: 'RS256' }),
    jwkOf(weak512.publicKey, { kid: 'rsa-512' }),
    jwkOf(p384.publicKey, { kid: 'p-384' }),
    jwkOf(encryption.publicKey, { kid: 'enc-ops', key_ops: ['encrypt'] }),
    jwkOf(mislabelled.publicKey, { kid: 'says-es256', alg: 'ES256' }),
    jwkOf(privateOne.privateKey, { kid: 'private' }),
  ]);
  const app = await testApp({ config: withJwt({ verification: { kind: 'jwks', url: jwks.url } }) });
  after(async () => {
    await app.close();
    jwks.close();
  });
  const grant = (token: string) =>
    app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a'] }, headers: { authorization: `Bearer ${token}` } });

  test('well-formed RSA-2048 and P-256 keys verify', async () => {
    assert.equal((await grant(forge({ alg: 'RS256', kid: 'good' }, claims(), rs256(rsaKey.privateKey)))).statusCode, 200);
    assert.equal((await grant(forge({ alg: 'ES256', kid: 'good-ec' }, claims(), es256(p256.privateKey)))).statusCode, 200);
  });

  const refusedKeys: [string, string, (input: string) => Buffer][] = [
    ['regression: a 1024-bit RSA key', 'rsa-1024', rs256(weak1024.privateKey)],
    ['regression: a 512-bit RSA key', 'rsa-512', rs256(weak512.privateKey)],
    ['a P-384 key signing ES256', 'p-384', es256(p384.privateKey)],
    ['a key whose key_ops do not include verify', 'enc-ops', rs256(encryption.privateKey)],
    ['an RSA key declared as ES256', 'says-es256', rs256(mislabelled.privateKey)],
    ['a key published with its private part', 'private', rs256(privateOne.privateKey)],
  ];
  for (const [name, kid, signer] of refusedKeys) {
    test(`${name} verifies nothing`, async () => {
      const response = await grant(forge({ alg: kid === 'p-384' ? 'ES256' : 'RS256', kid }, claims(), signer));
      assert.equal(response.statusCode, 401, response.body);
      assert.match(response.json<{ detail: string }>().detail, /does not publish/);
    });
  }
});
