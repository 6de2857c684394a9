import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fromCloudFrontBase64, verifyRequest, type EdgeRequest, type TrustedKeyGroup, type Verdict } from '../../../src/edge/verify.js';
import { encodeKeyForCloudFront } from '../../../src/keys/cloudfront-path.js';
import { createCloudFrontSigner, type SignedCookies } from '../../../src/signing/cloudfront-signer.js';
import { opensslOr } from '../../helpers/cloudfront.js';
import { cloudfrontKeyPair } from '../../helpers/config.js';

const domain = 'd111111abcdef8.cloudfront.net';
const origin = `https://${domain}`;
const keyPairId = 'KTESTKEYPAIR01';
const { privateKey, publicKey } = cloudfrontKeyPair();
const rsaPrivateKey = createPrivateKey(privateKey);
const expiresAt = new Date('2030-01-01T00:00:00Z');
const expires = expiresAt.getTime() / 1000;
const before = new Date('2029-12-31T23:00:00Z');
const keyGroup: TrustedKeyGroup = new Map([[keyPairId, publicKey]]);
const sha1Signer = createCloudFrontSigner({ domain, keys: [{ id: keyPairId, privateKey, hashAlgorithm: 'SHA1' }] });
const sha256Signer = createCloudFrontSigner({ domain, keys: [{ id: keyPairId, privateKey, hashAlgorithm: 'SHA256' }] });

interface Check {
  cookies?: Record<string, string>;
  clientIp?: string;
  method?: string;
  now?: Date;
  keys?: TrustedKeyGroup;
  origin?: string;
}

/** Verifies a full URL as the edge would receive it: the path and query as sent, the origin from the settings. */
function check(
  url: string,
  { cookies = {}, clientIp = '192.0.2.10', method = 'GET', now = before, keys = keyGroup, ...rest }: Check = {},
): Verdict {
  assert.ok(url.startsWith(origin), url);
  const target = url.slice(origin.length);
  const mark = target.indexOf('?');
  const request: EdgeRequest = {
    method,
    path: mark < 0 ? target : target.slice(0, mark),
    query: mark < 0 ? '' : target.slice(mark + 1),
    cookies,
    clientIp,
  };
  return verifyRequest(request, { origin: rest.origin ?? origin, keyGroup: keys, now });
}

function assertRefused(verdict: Verdict, reason: RegExp): void {
  assert.equal(verdict.ok, false, 'expected a refusal');
  if (!verdict.ok) assert.match(verdict.reason, reason);
}

const cloudFrontBase64 = (bytes: Buffer | string): string =>
  Buffer.from(bytes)
    .toString('base64')
    .replace(/[+=/]/gu, (char) => ({ '+': '-', '=': '_', '/': '~' })[char] ?? char);

interface HandSigned {
  key?: KeyObject;
  digest?: 'sha1' | 'sha256';
  dsaEncoding?: 'der' | 'ieee-p1363';
}

/** A signature made here with node:crypto, not by the broker's signer. */
const handSign = (policy: string, { key = rsaPrivateKey, digest = 'sha1', dsaEncoding = 'der' }: HandSigned = {}): string =>
  cloudFrontBase64(sign(digest, Buffer.from(policy), { key, dsaEncoding }));

const cannedPolicy = (resource: string, until = expires): string =>
  `{"Statement":[{"Resource":"${resource}","Condition":{"DateLessThan":{"AWS:EpochTime":${until}}}}]}`;

/** A custom-policy signed URL for `path`, the policy's JSON signed by hand. */
function customUrl(path: string, policy: unknown, options: HandSigned & { id?: string; hash?: 'SHA256' } = {}): string {
  const json = typeof policy === 'string' ? policy : JSON.stringify(policy);
  const hash = options.hash ? `&Hash-Algorithm=${options.hash}` : '';
  return `${origin}${path}${path.includes('?') ? '&' : '?'}Policy=${cloudFrontBase64(json)}&Signature=${handSign(json, options)}&Key-Pair-Id=${options.id ?? keyPairId}${hash}`;
}

const statement = (resource: string | undefined, condition: Record<string, unknown>): unknown => ({
  Statement: [
    { ...(resource === undefined ? {} : { Resource: resource }), Condition: { DateLessThan: { 'AWS:EpochTime': expires }, ...condition } },
  ],
});

