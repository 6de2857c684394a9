import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { getSignedCookies, getSignedUrl } from '@aws-sdk/cloudfront-signer';
import type { CloudFrontKey } from '../../../src/config/config.js';
import { verifyRequest } from '../../../src/edge/verify.js';
import { encodeKeyForCloudFront } from '../../../src/keys/cloudfront-path.js';
import { createCloudFrontSigner, shareableExpiry, SignatureCache } from '../../../src/signing/cloudfront-signer.js';
import { cannedPolicyOf, fromCloudFrontBase64, opensslOr, verifyCloudFrontSignature } from '../../helpers/cloudfront.js';
import { cloudfrontKeyPair } from '../../helpers/config.js';

const { privateKey, publicKey } = cloudfrontKeyPair();
const domain = 'd111111abcdef8.cloudfront.net';
const expiresAt = new Date('2030-01-01T00:00:00Z');

for (const hashAlgorithm of ['SHA1', 'SHA256'] as const) {
  describe(`CloudFront signed URLs (${hashAlgorithm})`, () => {
    const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm }] });

    for (const key of ['public/a.txt', 'public/with space/ünïcode.mp4', "public/it's (1).jpg", 'public/100%.txt', 'public/a+b=c&d.txt']) {
      test(`equals the AWS SDK's own output for ${JSON.stringify(key)}`, () => {
        const ours = signer.signUrl(key, expiresAt);
        const sdk = getSignedUrl({
          url: `https://${domain}/${encodeKeyForCloudFront(key)}`,
          keyPairId: 'KTESTKEYPAIR01',
          privateKey,
          dateLessThan: expiresAt,
          algorithm: hashAlgorithm,
        });
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

    test("signed cookies equal the AWS SDK's own output", () => {
      const resource = `https://${domain}/public/demo/*`;
      const policy = JSON.stringify({
        Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': expiresAt.getTime() / 1000 } } }],
      });
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
  const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' }] });

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
  const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' }] });

  test('carry a custom policy with the wildcard resource and expiry, signed by the key pair', () => {
    const cookies = signer.signCookies(`https://${domain}/public/demo/*`, expiresAt);
    const policy = fromCloudFrontBase64(cookies['CloudFront-Policy']).toString();
    assert.deepEqual(JSON.parse(policy), {
      Statement: [
        { Resource: `https://${domain}/public/demo/*`, Condition: { DateLessThan: { 'AWS:EpochTime': expiresAt.getTime() / 1000 } } },
      ],
    });
    assert.equal(cookies['CloudFront-Key-Pair-Id'], 'KTESTKEYPAIR01');
    assert.ok(verifyCloudFrontSignature(policy, cookies['CloudFront-Signature'], publicKey));
  });

  test('the same resource in the same window gets the same cookies; another resource or expiry its own', () => {
    const resource = `https://${domain}/public/demo/*`;
    const first = signer.signCookies(resource, expiresAt);
    assert.deepEqual(signer.signCookies(resource, expiresAt), first);
    const later = new Date(expiresAt.getTime() + 1000);
    for (const other of [signer.signCookies(`https://${domain}/public/other/*`, expiresAt), signer.signCookies(resource, later)]) {
      assert.notEqual(other['CloudFront-Signature'], first['CloudFront-Signature']);
      const policy = fromCloudFrontBase64(other['CloudFront-Policy']).toString();
      assert.ok(verifyCloudFrontSignature(policy, other['CloudFront-Signature'], publicKey));
    }
    const bound = signer.signCookies(resource, expiresAt, { sourceIp: '192.0.2.1/32' });
    assert.match(
      fromCloudFrontBase64(bound['CloudFront-Policy']).toString(),
      /192\.0\.2\.1\/32/u,
      'a condition is never served from the plain cache',
    );
  });

  test('openssl agrees that the cookie signature is valid', (context) => {
    if (!opensslOr(context)) return;
    const cookies = signer.signCookies(`https://${domain}/public/demo/*`, expiresAt);
    const dir = mkdtempSync(join(tmpdir(), 'cf-'));
    writeFileSync(join(dir, 'policy'), fromCloudFrontBase64(cookies['CloudFront-Policy']));
    writeFileSync(join(dir, 'signature'), fromCloudFrontBase64(cookies['CloudFront-Signature']));
    writeFileSync(join(dir, 'public.pem'), publicKey);
    const output = execFileSync('openssl', [
      'dgst',
      '-sha1',
      '-verify',
      join(dir, 'public.pem'),
      '-signature',
      join(dir, 'signature'),
      join(dir, 'policy'),
    ]).toString();
    assert.match(output, /Verified OK/);
  });
});

describe('shareable expiry and signature reuse', () => {
  const now = new Date('2026-06-01T12:00:07.450Z');
  const at = (date: Date): number => date.getTime() / 1000;

  for (const ttl of [1, 5, 9, 10, 45, 300, 900, 3600, 604_800]) {
    test(`a ${ttl} s grant ends on a window boundary, never later and at most a tenth (or a minute) earlier`, () => {
      const end = at(shareableExpiry(now, ttl));
      const asked = Math.floor(at(now)) + ttl;
      assert.ok(end <= asked, `${end} is later than ${asked}`);
      assert.ok(asked - end < Math.min(60, Math.max(1, Math.floor(ttl / 10))), `${asked - end} s shorter`);
      assert.ok(end > at(now), 'still in the future');
      assert.equal(Number.isInteger(end), true);
    });
  }

  test('grants of one object within the same window are identical, so one signature serves them', () => {
    const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' }] });
    const first = signer.signUrl('public/a.mp4', shareableExpiry(now, 900));
    const later = signer.signUrl('public/a.mp4', shareableExpiry(new Date(now.getTime() + 20_000), 900));
    assert.equal(later, first);
    const canned = cannedPolicyOf(later);
    assert.ok(verifyCloudFrontSignature(canned.policy, canned.signature, publicKey), 'a reused signature still verifies');
  });

  test('a reused signature is the one a fresh signer computes for the same policy', () => {
    const warm = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA256' }] });
    warm.signUrl('public/b.mp4', expiresAt);
    const reused = warm.signUrl('public/b.mp4', expiresAt);
    const cold = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA256' }] }).signUrl(
      'public/b.mp4',
      expiresAt,
    );
    assert.equal(reused, cold);
  });

  test('a repeated URL is made again for another disposition, and each verifies', () => {
    const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' }] });
    const plain = signer.signUrl('public/a.pdf', expiresAt);
    const attachment = signer.signUrl('public/a.pdf', expiresAt, { disposition: 'attachment' });
    const inline = signer.signUrl('public/a.pdf', expiresAt, { disposition: 'inline' });
    assert.equal(new Set([plain, attachment, inline]).size, 3);
    assert.equal(signer.signUrl('public/a.pdf', expiresAt, { disposition: 'attachment' }), attachment);
    assert.equal(new URL(attachment).searchParams.get('response-content-disposition'), 'attachment');
    // As CloudFront checks them: the local edge's verifier, with the query inside the signed resource.
    const edge = { origin: `https://${domain}`, keyGroup: new Map([['KTESTKEYPAIR01', publicKey]]), now: new Date('2029-12-31T23:00:00Z') };
    for (const url of [plain, attachment, inline]) {
      const { pathname, search } = new URL(url);
      assert.deepEqual(verifyRequest({ method: 'GET', path: pathname, query: search.slice(1), cookies: {}, clientIp: '192.0.2.1' }, edge), {
        ok: true,
      });
    }
    const swapped = attachment.replace('disposition=attachment', 'disposition=inline');
    const { pathname, search } = new URL(swapped);
    assert.equal(
      verifyRequest({ method: 'GET', path: pathname, query: search.slice(1), cookies: {}, clientIp: '192.0.2.1' }, edge).ok,
      false,
    );
  });

  test('another object or another expiry gets its own signature', () => {
    const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' }] });
    const signatureOf = (url: string) => new URL(url).searchParams.get('Signature');
    const base = signatureOf(signer.signUrl('public/a.mp4', expiresAt));
    assert.notEqual(signatureOf(signer.signUrl('public/b.mp4', expiresAt)), base);
    assert.notEqual(signatureOf(signer.signUrl('public/a.mp4', new Date(expiresAt.getTime() + 1000))), base);
  });
});

describe('a key ring', () => {
  const next = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const nextPublic = next.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const nextKey = {
    id: 'KNEXTKEYPAIR1',
    privateKey: next.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    hashAlgorithm: 'SHA1' as const,
  };
  const currentKey = { id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' as const };

  test('only the first key signs; the others are for verifiers', () => {
    const canned = cannedPolicyOf(createCloudFrontSigner({ domain, keys: [nextKey, currentKey] }).signUrl('public/a.txt', expiresAt));
    assert.equal(canned.keyPairId, 'KNEXTKEYPAIR1');
    assert.ok(verifyCloudFrontSignature(canned.policy, canned.signature, nextPublic));
    assert.ok(!verifyCloudFrontSignature(canned.policy, canned.signature, publicKey));
  });

  test('one signature cache across a rotation never hands out the signature of the old key under the new id', () => {
    const cache = new SignatureCache();
    const resource = `https://${domain}/public/demo/*`;
    // With a condition: cookies and URLs without one are cached whole by their own signer, not in the shared cache.
    const start = new Date(expiresAt.getTime() - 60_000);
    const before = createCloudFrontSigner({ domain, keys: [currentKey, nextKey] }, cache).signCookies(resource, expiresAt, {
      notBefore: start,
    });
    const after = createCloudFrontSigner({ domain, keys: [nextKey, currentKey] }, cache).signCookies(resource, expiresAt, {
      notBefore: start,
    });
    assert.equal(after['CloudFront-Policy'], before['CloudFront-Policy']);
    assert.equal(after['CloudFront-Key-Pair-Id'], 'KNEXTKEYPAIR1');
    assert.notEqual(after['CloudFront-Signature'], before['CloudFront-Signature']);
    const policy = fromCloudFrontBase64(after['CloudFront-Policy']).toString();
    assert.ok(verifyCloudFrontSignature(policy, after['CloudFront-Signature'], nextPublic));
    // Custom-policy URLs share the cache too.
    const startingUrl = (keys: readonly [CloudFrontKey, CloudFrontKey]) =>
      new URL(createCloudFrontSigner({ domain, keys }, cache).signUrl('public/a.txt', expiresAt, { notBefore: start }));
    const [old, rotated] = [startingUrl([currentKey, nextKey]), startingUrl([nextKey, currentKey])];
    assert.equal(rotated.searchParams.get('Key-Pair-Id'), 'KNEXTKEYPAIR1');
    assert.notEqual(rotated.searchParams.get('Signature'), old.searchParams.get('Signature'));
  });
});

describe('ECDSA P-256 keys (accepted by CloudFront key groups since 2025; the AWS JS signer cannot make them)', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecPrivate = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ecPublic = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keyGroup = new Map([['KECDSATEST01', ecPublic]]);
  const edge = { origin: `https://${domain}`, keyGroup, now: new Date('2029-12-31T23:00:00Z') };
  const asRequest = (url: string, cookies: Record<string, string> = {}) => {
    const { pathname, search } = new URL(url);
    return { method: 'GET', path: pathname, query: search.slice(1), cookies, clientIp: '192.0.2.1' };
  };

  for (const hashAlgorithm of ['SHA1', 'SHA256'] as const) {
    const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KECDSATEST01', privateKey: ecPrivate, hashAlgorithm }] });

    test(`${hashAlgorithm}: a signed URL is a DER ECDSA signature the local edge accepts, and only for its own object`, () => {
      const url = signer.signUrl('public/video.mp4', expiresAt);
      assert.equal(new URL(url).searchParams.get('Hash-Algorithm'), hashAlgorithm === 'SHA256' ? 'SHA256' : null);
      const canned = cannedPolicyOf(url);
      const signature = fromCloudFrontBase64(canned.signature);
      assert.equal(signature[0], 0x30, 'a DER SEQUENCE, as openssl writes it');
      assert.ok(verify(hashAlgorithm === 'SHA256' ? 'sha256' : 'sha1', Buffer.from(canned.policy), ecPublic, signature));
      assert.deepEqual(verifyRequest(asRequest(url), edge), { ok: true });
      const other = url.replace('video.mp4', 'other.mp4');
      assert.equal(verifyRequest(asRequest(other), edge).ok, false);
    });

    test(`${hashAlgorithm}: signed cookies open the bundle at the local edge`, () => {
      const cookies = signer.signCookies(`https://${domain}/public/demo/*`, expiresAt);
      assert.equal(cookies['CloudFront-Hash-Algorithm'], hashAlgorithm === 'SHA256' ? 'SHA256' : undefined);
      assert.deepEqual(verifyRequest(asRequest(`https://${domain}/public/demo/a.jpg`, { ...cookies }), edge), { ok: true });
      assert.equal(verifyRequest(asRequest(`https://${domain}/private/a.jpg`, { ...cookies }), edge).ok, false);
    });
  }

  test('a policy signed once is reused: the same URL within the window, though ECDSA signatures are randomised', () => {
    const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KECDSATEST01', privateKey: ecPrivate, hashAlgorithm: 'SHA256' }] });
    assert.equal(signer.signUrl('public/a.txt', expiresAt), signer.signUrl('public/a.txt', expiresAt));
  });
});

describe('a Content-Disposition on a CloudFront URL', () => {
  const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' }] });
  const keyGroup = new Map([['KTESTKEYPAIR01', publicKey]]);
  const edge = { origin: `https://${domain}`, keyGroup, now: new Date('2029-12-31T23:00:00Z') };
  const asRequest = (url: string) => {
    const { pathname, search } = new URL(url);
    return { method: 'GET', path: pathname, query: search.slice(1), cookies: {}, clientIp: '192.0.2.1' };
  };
  const disposition = `attachment; filename="caf_'s (1).pdf"; filename*=UTF-8''caf%C3%A9%27s%20%281%29.pdf`;

  test('rides in the signed URL as response-content-disposition, strictly encoded, and the edge accepts it', () => {
    const url = signer.signUrl('public/report.pdf', expiresAt, { disposition });
    assert.equal(new URL(url).searchParams.get('response-content-disposition'), disposition);
    assert.doesNotMatch(new URL(url).search, /['()*!]/u, "no character a browser would escape in a query (it escapes ')");
    assert.deepEqual(verifyRequest(asRequest(url), edge), { ok: true });
  });

  test('is part of what is signed: another disposition, or none, is refused', () => {
    const url = signer.signUrl('public/report.pdf', expiresAt, { disposition });
    assert.equal(verifyRequest(asRequest(url.replace('attachment', 'inline')), edge).ok, false);
    assert.equal(verifyRequest(asRequest(url.replace(/response-content-disposition=[^&]*&/u, '')), edge).ok, false);
  });
});

describe('download URLs with a start time or a client address: a custom policy', () => {
  const signer = createCloudFrontSigner({ domain, keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA256' }] });
  const edge = (now: string) => ({ origin: `https://${domain}`, keyGroup: new Map([['KTESTKEYPAIR01', publicKey]]), now: new Date(now) });
  const asRequest = (url: string, clientIp = '203.0.113.7') => {
    const { pathname, search } = new URL(url);
    return { method: 'GET', path: pathname, query: search.slice(1), cookies: {}, clientIp };
  };
  const notBefore = new Date('2029-12-31T00:00:00Z');

  test('carries Policy instead of Expires, with exactly the conditions asked', () => {
    const url = new URL(signer.signUrl('public/a.mp4', expiresAt, { notBefore, sourceIp: '203.0.113.7/32' }));
    assert.equal(url.searchParams.get('Expires'), null);
    assert.equal(url.searchParams.get('Hash-Algorithm'), 'SHA256');
    const policy = JSON.parse(fromCloudFrontBase64(url.searchParams.get('Policy') ?? '').toString()) as unknown;
    assert.deepEqual(policy, {
      Statement: [
        {
          Resource: `https://${domain}/public/a.mp4`,
          Condition: {
            DateLessThan: { 'AWS:EpochTime': expiresAt.getTime() / 1000 },
            DateGreaterThan: { 'AWS:EpochTime': notBefore.getTime() / 1000 },
            IpAddress: { 'AWS:SourceIp': '203.0.113.7/32' },
          },
        },
      ],
    });
  });

  test('the edge lets it through only after the start, and only from that address', () => {
    const url = signer.signUrl('public/a.mp4', expiresAt, { notBefore, sourceIp: '203.0.113.7/32' });
    assert.deepEqual(verifyRequest(asRequest(url), edge('2029-12-31T00:00:01Z')), { ok: true });
    assert.equal(verifyRequest(asRequest(url), edge('2029-12-30T23:59:59Z')).ok, false, 'before the start');
    assert.equal(verifyRequest(asRequest(url, '203.0.113.8'), edge('2029-12-31T00:00:01Z')).ok, false, 'another address');
  });

  test('one condition alone is enough to make it custom; none keeps the canned URL', () => {
    assert.ok(new URL(signer.signUrl('public/a.mp4', expiresAt, { notBefore })).searchParams.has('Policy'));
    assert.ok(new URL(signer.signUrl('public/a.mp4', expiresAt, { sourceIp: '203.0.113.7/32' })).searchParams.has('Policy'));
    assert.ok(new URL(signer.signUrl('public/a.mp4', expiresAt, {})).searchParams.has('Expires'));
  });
});

describe('every grant kind under every algorithm, verified by openssl and by the local edge', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const rsa = cloudfrontKeyPair();
  const algorithms = [
    { name: 'RSA-SHA1', hashAlgorithm: 'SHA1', privateKey: rsa.privateKey, publicKey: rsa.publicKey },
    { name: 'RSA-SHA256', hashAlgorithm: 'SHA256', privateKey: rsa.privateKey, publicKey: rsa.publicKey },
    ...(['SHA1', 'SHA256'] as const).map((hashAlgorithm) => ({
      name: `ECDSA-${hashAlgorithm}`,
      hashAlgorithm,
      privateKey: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    })),
  ] as const;
  const at = new Date('2029-12-31T23:00:00Z');
  const clientIp = '192.0.2.1';
  const asRequest = (url: string, cookies: Record<string, string> = {}) => {
    const { pathname, search } = new URL(url);
    return { method: 'GET', path: pathname, query: search.slice(1), cookies, clientIp };
  };

  /** `openssl dgst -<hash> -verify`: the check AWS documents, run on the exact policy bytes and signature. */
  function opensslVerifies(policy: string, signature: string, publicKey: string, hash: 'SHA1' | 'SHA256'): boolean {
    const dir = mkdtempSync(join(tmpdir(), 'cf-openssl-'));
    writeFileSync(join(dir, 'policy'), policy);
    writeFileSync(join(dir, 'signature'), fromCloudFrontBase64(signature));
    writeFileSync(join(dir, 'public.pem'), publicKey);
    const args = ['dgst', `-${hash.toLowerCase()}`, '-verify', 'public.pem', '-signature', 'signature', 'policy'];
    try {
      return /Verified OK/u.test(execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString());
    } catch {
      return false; // openssl exits 1 on "Verification failure"
    }
  }

  for (const algorithm of algorithms) {
    const signer = createCloudFrontSigner({
      domain,
      keys: [{ id: 'KMATRIXKEY001', privateKey: algorithm.privateKey, hashAlgorithm: algorithm.hashAlgorithm }],
    });
    const edge = { origin: `https://${domain}`, keyGroup: new Map([['KMATRIXKEY001', algorithm.publicKey]]), now: at };
    const grants = {
      'canned URL': () => {
        const url = signer.signUrl('public/clip.mp4', expiresAt);
        const { policy, signature } = cannedPolicyOf(url.replace(/&Hash-Algorithm=SHA256$/u, ''));
        return { policy, signature, request: asRequest(url) };
      },
      'custom URL (start, address, disposition)': () => {
        const url = signer.signUrl('public/clip.mp4', expiresAt, {
          notBefore: new Date('2029-12-31T22:00:00Z'),
          sourceIp: '192.0.2.0/24',
          disposition: 'attachment; filename="clip.mp4"',
        });
        const params = new URL(url).searchParams;
        return {
          policy: fromCloudFrontBase64(params.get('Policy') ?? '').toString(),
          signature: params.get('Signature') ?? '',
          request: asRequest(url),
        };
      },
      'bundle cookies': () => {
        const cookies = signer.signCookies(`https://${domain}/public/demo/*`, expiresAt, { sourceIp: '192.0.2.1/32' });
        return {
          policy: fromCloudFrontBase64(cookies['CloudFront-Policy']).toString(),
          signature: cookies['CloudFront-Signature'],
          request: asRequest(`https://${domain}/public/demo/a.jpg`, { ...cookies }),
        };
      },
    };
    for (const [kind, grant] of Object.entries(grants)) {
      test(`${algorithm.name}, ${kind}`, (context) => {
        if (!opensslOr(context)) return;
        const { policy, signature, request } = grant();
        assert.ok(opensslVerifies(policy, signature, algorithm.publicKey, algorithm.hashAlgorithm), 'openssl verifies it');
        assert.ok(!opensslVerifies(`${policy} `, signature, algorithm.publicKey, algorithm.hashAlgorithm), 'and not another policy');
        assert.deepEqual(verifyRequest(request, edge), { ok: true });
      });
    }
  }
});
