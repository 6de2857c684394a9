import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { createJwksKeys } from '../../../src/auth/jwks.js';

const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] };

function provider() {
  const state = { up: true, fetches: 0, time: 0, errors: 0 };
  const fetchStub = (async () => {
    state.fetches += 1;
    if (!state.up) throw new Error('connect ECONNREFUSED');
    return new Response(JSON.stringify(jwks), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const keys = createJwksKeys({
    url: 'https://idp.example/jwks.json',
    fetch: fetchStub,
    now: () => state.time,
    refreshCooldownMs: 30_000,
    maxAgeMs: 600_000,
    maxStaleMs: 3_600_000,
    onError: () => {
      state.errors += 1;
    },
  });
  return { state, keys };
}

describe('JWKS keys while the identity provider is down', () => {
  test('regression: requests do not each refetch a dead provider once the keys are old', async () => {
    const { state, keys } = provider();
    await keys.keyFor({ kid: 'k1', alg: 'RS256' });
    state.up = false;
    state.time = 700_000; // past maxAge
    for (let i = 0; i < 20; i += 1) await keys.keyFor({ kid: 'k1', alg: 'RS256' });
    assert.equal(state.fetches, 2, 'one initial fetch, one failed refresh, then the cooldown');
    assert.equal(state.errors, 1, 'the failure is reported');
    state.time += 30_000;
    await keys.keyFor({ kid: 'k1', alg: 'RS256' });
    assert.equal(state.fetches, 3, 'retried once the cooldown has passed');
  });

  test('the last good keys serve for maxStale, then verification fails closed with 503', async () => {
    const { state, keys } = provider();
    await keys.keyFor({ kid: 'k1', alg: 'RS256' });
    state.up = false;
    state.time = 600_000 + 3_600_000; // exactly at the limit: still served
    assert.match(await keys.keyFor({ kid: 'k1', alg: 'RS256' }), /BEGIN PUBLIC KEY/);
    state.time += 60_000;
    await assert.rejects(keys.keyFor({ kid: 'k1', alg: 'RS256' }), (error: { code?: string }) => error.code === 'BROKER_AUTH_UNAVAILABLE');
  });

  test('the provider coming back restores verification', async () => {
    const { state, keys } = provider();
    state.up = false;
    await assert.rejects(keys.keyFor({ kid: 'k1', alg: 'RS256' }), (error: { code?: string }) => error.code === 'BROKER_AUTH_UNAVAILABLE');
    state.up = true;
    state.time += 30_000;
    assert.match(await keys.keyFor({ kid: 'k1', alg: 'RS256' }), /BEGIN PUBLIC KEY/);
  });

  test('a token whose algorithm does not match its key is refused', async () => {
    const { keys } = provider();
    await assert.rejects(keys.keyFor({ kid: 'k1', alg: 'ES256' }), /does not match/);
    await assert.rejects(keys.keyFor({ kid: 'k1', alg: 'HS256' }), /does not match/);
  });
});