const without = (record: Record<string, string>, name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(record).filter(([key]) => key !== name));

const replaceParameter = (url: string, name: string, value: string): string =>
  url.replace(new RegExp(`([?&]${name}=)[^&]*`, 'u'), `$1${value}`);
const parameterOf = (url: string, name: string): string => new RegExp(`[?&]${name}=([^&]*)`, 'u').exec(url)?.[1] ?? '';

/** Flips one character in the middle of a CloudFront base64 value. */
const tamper = (value: string): string => {
  const at = Math.floor(value.length / 2);
  return `${value.slice(0, at)}${value[at] === 'A' ? 'B' : 'A'}${value.slice(at + 1)}`;
};

describe('signed URLs from the broker (canned policy)', () => {
  test('a download URL verifies, with SHA-1 and with SHA-256', () => {
    assert.deepEqual(check(sha1Signer.signUrl('public/a.txt', expiresAt)), { ok: true });
    assert.deepEqual(check(sha256Signer.signUrl('public/a.txt', expiresAt)), { ok: true });
  });

  test('keys with spaces, unicode, apostrophes, %, + and a `*` verify on their encoded path', () => {
    for (const key of ["public/it's a ünïcode 文件 (1).txt", 'public/100%+1=2.txt', 'public/*.txt']) {
      const url = sha1Signer.signUrl(key, expiresAt);
      assert.ok(url.startsWith(`${origin}/${encodeKeyForCloudFront(key)}?`));
      assert.deepEqual(check(url), { ok: true }, key);
    }
  });

  test('HEAD is served like GET; other methods are refused even with a valid signature', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    assert.deepEqual(check(url, { method: 'HEAD' }), { ok: true });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) assertRefused(check(url, { method }), /only GET and HEAD/u);
  });

  test('a tampered signature is refused, and the reason does not repeat it', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    const signature = tamper(parameterOf(url, 'Signature'));
    const verdict = check(replaceParameter(url, 'Signature', signature));
    assertRefused(verdict, /signature does not match/u);
    assert.ok(!verdict.ok && !verdict.reason.includes(signature.slice(0, 16)));
  });

  test('a key pair id outside the trusted key group is refused, and one that did not sign does not verify', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    assertRefused(check(replaceParameter(url, 'Key-Pair-Id', 'KOTHERKEY0001')), /Key-Pair-Id is not in the trusted key group/u);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = createCloudFrontSigner({
      domain,
      keys: [{ id: keyPairId, privateKey: other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), hashAlgorithm: 'SHA1' }],
    });
    assertRefused(check(forged.signUrl('public/a.txt', expiresAt)), /signature does not match/u);
  });

  test('valid until the second before Expires, refused from Expires on', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    assert.deepEqual(check(url, { now: new Date(expiresAt.getTime() - 1) }), { ok: true });
    assertRefused(check(url, { now: expiresAt }), /expired at 2030-01-01T00:00:00.000Z/u);
    assertRefused(check(url, { now: new Date('2031-01-01T00:00:00Z') }), /expired/u);
  });

  test('a changed Expires no longer matches the signature', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    assertRefused(check(replaceParameter(url, 'Expires', String(expires + 3600))), /signature does not match/u);
  });

  test('query parameters added after signing, anywhere, and another path, are refused', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    assertRefused(check(`${url}&response-content-type=text/html`), /signature does not match/u);
    assertRefused(check(url.replace('?', '?size=large&')), /signature does not match/u);
    assertRefused(check(url.replace('/public/a.txt', '/public/b.txt')), /signature does not match/u);
    assertRefused(check(url.replace('/public/a.txt', '/public/a.txt/')), /signature does not match/u);
  });

  test('query parameters present when signing are part of the resource, in any position', () => {
    const resource = `${origin}/public/a.txt?color=red&size=medium`;
    const signature = handSign(cannedPolicy(resource));
    assert.deepEqual(check(`${resource}&Expires=${expires}&Signature=${signature}&Key-Pair-Id=${keyPairId}`), { ok: true });
    assert.deepEqual(
      check(`${origin}/public/a.txt?color=red&Expires=${expires}&Signature=${signature}&size=medium&Key-Pair-Id=${keyPairId}`),
      {
        ok: true,
      },
    );
    assertRefused(
      check(`${origin}/public/a.txt?size=medium&color=red&Expires=${expires}&Signature=${signature}&Key-Pair-Id=${keyPairId}`),
      /signature/u,
    );
  });

  test('the wrong Hash-Algorithm, an unknown one, or a missing one refuses the URL', () => {
    const sha1 = sha1Signer.signUrl('public/a.txt', expiresAt);
    const sha256 = sha256Signer.signUrl('public/a.txt', expiresAt);
    assertRefused(check(`${sha1}&Hash-Algorithm=SHA256`), /signature does not match/u);
    assertRefused(check(sha256.replace('&Hash-Algorithm=SHA256', '')), /signature does not match/u);
    assert.deepEqual(check(`${sha1}&Hash-Algorithm=SHA1`), { ok: true });
    assertRefused(check(replaceParameter(sha256, 'Hash-Algorithm', 'sha256')), /Hash-Algorithm must be SHA1 or SHA256/u);
    assertRefused(check(replaceParameter(sha256, 'Hash-Algorithm', 'MD5')), /Hash-Algorithm must be SHA1 or SHA256/u);
  });

  test('the URL is matched on the distribution it was signed for, not on whatever host the edge answers', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    assertRefused(check(url, { origin: 'https://d222222abcdef8.cloudfront.net' }), /signature does not match/u);
    assertRefused(check(url, { origin: `http://${domain}` }), /signature does not match/u);
  });

  test('missing, repeated or contradictory signing parameters are refused', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    assertRefused(check(url.replace(/&Signature=[^&]*/u, '')), /Signature is missing/u);
    assertRefused(check(url.replace(/&Key-Pair-Id=[^&]*/u, '')), /Key-Pair-Id is missing/u);
    assertRefused(check(url.replace(/Expires=[^&]*&/u, '')), /Expires \(canned policy\) or Policy \(custom policy\) is missing/u);
    assertRefused(check(`${url}&Signature=${parameterOf(url, 'Signature')}`), /Signature appears more than once/u);
    assertRefused(check(`${url}&Policy=e30_`), /cannot both be given/u);
    assertRefused(check(replaceParameter(url, 'Expires', '1.8e9')), /Expires is not a Unix time/u);
    assertRefused(check(`${origin}/public/a.txt`), /neither a signed URL nor signed cookies/u);
  });

  test('characters no URL carries raw are refused before any JSON is built from the URL', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    assertRefused(check(url.replace('/public/a.txt', '/public/a"b.txt')), /characters a URL cannot carry/u);
    assertRefused(check(url.replace('/public/a.txt', '/public/a\\b.txt')), /characters a URL cannot carry/u);
    assertRefused(check(url.replace('/public/a.txt', '/public/a b.txt')), /characters a URL cannot carry/u);
  });
});

