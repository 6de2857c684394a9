/**
 * Requests that need the key set while it is being fetched wait for that one fetch: a burst of
 * callers at start-up (or after maxAge) costs the identity provider one request, not one each.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { createJwksKeys } from '../../../src/auth/jwks.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const body = JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] });

/** A provider that answers only when told to, so that requests can pile up behind a fetch. */
function slowProvider() {
  const state = { time: 0, fetches: 0, status: 200, answer: (): void => undefined };
  const fetchStub = (async () => {
    state.fetches += 1;
    await new Promise<void>((resolve) => (state.answer = resolve));
    return new Response(body, { status: state.status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const keys = createJwksKeys({ url: 'https://idp.example/jwks.json', fetch: fetchStub, now: () => state.time });
  return { state, keys };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('concurrent requests for the key set', () => {
  test('at start-up, five requests share one fetch and all get the key', async () => {
    const { state, keys } = slowProvider();
    const waiting = Array.from({ length: 5 }, () => keys.keyFor({ kid: 'k1', alg: 'RS256' }));
    await settle();
    assert.equal(state.fetches, 1);
    state.answer();
    for (const pem of await Promise.all(waiting)) assert.match(pem, /BEGIN PUBLIC KEY/);
    assert.equal(state.fetches, 1);
  });

  test('once the set is older than maxAge, requests arriving during the refresh share it too', async () => {
    const { state, keys } = slowProvider();
    const first = keys.keyFor({ kid: 'k1', alg: 'RS256' });
    await settle();
    state.answer();
    await first;
    state.time = 10 * 60_000 + 1;
    const waiting = [keys.keyFor({ kid: 'k1', alg: 'RS256' }), keys.keyFor({ kid: 'k1', alg: 'RS256' })];
    await settle();
    state.answer();
    await Promise.all(waiting);
    assert.equal(state.fetches, 2);
  });
});

describe('a fetch in flight after a failure', () => {
  test('a request that arrives during it waits for it, even if the clock is stepped back into the retry cooldown meanwhile', async () => {
    const { state, keys } = slowProvider();
    state.status = 500;
    const failed = keys.keyFor({ kid: 'k1', alg: 'RS256' });
    await settle();
    state.answer();
    await assert.rejects(failed, (error: { code?: string }) => error.code === 'BROKER_AUTH_UNAVAILABLE');
    state.status = 200;
    state.time = 30_000; // the cooldown has passed: this request fetches again
    const retrying = keys.keyFor({ kid: 'k1', alg: 'RS256' });
    await settle();
    state.time = 29_000; // NTP steps the wall clock back a second
    const arriving = keys.keyFor({ kid: 'k1', alg: 'RS256' });
    await settle();
    state.answer();
    assert.match(await retrying, /BEGIN PUBLIC KEY/);
    assert.match(await arriving, /BEGIN PUBLIC KEY/);
    assert.equal(state.fetches, 2);
  });
});
