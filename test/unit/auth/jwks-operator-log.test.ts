/**
 * What the operator reads when the identity provider's key set is wrong: the broker logs each
 * published key it refuses, with its kid and why, and keeps verifying with the others.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { forge, rs256 } from '../../helpers/jwt-forge.js';
import { bareApp } from './bare-app.js';

const now = (): number => Math.floor(Date.now() / 1000);

describe('a JWKS_URL that publishes a key the broker refuses', async () => {
  const good = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const leaked = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = [
    { ...leaked.privateKey.export({ format: 'jwk' }), kid: 'leaked', alg: 'RS256' },
    { ...good.publicKey.export({ format: 'jwk' }), kid: 'good', alg: 'RS256', use: 'sig' },
  ];
  const server = createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;

  test('is a warning naming the key and why it verifies nothing; tokens of the other keys still verify', async () => {
    const { app, logs } = await bareApp({ kind: 'jwks', url });
    const token = forge({ alg: 'RS256', kid: 'good' }, { sub: 'alice', exp: now() + 600 }, rs256(good.privateKey));
    const response = await app.inject({ url: '/who', headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(response.json(), { sub: 'alice' });
    const warnings = logs.filter((line) => line.msg === 'JWKS_URL publishes a key this broker refuses');
    assert.deepEqual(
      warnings.map(({ level, kid, reason }) => ({ level, kid, reason })),
      [{ level: 40, kid: 'leaked', reason: 'it holds private key material' }],
    );
    assert.ok(!JSON.stringify(logs).includes(String(keys[0]?.d)), 'the private key reached the logs');
  });
});
