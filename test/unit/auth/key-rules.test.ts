import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { verificationKeyVerdict } from '../../../src/auth/key-rules.js';

const rsa = (modulusLength: number, publicExponent?: number): KeyObject =>
  generateKeyPairSync('rsa', { modulusLength, ...(publicExponent === undefined ? {} : { publicExponent }) }).publicKey;
const rsa2048 = rsa(2048);
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;

describe('verificationKeyVerdict: one rule for every key that verifies tokens', () => {
  test('RSA of 2048 bits or more verifies RS256; EC P-256 verifies ES256', () => {
    assert.deepEqual(verificationKeyVerdict(rsa2048), { ok: true, algorithm: 'RS256' });
    assert.deepEqual(verificationKeyVerdict(rsa(3072)), { ok: true, algorithm: 'RS256' });
    assert.deepEqual(verificationKeyVerdict(p256), { ok: true, algorithm: 'ES256' });
  });

  test('short RSA keys are refused, naming their size', () => {
    for (const bits of [512, 1024, 2040]) {
      const verdict = verificationKeyVerdict(rsa(bits));
      assert.equal(verdict.ok, false);
      assert.match(!verdict.ok ? verdict.reason : '', new RegExp(`shorter than 2048 bits .*has ${bits}`));
    }
  });

  test('an RSA key with exponent 1 (any signature verifies) or an even exponent is refused', () => {
    const { n } = rsa2048.export({ format: 'jwk' });
    for (const e of ['AQ', 'Ag', 'BA']) {
      // 1, 2, 4: built as JWKs, since no generator makes such keys
      const key = createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });
      assert.deepEqual(verificationKeyVerdict(key), { ok: false, reason: 'the RSA public exponent is not valid' }, e);
    }
    assert.equal(verificationKeyVerdict(rsa(2048, 3)).ok, true, 'e = 3 is valid RSA');
  });

  test('other curves and key types are refused', () => {
    for (const key of [
      generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
      generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey,
    ]) {
      const verdict = verificationKeyVerdict(key);
      assert.match(!verdict.ok ? verdict.reason : 'accepted', /^only RSA \(RS256\) and EC P-256 \(ES256\) keys verify tokens/);
    }
  });

  test('a declared alg, use or key_ops must agree with the key', () => {
    assert.equal(verificationKeyVerdict(rsa2048, { alg: 'RS256', use: 'sig', key_ops: ['verify'] }).ok, true);
    const refused: [KeyObject, object, RegExp][] = [
      [rsa2048, { alg: 'ES256' }, /declared alg "ES256"/],
      [rsa2048, { alg: 'RS512' }, /declared alg "RS512"/],
      [rsa2048, { alg: 'HS256' }, /declared alg "HS256"/],
      [p256, { alg: 'RS256' }, /declared alg "RS256"/],
      [rsa2048, { use: 'enc' }, /use "enc"/],
      [rsa2048, { key_ops: ['encrypt'] }, /key_ops/],
      [rsa2048, { key_ops: 'verify' }, /key_ops/],
      [rsa2048, { key_ops: [] }, /key_ops/],
    ];
    for (const [key, declared, reason] of refused) {
      const verdict = verificationKeyVerdict(key, declared);
      assert.match(!verdict.ok ? verdict.reason : 'accepted', reason, JSON.stringify(declared));
    }
  });
});

describe('verificationKeyVerdict: what a refused key is told', () => {
  const only = 'only RSA (RS256) and EC P-256 (ES256) keys verify tokens';

  test('an EC key on another curve is named by its curve', () => {
    const verdict = verificationKeyVerdict(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey);
    assert.deepEqual(verdict, { ok: false, reason: `${only}; this EC key is on secp384r1` });
  });

  test('a key of another type is named by its type', () => {
    assert.deepEqual(verificationKeyVerdict(generateKeyPairSync('ed25519').publicKey), {
      ok: false,
      reason: `${only}; this is an ed25519 key`,
    });
    assert.deepEqual(verificationKeyVerdict(generateKeyPairSync('x25519').publicKey), {
      ok: false,
      reason: `${only}; this is an x25519 key`,
    });
  });
});