describe('signed cookies from the broker (custom policy over a bundle)', () => {
  const resource = `${origin}/public/demo/*`;
  const cookies: SignedCookies = sha1Signer.signCookies(resource, expiresAt);
  const jar = (values: SignedCookies | Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined));

  test('every object under the bundle prefix is served, with or without a query string', () => {
    for (const path of ['/public/demo/intro.mp4', '/public/demo/hls/segment-001.ts', '/public/demo/a.txt?v=2', '/public/demo/'])
      assert.deepEqual(check(`${origin}${path}`, { cookies: jar(cookies) }), { ok: true }, path);
  });

  test('an object outside the bundle is refused', () => {
    for (const path of ['/public/other.mp4', '/public/demo', '/public/dem/a.mp4', '/private/demo/a.mp4'])
      assertRefused(check(`${origin}${path}`, { cookies: jar(cookies) }), /outside the policy Resource/u);
  });

  test('SHA-256 cookies verify with CloudFront-Hash-Algorithm, and not without it', () => {
    const sha256 = sha256Signer.signCookies(resource, expiresAt);
    assert.deepEqual(check(`${origin}/public/demo/a.mp4`, { cookies: jar(sha256) }), { ok: true });
    assertRefused(
      check(`${origin}/public/demo/a.mp4`, { cookies: without(jar(sha256), 'CloudFront-Hash-Algorithm') }),
      /signature does not match/u,
    );
  });

  test('expired cookies, a missing cookie or a widened policy are refused', () => {
    const url = `${origin}/public/demo/a.mp4`;
    assertRefused(check(url, { cookies: jar(cookies), now: expiresAt }), /expired at 2030-01-01/u);
    assertRefused(check(url, { cookies: without(jar(cookies), 'CloudFront-Key-Pair-Id') }), /CloudFront-Key-Pair-Id is missing/u);
    const widened = cloudFrontBase64(
      JSON.stringify({ Statement: [{ Resource: `${origin}/*`, Condition: { DateLessThan: { 'AWS:EpochTime': expires } } }] }),
    );
    assertRefused(
      check(`${origin}/private/a.mp4`, { cookies: { ...jar(cookies), 'CloudFront-Policy': widened } }),
      /signature does not match/u,
    );
  });

  test('canned-policy cookies (CloudFront-Expires) name the requested URL', () => {
    const url = `${origin}/public/demo/a.mp4`;
    const canned = {
      'CloudFront-Expires': String(expires),
      'CloudFront-Signature': handSign(cannedPolicy(url)),
      'CloudFront-Key-Pair-Id': keyPairId,
    };
    assert.deepEqual(check(url, { cookies: canned }), { ok: true });
    assertRefused(check(`${origin}/public/demo/b.mp4`, { cookies: canned }), /signature does not match/u);
    assertRefused(check(url, { cookies: { ...canned, 'CloudFront-Policy': cookies['CloudFront-Policy'] } }), /cannot both be given/u);
  });
});

