import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { getSignedCookies, getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { encodeKeyPath } from '../../../src/keys/key-path.js';
import { createCloudFrontSigner } from '../../../src/signing/cloudfront-signer.js';
import { cannedPolicyOf, fromCloudFrontBase64, verifyCloudFrontSignature } from '../../helpers/cloudfront.js';
import { cloudfrontKeyPair } from '../../helpers/config.js';

const { privateKey, publicKey } = cloudfrontKeyPair();
const domain = 'd111111abcdef8.cloudfront.net';
const expiresAt = new Date('2030-01-01T00:00:00Z');

for (const hashAlgorithm of ['SHA1', 'SHA256'] as const) {
  describe(`CloudFront signed URLs (${hashAlgorithm})`, () => {
    const signer = createCloudFrontSigner({ domain, keyPairId: 'KTESTKEYPAIR01', privateKey, hashAlgorithm });

    for (const key of ['public/a.txt', 'public/with space/ünïcode.mp4', "public/it's (1).jpg", 'public/100%.txt', 'public/a+b=c&d.txt']) {
      test(`equals the AWS SDK's own output for ${JSON.stringify(key)}`, () => {
        const ours = signer.signUrl(key, expiresAt);
        const sdk = getSignedUrl({ url: `https://${domain}/${encodeKeyPath(key)}`, keyPairId: 'KTESTKEYPAIR01', privateKey, dateLessThan: expiresAt, algorithm: hashAlgorithm });
        assert.equal(ours, sdk);
      });
    }

    test('the signature verifies against the public key over the canned policy', () => {
      const url = signer.signUrl('public/video.mp4', expiresAt);
      const canned = cannedPolicyOf(url);
      assert.equal(canned.resource, `https://${domain}/public/video.mp4`);
      assert.equal(canned.keyPairId, 'KTESTKEYPAIR01');
      assert.ok(verifyCloudFrontSignature(canned.policy, canned.signature, publicKey, hashAlgorithm));
      assert.equal(new URL(url).searchParams.get('Hash-Algorithm'), hashAlgorithm === 'SHA256' ? 'SHA256' : null);
      assert.equal(new URL(url).searchParams.get('Expires'), String(expiresAt.getTime() / 1000));
    });

    test('signed cookies equal the AWS SDK\'s own output', () => {
      const resource = `https://${domain}/public/demo/*`;
      const policy = JSON.stringify({ Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': expiresAt.getTime() / 1000 } } }] });
      const sdk = getSignedCookies({ policy, keyPairId: 'KTESTKEYPAIR01', privateKey, algorithm: hashAlgorithm });
      assert.deepEqual({ ...signer.signCookies(resource, expiresAt) }, { ...sdk });
    });

    test('a tampered resource no longer verifies', () => {
      const canned = cannedPolicyOf(signer.signUrl('public/a.txt', expiresAt));
      assert.ok(!verifyCloudFrontSignature(canned.policy.replace('a.txt', 'b.txt'), canned.signature, publicKey, hashAlgorithm));
    });
  });
}

describe('wildcards in keys never reach a policy unescaped', () => {
  const signer = createCloudFrontSigner({ domain, keyPairId: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' });

  test('a `*` in a key is signed as %2A, a `?` as %3F', () => {
    const canned = cannedPolicyOf(signer.signUrl('public/*/what?.txt', expiresAt));
    assert.equal(canned.resource, `https://${domain}/public/%2A/what%3F.txt`);
    assert.ok(!canned.policy.includes('*') && !canned.policy.includes('?'));
    assert.ok(verifyCloudFrontSignature(canned.policy, canned.signature, publicKey));
  });

  test('regression: the SDK itself would unescape %2A into a wildcard, which is why the URL is built here', () => {
    const sdk = getSignedUrl({ url: `https://${domain}/public/%2A`, keyPairId: 'K', privateKey, dateLessThan: expiresAt });
    assert.ok(sdk.startsWith(`https://${domain}/public/*?`), sdk);
  });
});

describe('signed cookies', () => {
  const signer = createCloudFrontSigner({ domain, keyPairId: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' });

  test('carry a custom policy with the wildcard resource and expiry, signed by the key pair', () => {
    const cookies = signer.signCookies(`https://${domain}/public/demo/*`, expiresAt);
    const policy = fromCloudFrontBase64(cookies['CloudFront-Policy']).toString();
    assert.deepEqual(JSON.parse(policy), {
      Statement: [{ Resource: `https://${domain}/public/demo/*`, Condition: { DateLessThan: { 'AWS:EpochTime': expiresAt.getTime() / 1000 } } }],
    });
    assert.equal(cookies['CloudFront-Key-Pair-Id'], 'KTESTKEYPAIR01');
    assert.ok(verifyCloudFrontSignature(policy, cookies['CloudFront-Signature'], publicKey));
  });

  test('openssl agrees that the cookie signature is valid', (context) => {
    try {
      execFileSync('openssl', ['version']);
    } catch {
      context.skip('openssl is not installed');
      return;
    }
    const cookies = signer.signCookies(`https://${domain}/public/demo/*`, expiresAt);
    const dir = mkdtempSync(join(tmpdir(), 'cf-'));
    writeFileSync(join(dir, 'policy'), fromCloudFrontBase64(cookies['CloudFront-Policy']));
    writeFileSync(join(dir, 'signature'), fromCloudFrontBase64(cookies['CloudFront-Signature']));
    writeFileSync(join(dir, 'public.pem'), publicKey);
    const output = execFileSync('openssl', ['dgst', '-sha1', '-verify', join(dir, 'public.pem'), '-signature', join(dir, 'signature'), join(dir, 'policy')]).toString();
    assert.match(output, /Verified OK/);
  });
});
