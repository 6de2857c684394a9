/**
 * The development policy and the broker-wide defaults, as README documents them: a fresh
 * `npm start` and its "Try it" block depend on these numbers (mutation testing found them unpinned).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GRANT_DEFAULTS, S3_MAX_PUT_BYTES, SIGV4_MAX_TTL_SECONDS } from '../../../src/policy/defaults.js';
import { developmentPolicy } from '../../../src/policy/development-policy.js';
import { validatePolicyDocument } from '../../../src/policy/load.js';
import { allowed, denied, principal, readBundle, readKey, run, writeKey } from './fixtures.js';

const MiB = 1024 * 1024;

describe('broker-wide defaults', () => {
  test('a grant lasts 900 s unless asked otherwise, at most a day, and an upload is at most S3’s 5 GiB single PUT', () => {
    assert.deepEqual(GRANT_DEFAULTS, { defaultTtlSeconds: 900, maxTtlSeconds: 86_400, maxBytes: 5 * 1024 * 1024 * 1024 });
    assert.equal(S3_MAX_PUT_BYTES, 5_368_709_120);
    assert.equal(SIGV4_MAX_TTL_SECONDS, 7 * 24 * 3600);
  });
});

describe('the development policy', () => {
  const policy = validatePolicyDocument(developmentPolicy, 'development policy');
  const defaults = GRANT_DEFAULTS;
  const alice = principal({ sub: 'alice' });

  test('any caller may upload up to 100 MiB under uploads/{sub}/, for at most an hour', () => {
    const fits = allowed(
      run({
        policy,
        defaults,
        who: alice,
        ask: writeKey('uploads/alice/a.png', { contentType: 'image/png', contentLength: 100 * MiB, ttlSeconds: 86_400 }),
      }),
    );
    assert.deepEqual(fits.source, { kind: 'rule', id: 'dev-own-uploads' });
    assert.equal(fits.maxBytes, 100 * MiB);
    assert.equal(fits.ttlSeconds, 3600);
    const tooBig = denied(
      run({
        policy,
        defaults,
        who: alice,
        ask: writeKey('uploads/alice/a.png', { contentType: 'image/png', contentLength: 100 * MiB + 1 }),
      }),
    );
    assert.equal(tooBig.code, 'BROKER_LIMIT_EXCEEDED');
    denied(run({ policy, defaults, who: alice, ask: writeKey('uploads/bob/a.png', { contentType: 'image/png', contentLength: 1 }) }));
  });

  test('any caller may read public/*, open the demo bundle and read inside it, for the default 900 s', () => {
    const read = allowed(run({ policy, defaults, who: alice, ask: readKey('public/a.txt') }));
    assert.deepEqual(read.source, { kind: 'rule', id: 'dev-public' });
    assert.equal(read.ttlSeconds, 900);
    allowed(run({ policy, defaults, who: alice, ask: readBundle('demo') }));
    assert.equal(policy.bundles.get('demo')?.cookiePath, '/public/demo/');
    denied(run({ policy, defaults, who: alice, ask: writeKey('public/a.txt', { contentType: 'text/plain', contentLength: 1 }) }));
  });
});
