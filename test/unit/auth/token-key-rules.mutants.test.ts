/** Token and key rules that mutation testing found unpinned by token-rules.test.ts and key-rules.test.ts. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { verificationKeyVerdict } from '../../../src/auth/key-rules.js';
import { tokenProblem } from '../../../src/auth/token-rules.js';

describe('tokenProblem', () => {
  const NOW = 1_800_000_000;
  const open = { issuer: undefined, audience: undefined, clockToleranceSeconds: 30, maxTokenAgeSeconds: 3600 };

  test('with no issuer configured, a token from any issuer passes', () => {
    assert.equal(tokenProblem({}, { sub: 'a', iss: 'https://elsewhere.example/', exp: NOW + 60 }, NOW, open), undefined);
  });

  test('"application/" is dropped from typ only as a prefix', () => {
    for (const typ of ['JWTapplication/', 'at+jwtapplication/', 'x-application/jwt']) {
      assert.match(tokenProblem({ typ }, { sub: 'a', exp: NOW + 60 }, NOW, open) ?? '', /not an access token/, typ);
    }
  });
});

describe('verificationKeyVerdict', () => {
  test('a key that is refused for what it is stays refused for that reason, whatever it declares', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.deepEqual(verificationKeyVerdict(publicKey, { alg: 'RS256', use: 'sig' }), {
      ok: false,
      reason: 'RSA keys shorter than 2048 bits are refused (this one has 1024)',
    });
  });

  test('a key that is neither RSA nor EC is named by its type', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    assert.deepEqual(verificationKeyVerdict(publicKey), {
      ok: false,
      reason: 'only RSA (RS256) and EC P-256 (ES256) keys verify tokens; this is an ed25519 key',
    });
  });

  test('an EC key on another curve is named by its curve', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    assert.deepEqual(verificationKeyVerdict(publicKey), {
      ok: false,
      reason: 'only RSA (RS256) and EC P-256 (ES256) keys verify tokens; this EC key is on secp384r1',
    });
  });
});