describe('a signed URL takes precedence over signed cookies', () => {
  const cookies = { ...sha1Signer.signCookies(`${origin}/public/*`, expiresAt) } as Record<string, string>;

  test('a URL carrying a bad signature is refused even with valid cookies', () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    assertRefused(
      check(replaceParameter(url, 'Signature', tamper(parameterOf(url, 'Signature'))), { cookies }),
      /signature does not match/u,
    );
  });

  test('any one signing parameter makes it a signed URL, and the cookies are not looked at', () => {
    for (const parameter of ['Expires=1893456000', 'Policy=e30_', 'Signature=abcd', 'Key-Pair-Id=K1', 'Hash-Algorithm=SHA1'])
      assert.equal(check(`${origin}/public/a.txt?${parameter}`, { cookies }).ok, false, parameter);
    assert.deepEqual(check(`${origin}/public/a.txt?size=large`, { cookies }), { ok: true });
  });

  test('a valid signed URL is served whatever cookies come with it', () => {
    const junk = { 'CloudFront-Policy': 'e30_', 'CloudFront-Signature': 'AAAA', 'CloudFront-Key-Pair-Id': 'KNOTTRUSTED01' };
    assert.deepEqual(check(sha1Signer.signUrl('public/a.txt', expiresAt), { cookies: junk }), { ok: true });
  });
});

