import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { testApp } from '../helpers/app.js';
import { cannedPolicyOf, fromCloudFrontBase64, verifyCloudFrontSignature } from '../helpers/cloudfront.js';
import { cloudfrontKeyPair, testConfig } from '../helpers/config.js';
import { bearer } from '../helpers/tokens.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';

type Result = { key: string; url?: string; expiresAt?: string; error?: { code: string; detail: string } };
const now = new Date('2026-06-01T12:00:00Z');
const alice = bearer({ sub: 'alice' });

describe('POST /v1/downloads without a CDN: S3 presigned GETs', async () => {
  const app = await testApp({ now: () => now });
  after(() => app.close());

  test('one grant or one error per key, in request order', async () => {
    const keys = ['uploads/alice/a.txt', 'uploads/bob/b.txt', 'public/c.txt', 'a//b', 'uploads/alice/a.txt'];
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys }, headers: alice });
    assert.equal(response.statusCode, 200, response.body);
    const { results } = response.json<{ results: Result[] }>();
    assert.deepEqual(
      results.map((result) => result.key),
      keys,
    );
    assert.deepEqual(
      results.map((result) => result.error?.code ?? 'granted'),
      ['granted', 'BROKER_FORBIDDEN', 'granted', 'BROKER_INVALID_KEY', 'granted'],
    );
    const url = new URL(results[0]!.url!);
    assert.equal(url.pathname, '/access-broker-dev/uploads/alice/a.txt');
    assert.equal(url.searchParams.get('X-Amz-Expires'), '900');
    assert.equal(url.searchParams.get('X-Amz-Date'), '20260601T120000Z');
    assert.equal(results[0]!.expiresAt, '2026-06-01T12:15:00.000Z');
  });

  test('regression: keys that look like active content are signed to download as attachments; others are not', async () => {
    const keys = ['public/page.html', 'public/logo.SVG', 'public/feed.xml', 'public/app.js', 'public/photo.png', 'public/notes.txt'];
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys }, headers: alice });
    const dispositions = response
      .json<{ results: Result[] }>()
      .results.map((result) => new URL(result.url!).searchParams.get('response-content-disposition'));
    assert.deepEqual(dispositions, ['attachment', 'attachment', 'attachment', 'attachment', null, null]);
  });

  const dispositionOf = async (payload: Record<string, unknown>, grants = app): Promise<(string | null)[]> => {
    const response = await grants.inject({ method: 'POST', url: '/v1/downloads', payload, headers: alice });
    assert.equal(response.statusCode, 200, response.body);
    return response
      .json<{ results: Result[] }>()
      .results.map((result) => new URL(result.url!).searchParams.get('response-content-disposition'));
  };

  test('disposition and filename: S3 is asked to answer with that Content-Disposition; a filename alone means attachment', async () => {
    assert.deepEqual(await dispositionOf({ keys: ['public/photo.png'], disposition: 'inline' }), ['inline']);
    assert.deepEqual(await dispositionOf({ keys: ['public/photo.png', 'public/b.png'], disposition: 'attachment' }), [
      'attachment',
      'attachment',
    ]);
    assert.deepEqual(await dispositionOf({ keys: ['public/photo.png'], filename: 'holiday.png' }), [
      `attachment; filename="holiday.png"; filename*=UTF-8''holiday.png`,
    ]);
    assert.deepEqual(await dispositionOf({ keys: ['public/photo.png'], disposition: 'inline', filename: 'été.png' }), [
      `inline; filename="_t_.png"; filename*=UTF-8''%C3%A9t%C3%A9.png`,
    ]);
  });

  test('regression: active content stays an attachment even when inline is asked', async () => {
    assert.deepEqual(await dispositionOf({ keys: ['public/page.html'], disposition: 'inline' }), ['attachment']);
    assert.deepEqual(await dispositionOf({ keys: ['public/page.html'], disposition: 'inline', filename: 'x.html' }), [
      `attachment; filename="x.html"; filename*=UTF-8''x.html`,
    ]);
  });

  test('notBefore and bindToCallerIp need CloudFront: S3 URLs cannot carry them, so they are refused, not dropped', async () => {
    for (const [payload, path] of [
      [{ keys: ['public/a.png'], notBefore: '2026-06-01T12:05:00Z' }, 'body/notBefore'],
      [{ keys: ['public/a.png'], bindToCallerIp: true }, 'body/bindToCallerIp'],
    ] as const) {
      const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload, headers: alice });
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json<{ errors: { path: string }[] }>().errors[0]?.path, path);
    }
  });

  test('a filename with several keys, or an unknown disposition, is refused with 400 naming the field', async () => {
    for (const [payload, path] of [
      [{ keys: ['public/a.png', 'public/b.png'], filename: 'a.png' }, 'body/filename'],
      [{ keys: ['public/a.png'], disposition: 'download' }, '/disposition'],
    ] as const) {
      const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload, headers: alice });
      assert.equal(response.statusCode, 400, response.body);
      assert.ok(
        response.json<{ errors: { path: string }[] }>().errors.some((error) => error.path.endsWith(path)),
        response.body,
      );
    }
  });

  test('a read grant is not a write grant: the URL is a GET signature', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/c.txt'] }, headers: alice });
    assert.equal(new URL(response.json<{ results: Result[] }>().results[0]!.url!).searchParams.get('x-id'), 'GetObject');
  });

  test(`more than 100 keys is refused with 400`, async () => {
    const keys = Array.from({ length: 101 }, (_, i) => `public/${i}`);
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys }, headers: alice });
    assert.equal(response.statusCode, 400);
    assert.match(response.json<{ detail: string }>().detail, /100/);
  });

  test('an empty key list is refused with 400', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [] }, headers: alice });
    assert.equal(response.statusCode, 400);
  });
});

