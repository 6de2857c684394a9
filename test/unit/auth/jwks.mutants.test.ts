/**
 * The JWKS cache's edges that mutation testing found unpinned by jwks.test.ts: what it skips
 * in a published set, what it reports, and exactly when it fetches again.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { createJwksKeys, type JwksOptions } from '../../../src/auth/jwks.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const good = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
const privateJwk = { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'leaked', alg: 'RS256' };

interface Provider {
  state: { time: number; fetches: number; status: number; body: unknown; requests: RequestInit[] };
  keys: ReturnType<typeof createJwksKeys>;
}

function provider(body: unknown, options: Partial<JwksOptions> = {}): Provider {
  const state = { time: 0, fetches: 0, status: 200, body, requests: [] as RequestInit[] };
  const fetchStub = (async (_url: string | URL | Request, init?: RequestInit) => {
    state.fetches += 1;
    state.requests.push(init ?? {});
    return new Response(JSON.stringify(state.body), { status: state.status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const keys = createJwksKeys({ url: 'https://idp.example/jwks.json', fetch: fetchStub, now: () => state.time, ...options });
  return { state, keys };
}

const code = (expected: string) => (error: { code?: string }) => error.code === expected;

describe('a published key set', () => {
  test('entries that are not objects or have no string kid are skipped without a word; the good key still verifies', async () => {
    const refused: [unknown, string][] = [];
    const kidless = Object.fromEntries(Object.entries(privateJwk).filter(([name]) => name !== 'kid'));
    const { keys } = provider(
      { keys: [null, 'k1', 42, kidless, { ...privateJwk, kid: 7 }, good] },
      {
        onKeyRefused: (kid, reason) => refused.push([kid, reason]),
      },
    );
    assert.match(await keys.keyFor({ kid: 'k1', alg: 'RS256' }), /BEGIN PUBLIC KEY/);
    assert.deepEqual(refused, []);
  });

  test('a key with private material, or that is no valid JWK, is refused and named, and the others still verify', async () => {
    const refused: [string, string][] = [];
    const invalid = { kty: 'RSA', kid: 'broken', n: 'AQAB' };
    const { keys } = provider({ keys: [privateJwk, invalid, good] }, { onKeyRefused: (kid, reason) => refused.push([kid, reason]) });
    assert.match(await keys.keyFor({ kid: 'k1', alg: 'RS256' }), /BEGIN PUBLIC KEY/);
    assert.deepEqual(refused, [
      ['leaked', 'it holds private key material'],
      ['broken', 'it is not a valid public JWK'],
    ]);
    await assert.rejects(keys.keyFor({ kid: 'leaked', alg: 'RS256' }), /does not publish/);
  });

  test('refused keys and failed fetches need no listener', async () => {
    const { state, keys } = provider({ keys: [privateJwk, good] });
    assert.match(await keys.keyFor({ kid: 'k1', alg: 'RS256' }), /BEGIN PUBLIC KEY/);
    state.status = 500;
    state.time = 10 * 60_000 + 1; // stale: fetched again, and the fetch fails
    assert.match(await keys.keyFor({ kid: 'k1', alg: 'RS256' }), /BEGIN PUBLIC KEY/);
    assert.equal(state.fetches, 2);
  });

  test('is asked for as JSON, with a timeout', async () => {
    const { state, keys } = provider({ keys: [good] });
    await keys.keyFor({ kid: 'k1', alg: 'RS256' });
    const [request] = state.requests;
    assert.ok(request?.signal instanceof AbortSignal);
    assert.deepEqual(request.headers, { accept: 'application/json' });
  });

  test('an answer that is not 2xx is a failure, whatever its body, and is reported with its status', async () => {
    const errors: unknown[] = [];
    const { state, keys } = provider({ keys: [good] }, { onError: (error) => errors.push(error) });
    state.status = 503;
    await assert.rejects(keys.keyFor({ kid: 'k1', alg: 'RS256' }), (error: { code?: string; message?: string }) => {
      assert.equal(error.code, 'BROKER_AUTH_UNAVAILABLE');
      assert.equal(error.message, "the identity provider's keys (JWKS_URL) could not be fetched");
      return true;
    });
    assert.equal(String(errors[0]), 'Error: JWKS answered 503');
  });
});

describe('token headers', () => {
  test('a kid that is missing or not a string is refused as missing, without fetching for it', async () => {
    const { state, keys } = provider({ keys: [good] });
    for (const header of [{ alg: 'RS256' }, { kid: 1, alg: 'RS256' }, { kid: ['k1'], alg: 'RS256' }]) {
      await assert.rejects(keys.keyFor(header), (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'BROKER_UNAUTHENTICATED');
        assert.equal(error.message, 'token header has no "kid"; a JWKS-verified token must name its key');
        return true;
      });
    }
    assert.equal(state.fetches, 0);
  });
});

describe('when the set is fetched again', () => {
  test('known keys are refreshed only once they are older than maxAge (10 minutes by default)', async () => {
    const { state, keys } = provider({ keys: [good] });
    await keys.keyFor({ kid: 'k1', alg: 'RS256' });
    state.time = 10 * 60_000;
    await keys.keyFor({ kid: 'k1', alg: 'RS256' });
    assert.equal(state.fetches, 1, 'exactly maxAge old: still fresh');
    state.time += 1;
    await keys.keyFor({ kid: 'k1', alg: 'RS256' });
    assert.equal(state.fetches, 2);
  });

  test('an unknown kid fetches again once the cooldown (30 s by default) has passed, to the millisecond', async () => {
    const { state, keys } = provider({ keys: [good] });
    await assert.rejects(keys.keyFor({ kid: 'new', alg: 'RS256' }), code('BROKER_UNAUTHENTICATED'));
    assert.equal(state.fetches, 2, 'the first fetch, and one more for the unknown kid');
    state.time = 29_999;
    await assert.rejects(keys.keyFor({ kid: 'new', alg: 'RS256' }), code('BROKER_UNAUTHENTICATED'));
    assert.equal(state.fetches, 2);
    state.time = 30_000;
    await assert.rejects(keys.keyFor({ kid: 'new', alg: 'RS256' }), code('BROKER_UNAUTHENTICATED'));
    assert.equal(state.fetches, 3);
  });

  test('while the provider is down, the last good keys serve for an hour past maxAge by default, then fail closed', async () => {
    const { state, keys } = provider({ keys: [good] });
    await keys.keyFor({ kid: 'k1', alg: 'RS256' });
    state.status = 500;
    state.time = 70 * 60_000;
    assert.match(await keys.keyFor({ kid: 'k1', alg: 'RS256' }), /BEGIN PUBLIC KEY/);
    state.time += 30_001; // past the retry cooldown, and past the hour
    await assert.rejects(keys.keyFor({ kid: 'k1', alg: 'RS256' }), code('BROKER_AUTH_UNAVAILABLE'));
  });
});

describe('an answer without a key list', () => {
  test('publishes no key: a token naming one is refused as unknown (401), not as an unreachable provider (503)', async () => {
    for (const body of [{}, { keys: 'k1' }, { keys: { k1: good } }]) {
      const { keys } = provider(body);
      await assert.rejects(keys.keyFor({ kid: 'k1', alg: 'RS256' }), (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'BROKER_UNAUTHENTICATED', JSON.stringify(body));
        assert.equal(error.message, 'token is signed with a key the identity provider does not publish');
        return true;
      });
    }
  });
});