describe('custom policies signed by hand', () => {
  const file = '/training/orientation.pdf';

  test('DateGreaterThan: refused on or before it, served after it', () => {
    const start = Math.floor(before.getTime() / 1000);
    const url = customUrl(file, statement(`${origin}${file}`, { DateGreaterThan: { 'AWS:EpochTime': start } }));
    assertRefused(check(url, { now: new Date(start * 1000 - 60_000) }), /not valid until after 2029-12-31T23:00:00.000Z/u);
    assertRefused(check(url, { now: new Date(start * 1000) }), /not valid until after/u);
    assert.deepEqual(check(url, { now: new Date(start * 1000 + 1000) }), { ok: true });
  });

  test('IpAddress: a CIDR range or one address, IPv4 only, IPv4-mapped addresses as Node reports them', () => {
    const range = customUrl(file, statement(`${origin}${file}`, { IpAddress: { 'AWS:SourceIp': '192.0.2.0/24' } }));
    assert.deepEqual(check(range, { clientIp: '192.0.2.77' }), { ok: true });
    assert.deepEqual(check(range, { clientIp: '::ffff:192.0.2.77' }), { ok: true });
    assertRefused(check(range, { clientIp: '198.51.100.1' }), /outside the policy IpAddress/u);
    assertRefused(check(range, { clientIp: '192.0.3.1' }), /outside the policy IpAddress/u);
    assertRefused(check(range, { clientIp: '2001:db8::1' }), /needs an IPv4 client/u);
    const one = customUrl(file, statement(`${origin}${file}`, { IpAddress: { 'AWS:SourceIp': '192.0.2.10/32' } }));
    assert.deepEqual(check(one, { clientIp: '192.0.2.10' }), { ok: true });
    assertRefused(check(one, { clientIp: '192.0.2.11' }), /outside the policy IpAddress/u);
    const bare = customUrl(file, statement(`${origin}${file}`, { IpAddress: { 'AWS:SourceIp': '192.0.2.10' } }));
    assert.deepEqual(check(bare, { clientIp: '192.0.2.10' }), { ok: true });
    const any = customUrl(file, statement(`${origin}${file}`, { IpAddress: { 'AWS:SourceIp': '0.0.0.0/0' } }));
    assert.deepEqual(check(any, { clientIp: '203.0.113.9' }), { ok: true });
    for (const malformed of ['192.0.2.0/33', '192.0.2/24', '192.0.2.256', '2001:db8::/32', '192.0.2.010'])
      assertRefused(
        check(customUrl(file, statement(`${origin}${file}`, { IpAddress: { 'AWS:SourceIp': malformed } }))),
        /not an IPv4 address or CIDR/u,
      );
  });

  test("wildcards: AWS's own examples of `*` within a section, `?` for one character", () => {
    const matches = (resource: string, path: string): boolean => check(customUrl(path, statement(resource, {}))).ok;
    assert.ok(matches(`${origin}/*game_download.zip*`, '/game_download.zip'));
    assert.ok(matches(`${origin}/*game_download.zip*`, '/example_game_download.zip?license=yes'));
    assert.ok(matches(`${origin}/*game_download.zip*`, '/test_game_download.zip?license=temp'));
    assert.ok(matches(`${origin}/hello*world`, '/helloworld'));
    assert.ok(matches(`${origin}/hello*world`, '/hello-world'));
    // "hello*world" in the path does not reach into the query string.
    assert.ok(!matches(`${origin}/hello*world`, '/hello?world'));
    assert.ok(matches(`${origin}/a.txt?v=?`, '/a.txt?v=1'));
    assert.ok(!matches(`${origin}/a.txt?v=?`, '/a.txt?v=12'));
    assert.ok(!matches(`${origin}/a.txt?v=?`, '/a.txt'));
    assert.ok(matches('https://d111111abcdef?.cloudfront.net/a.txt', '/a.txt'));
  });

  test('wildcards: the trailing `*` rules, `*` alone, a missing Resource, another domain', () => {
    const matches = (resource: string | undefined, path: string): boolean => check(customUrl(path, statement(resource, {}))).ok;
    assert.ok(matches(`${origin}/videos/*`, '/videos/a/b.mp4?quality=hd'));
    assert.ok(!matches(`${origin}/videos/*`, '/video/a.mp4'));
    assert.ok(matches(`https://${domain}*`, '/anything/at/all?x=1'));
    assert.ok(matches(`*${domain}`, '/'));
    assert.ok(!matches(`*${domain}`, '/a.txt'));
    assert.ok(matches('*', '/a.txt?x=1'));
    assert.ok(matches('*://*/*', '/a.txt'));
    // AWS: a policy without Resource grants every file of every distribution that trusts the key.
    assert.ok(matches(undefined, '/any/file.bin'));
    assert.ok(!matches('https://d222222abcdef8.cloudfront.net/*', '/a.txt'));
    assert.ok(!matches(`http://${domain}/*`, '/a.txt'));
    assert.ok(!matches(`${domain}/*`, '/a.txt'));
    // Without a wildcard in its query section the resource takes no query parameter added later.
    assert.ok(matches(`${origin}/a.txt`, '/a.txt'));
    assert.ok(!matches(`${origin}/a.txt`, '/a.txt?response-content-type=text/html'));
  });

  test('policies outside the documented format are refused', () => {
    const until = { DateLessThan: { 'AWS:EpochTime': expires } };
    const refused: [unknown, RegExp][] = [
      ['not json', /not JSON/u],
      [{ Statement: [] }, /exactly one statement/u],
      [{ Statement: [{ Condition: until }, { Condition: until }] }, /exactly one statement/u],
      [{ Statement: { Condition: until } }, /holds a Statement list and nothing else/u],
      [{ Statement: [{ Condition: until }], Version: '2012-10-17' }, /holds a Statement list and nothing else/u],
      [{ Statement: [{ Resource: `${origin}${file}` }] }, /needs a Condition/u],
      [{ Statement: [{ Resource: `${origin}${file}`, Condition: {} }] }, /needs DateLessThan/u],
      [{ Statement: [{ Condition: { DateLessThan: { 'AWS:EpochTime': String(expires) } } }] }, /needs DateLessThan/u],
      [{ Statement: [{ Condition: { DateLessThan: { 'AWS:EpochTime': expires + 0.5 } } }] }, /needs DateLessThan/u],
      [{ Statement: [{ Condition: { ...until, DateGreaterThan: { 'AWS:EpochTime': 'soon' } } }] }, /DateGreaterThan is not/u],
      [{ Statement: [{ Condition: { ...until, StringEquals: { 'aws:Referer': 'x' } } }] }, /Condition holds only/u],
      [{ Statement: [{ Condition: { ...until, IpAddress: '192.0.2.1' } }] }, /IpAddress is not/u],
      [{ Statement: [{ Resource: 42, Condition: until }] }, /Resource is not a string/u],
      [{ Statement: [{ Effect: 'Allow', Condition: until }] }, /holds only Resource and Condition/u],
    ];
    for (const [policy, reason] of refused) assertRefused(check(customUrl(file, policy)), reason);
  });

  test('an expired custom policy is refused', () => {
    const url = customUrl(file, statement(`${origin}${file}`, {}));
    assertRefused(check(url, { now: expiresAt }), /expired at 2030-01-01T00:00:00.000Z/u);
  });
});