describe('POST /v1/downloads with CloudFront', async () => {
  const store = await openSqliteStore(':memory:');
  const app = await testApp({ config: testConfig({ cloudfront: true }), store, now: () => now });
  after(() => app.close());

  test('grants are canned-policy signed URLs that verify with the public key', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/film 1.mp4'] }, headers: alice });
    const [result] = response.json<{ results: Result[] }>().results;
    const canned = cannedPolicyOf(result!.url!);
    assert.equal(canned.resource, 'https://d111111abcdef8.cloudfront.net/public/film%201.mp4');
    assert.equal(canned.keyPairId, 'KTESTKEYPAIR01');
    assert.ok(verifyCloudFrontSignature(canned.policy, canned.signature, cloudfrontKeyPair().publicKey));
    assert.equal(new URL(result!.url!).searchParams.get('Expires'), String(now.getTime() / 1000 + 900));
  });

  type CustomPolicy = { Statement: { Condition: Record<string, Record<string, unknown>> }[] };
  const policyOf = (url: string): CustomPolicy =>
    JSON.parse(fromCloudFrontBase64(new URL(url).searchParams.get('Policy') ?? '').toString()) as CustomPolicy;

  test("notBefore and bindToCallerIp: a custom policy with DateGreaterThan and the caller's own address", async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: ['public/premiere.mp4'], notBefore: '2026-06-01T12:05:00Z', bindToCallerIp: true },
      headers: alice,
      remoteAddress: '198.51.100.23',
    });
    assert.equal(response.statusCode, 200, response.body);
    const [result] = response.json<{ results: Result[] }>().results;
    const { Condition } = policyOf(result!.url!).Statement[0]!;
    assert.deepEqual(Condition.DateGreaterThan, { 'AWS:EpochTime': Date.parse('2026-06-01T12:05:00Z') / 1000 });
    assert.deepEqual(Condition.IpAddress, { 'AWS:SourceIp': '198.51.100.23/32' });
  });

  test('an IPv6 caller asking to bind the URL to its address is refused: CloudFront matches IPv4 only', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: ['public/premiere.mp4'], bindToCallerIp: true },
      headers: alice,
      remoteAddress: '2001:db8::1',
    });
    assert.equal(response.statusCode, 400, response.body);
    assert.match(response.json<{ detail: string }>().detail, /2001:db8::1 is not IPv4, and CloudFront matches IPv4 addresses only/u);
  });

  test("a start at or after the grant would expire is that key's error: such a URL would never work", async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: ['public/premiere.mp4'], notBefore: '2026-06-01T13:00:00Z', ttlSeconds: 600 },
      headers: alice,
    });
    const [result] = response.json<{ results: Result[] }>().results;
    assert.equal(result?.error?.code, 'BROKER_VALIDATION');
    assert.match(
      result?.error?.detail ?? '',
      /^this grant could never be used: it would open at 2026-06-01T13:00:00.000Z, not before it expires \(2026-06-01T12:10:00.000Z\)$/u,
    );
  });

  test('a `*` in a key is escaped, so it cannot widen the grant', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['uploads/alice/*'] }, headers: alice });
    const [result] = response.json<{ results: Result[] }>().results;
    assert.equal(cannedPolicyOf(result!.url!).resource, 'https://d111111abcdef8.cloudfront.net/uploads/alice/%2A');
  });

  test('a live entitlement grants what the rules do not; a revoked one stops granting', async () => {
    const ask = () => app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['courses/rust/01.mp4'] }, headers: alice });
    assert.equal((await ask()).json<{ results: Result[] }>().results[0]!.error?.code, 'BROKER_FORBIDDEN');
    const entitlement = await store.create(
      { subject: 'alice', resources: ['courses/rust/*'], actions: ['read'], grantedBy: 'shop', reason: 'order 42' },
      now,
    );
    assert.ok((await ask()).json<{ results: Result[] }>().results[0]!.url);
    await store.revoke(entitlement.id, now);
    assert.equal((await ask()).json<{ results: Result[] }>().results[0]!.error?.code, 'BROKER_FORBIDDEN');
  });

  test('a URL granted by an entitlement expires with it, whatever TTL is asked', async () => {
    await store.create(
      {
        subject: 'alice',
        resources: ['trials/*'],
        actions: ['read'],
        expiresAt: new Date(now.getTime() + 60_000),
        grantedBy: 'shop',
        reason: 'trial',
      },
      now,
    );
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: ['trials/a.mp4'], ttlSeconds: 86_400 },
      headers: alice,
    });
    const [result] = response.json<{ results: Result[] }>().results;
    assert.equal(result!.expiresAt, '2026-06-01T12:01:00.000Z');
    assert.equal(new URL(result!.url!).searchParams.get('Expires'), String(now.getTime() / 1000 + 60));
  });
});