describe('ECDSA P-256 and RSA with SHA-256, signed here with node:crypto', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keys: TrustedKeyGroup = new Map<string, KeyObject | string>([
    [keyPairId, publicKey],
    ['KECDSAP256KEY01', ec.publicKey],
  ]);
  const resource = `${origin}/public/a.txt`;
  const cannedUrl = (signature: string, id: string, hash = ''): string =>
    `${resource}?Expires=${expires}&Signature=${signature}&Key-Pair-Id=${id}${hash ? `&Hash-Algorithm=${hash}` : ''}`;

  test('ECDSA P-256: a DER signature over SHA-1 (the default) or SHA-256 (Hash-Algorithm=SHA256) verifies', () => {
    const policy = cannedPolicy(resource);
    assert.deepEqual(check(cannedUrl(handSign(policy, { key: ec.privateKey }), 'KECDSAP256KEY01'), { keys }), { ok: true });
    const sha256 = handSign(policy, { key: ec.privateKey, digest: 'sha256' });
    assert.deepEqual(check(cannedUrl(sha256, 'KECDSAP256KEY01', 'SHA256'), { keys }), { ok: true });
    assertRefused(check(cannedUrl(sha256, 'KECDSAP256KEY01'), { keys }), /signature does not match/u);
  });

  test('ECDSA P-256: custom-policy cookies verify', () => {
    const json = JSON.stringify(statement(`${origin}/public/*`, {}));
    const cookies = {
      'CloudFront-Policy': cloudFrontBase64(json),
      'CloudFront-Signature': handSign(json, { key: ec.privateKey, digest: 'sha256' }),
      'CloudFront-Key-Pair-Id': 'KECDSAP256KEY01',
      'CloudFront-Hash-Algorithm': 'SHA256',
    };
    assert.deepEqual(check(`${origin}/public/b.txt`, { cookies, keys }), { ok: true });
  });

  test('ECDSA: a raw r||s (IEEE P1363) signature is not the DER encoding openssl writes, and is refused', () => {
    const raw = handSign(cannedPolicy(resource), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    assertRefused(check(cannedUrl(raw, 'KECDSAP256KEY01'), { keys }), /signature does not match/u);
  });

  test('ECDSA: a signature by the RSA key under the ECDSA id, and the reverse, are refused', () => {
    const policy = cannedPolicy(resource);
    assertRefused(check(cannedUrl(handSign(policy), 'KECDSAP256KEY01'), { keys }), /signature does not match/u);
    assertRefused(check(cannedUrl(handSign(policy, { key: ec.privateKey }), keyPairId), { keys }), /signature does not match/u);
  });

  test('RSA with SHA-256 signed by hand verifies only with Hash-Algorithm=SHA256', () => {
    const signature = handSign(cannedPolicy(resource), { digest: 'sha256' });
    assert.deepEqual(check(cannedUrl(signature, keyPairId, 'SHA256')), { ok: true });
    assertRefused(check(cannedUrl(signature, keyPairId)), /signature does not match/u);
    assertRefused(check(cannedUrl(signature, keyPairId, 'SHA1')), /signature does not match/u);
  });

  test('keys CloudFront does not accept in a key group never verify anything', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const ed25519 = generateKeyPairSync('ed25519');
    const policy = cannedPolicy(resource);
    for (const pair of [p384, rsa1024]) {
      const verdict = check(cannedUrl(handSign(policy, { key: pair.privateKey }), 'KWEAK'), { keys: new Map([['KWEAK', pair.publicKey]]) });
      assertRefused(verdict, /neither RSA 2048 nor ECDSA P-256/u);
    }
    const edSignature = cloudFrontBase64(sign(null, Buffer.from(policy), ed25519.privateKey));
    assertRefused(
      check(cannedUrl(edSignature, 'KED'), { keys: new Map([['KED', ed25519.publicKey]]) }),
      /neither RSA 2048 nor ECDSA P-256/u,
    );
    assertRefused(
      check(cannedUrl(handSign(policy), 'KPEM'), { keys: new Map([['KPEM', 'not a PEM']]) }),
      /neither RSA 2048 nor ECDSA P-256/u,
    );
  });
});

describe("CloudFront's URL-safe base64", () => {
  test('decodes `-`, `_` and `~` as `+`, `=` and `/`', () => {
    assert.deepEqual(fromCloudFrontBase64('-~8_'), Buffer.from('+/8=', 'base64'));
    assert.deepEqual(fromCloudFrontBase64('QQ__'), Buffer.from('A'));
    assert.deepEqual(fromCloudFrontBase64('QUI_'), Buffer.from('AB'));
  });

  test('takes the padding in full or left off, never half of it', () => {
    assert.deepEqual(fromCloudFrontBase64('QQ'), Buffer.from('A'));
    assert.equal(fromCloudFrontBase64('QQ_'), undefined);
    assert.equal(fromCloudFrontBase64('QUJD_'), undefined);
  });

  test('refuses the standard alphabet, whitespace, empty values and non-canonical spellings', () => {
    for (const value of ['+/8=', 'QQ==', 'Q Q__', 'QQ__\n', '', '__', 'QR__', 'QUJ_', 'Q_Q_'])
      assert.equal(fromCloudFrontBase64(value), undefined, JSON.stringify(value));
  });

  test("a broker URL verifies with its signature's padding removed or a character percent-encoded, and not in standard base64", () => {
    const url = sha1Signer.signUrl('public/a.txt', expiresAt);
    const signature = parameterOf(url, 'Signature');
    assert.ok(signature.endsWith('__'), 'an RSA-2048 signature is 256 bytes: two padding characters');
    assert.deepEqual(check(replaceParameter(url, 'Signature', signature.replace(/_+$/u, ''))), { ok: true });
    const escaped = `%${signature.charCodeAt(0).toString(16).toUpperCase()}${signature.slice(1)}`;
    assert.deepEqual(check(replaceParameter(url, 'Signature', escaped)), { ok: true });
    const standard = signature.replace(/[-_~]/gu, (char) => ({ '-': '+', _: '=', '~': '/' })[char] ?? char);
    assertRefused(
      check(replaceParameter(url, 'Signature', encodeURIComponent(standard))),
      /Signature is not CloudFront's URL-safe base64/u,
    );
    assertRefused(check(replaceParameter(url, 'Signature', '%E0%A4%A')), /Signature is not percent-encoded correctly/u);
  });
});

describe("independent vectors: AWS's documented policy format, signed with the documented openssl command", () => {
  // From private-content-linux-openssl.html: the policy with its whitespace removed, hashed and signed by
  // openssl with the key, base64-encoded, and `+=/` replaced by `-_~`.
  const awsSign = (dir: string, keyFile: string, digest: 'sha1' | 'sha256'): string =>
    execFileSync(
      'bash',
      ['-c', `cat policy | tr -d "\\n" | tr -d " \\t\\n\\r" | openssl ${digest} -sign ${keyFile} | openssl base64 -A | tr -- '+=/' '-_~'`],
      { cwd: dir },
    ).toString();
  // The statement as AWS's canned-policy page lays it out, spaces and line breaks included.
  const awsCannedPolicy = (resource: string, until: number): string =>
    `{\n   "Statement": [\n      {\n         "Resource": "${resource}",\n         "Condition": {\n            "DateLessThan": {\n               "AWS:EpochTime": ${until}\n            }\n         }\n      }\n   ]\n}\n`;

  test("AWS's example URL with its own query string: an openssl RSA key, SHA-1 and SHA-256", (context) => {
    if (!opensslOr(context)) return;
    const dir = mkdtempSync(join(tmpdir(), 'edge-vector-'));
    execFileSync('openssl', ['genrsa', '-out', join(dir, 'private_key.pem'), '2048'], { stdio: 'ignore' });
    execFileSync('openssl', ['rsa', '-pubout', '-in', join(dir, 'private_key.pem'), '-out', join(dir, 'public_key.pem')], {
      stdio: 'ignore',
    });
    const keys = new Map([['K2JCJMDEHXQW5F', readFileSync(join(dir, 'public_key.pem'), 'utf8')]]);
    const base = `${origin}/image.jpg?color=red&size=medium`;
    writeFileSync(join(dir, 'policy'), awsCannedPolicy(base, 1767290400));
    const now = new Date('2026-01-01T17:59:59Z');
    const sha1 = awsSign(dir, 'private_key.pem', 'sha1');
    assert.deepEqual(check(`${base}&Expires=1767290400&Signature=${sha1}&Key-Pair-Id=K2JCJMDEHXQW5F`, { keys, now }), { ok: true });
    const sha256 = awsSign(dir, 'private_key.pem', 'sha256');
    assert.deepEqual(
      check(`${base}&Expires=1767290400&Signature=${sha256}&Key-Pair-Id=K2JCJMDEHXQW5F&Hash-Algorithm=SHA256`, { keys, now }),
      {
        ok: true,
      },
    );
    assertRefused(
      check(`${base}&Expires=1767290400&Signature=${sha1}&Key-Pair-Id=K2JCJMDEHXQW5F`, { keys, now: new Date('2026-01-01T18:00:00Z') }),
      /expired/u,
    );
  });

  test("AWS's example custom policy (one file, a range of IP addresses) with an openssl ECDSA P-256 key", (context) => {
    if (!opensslOr(context)) return;
    const dir = mkdtempSync(join(tmpdir(), 'edge-vector-'));
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'ecdsa-private.pem')], {
      stdio: 'ignore',
    });
    execFileSync('openssl', ['ec', '-in', join(dir, 'ecdsa-private.pem'), '-pubout', '-out', join(dir, 'ecdsa-public.pem')], {
      stdio: 'ignore',
    });
    const keys = new Map([['K2JCJMDEHXQW5F', readFileSync(join(dir, 'ecdsa-public.pem'), 'utf8')]]);
    const policy = `{\n    "Statement": [\n        {\n            "Resource": "${origin}/game_download.zip",\n            "Condition": {\n                "IpAddress": {\n                    "AWS:SourceIp": "192.0.2.0/24"\n                },\n                "DateLessThan": {\n                    "AWS:EpochTime": 1767290400\n                }\n            }\n        }\n    ]\n}\n`;
    writeFileSync(join(dir, 'policy'), policy);
    const encoded = execFileSync('bash', ['-c', `cat policy | tr -d "\\n" | tr -d " \\t\\n\\r" | openssl base64 -A | tr -- '+=/' '-_~'`], {
      cwd: dir,
    }).toString();
    const now = new Date('2026-01-01T00:00:00Z');
    for (const [digest, hash] of [
      ['sha1', ''],
      ['sha256', '&Hash-Algorithm=SHA256'],
    ] as const) {
      const url = `${origin}/game_download.zip?Policy=${encoded}&Signature=${awsSign(dir, 'ecdsa-private.pem', digest)}&Key-Pair-Id=K2JCJMDEHXQW5F${hash}`;
      assert.deepEqual(check(url, { keys, now, clientIp: '192.0.2.200' }), { ok: true }, digest);
      assertRefused(check(url, { keys, now, clientIp: '203.0.113.1' }), /outside the policy IpAddress/u);
    }
  });
});
