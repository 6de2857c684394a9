import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { PolicyDocument } from '../../src/policy/schema.js';
import { testApp } from '../helpers/app.js';
import { fromCloudFrontBase64, verifyCloudFrontSignature } from '../helpers/cloudfront.js';
import { cloudfrontKeyPair, testConfig } from '../helpers/config.js';
import { bearer } from '../helpers/tokens.js';

type Result = { key: string; url?: string; expiresAt?: string; error?: { code: string; detail: string } };
type Condition = Record<string, Record<string, unknown>>;

const now = new Date('2026-06-01T12:00:00Z');
const alice = bearer({ sub: 'alice' });
const premiere = '2026-06-01T12:05:00Z';

/** Rules that put CloudFront conditions on their grants: an embargo, an office network, the caller's own address. */
const policy: PolicyDocument = {
  version: 1,
  rules: [
    { id: 'embargo', actions: ['read'], resources: ['press/*'], conditions: { notBefore: premiere } },
    { id: 'office', actions: ['read'], resources: ['office/*'], conditions: { sourceIp: '203.0.113.0/24' } },
    { id: 'personal', actions: ['read'], resources: ['personal/*'], conditions: { bindToCallerIp: true } },
    { id: 'office-personal', actions: ['read'], resources: ['desk/*'], conditions: { sourceIp: '203.0.113.0/24', bindToCallerIp: true } },
    { id: 'late-show', actions: ['read'], bundles: ['show'], conditions: { notBefore: premiere, bindToCallerIp: true } },
    { id: 'office-show', actions: ['read'], bundles: ['office'], conditions: { sourceIp: '203.0.113.0/24', bindToCallerIp: true } },
    // The same keys under two rules: a caller who cannot meet the first is decided by the second.
    { id: 'mixed-office', actions: ['read'], resources: ['mixed/*'], conditions: { sourceIp: '203.0.113.0/24', bindToCallerIp: true } },
    { id: 'mixed-later', actions: ['read'], resources: ['mixed/*'], conditions: { notBefore: premiere } },
    { id: 'public', actions: ['read'], resources: ['public/*'] },
  ],
  bundles: { show: { resource: 'show/*' }, office: { resource: 'office-media/*' } },
};

const conditionOf = (policyJson: string): Condition =>
  (JSON.parse(policyJson) as { Statement: { Condition: Condition }[] }).Statement[0]?.Condition ?? {};
const urlConditionOf = (url: string): Condition =>
  conditionOf(fromCloudFrontBase64(new URL(url).searchParams.get('Policy') ?? '').toString());
const epoch = (iso: string): number => Date.parse(iso) / 1000;

describe('rule conditions on CloudFront grants', async () => {
  const app = await testApp({ config: testConfig({ cloudfront: true, policy }), now: () => now });
  after(() => app.close());

  async function download(keys: string[], remoteAddress = '203.0.113.9', extra: Record<string, unknown> = {}): Promise<Result[]> {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys, ...extra }, headers: alice, remoteAddress });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ results: Result[] }>().results;
  }

  test("each key's URL carries the conditions of the rule that granted it, and only those", async () => {
    const [press, office, personal, plain] = await download(['press/a.mp4', 'office/b.pdf', 'personal/c.txt', 'public/d.png']);
    assert.deepEqual(urlConditionOf(press!.url!), {
      DateLessThan: { 'AWS:EpochTime': epoch(press!.expiresAt!) },
      DateGreaterThan: { 'AWS:EpochTime': epoch(premiere) },
    });
    const expires = (result: Result) => ({ DateLessThan: { 'AWS:EpochTime': epoch(result.expiresAt!) } });
    assert.deepEqual(urlConditionOf(office!.url!), { ...expires(office!), IpAddress: { 'AWS:SourceIp': '203.0.113.0/24' } });
    assert.deepEqual(urlConditionOf(personal!.url!), { ...expires(personal!), IpAddress: { 'AWS:SourceIp': '203.0.113.9/32' } });
    assert.equal(new URL(plain!.url!).searchParams.get('Policy'), null, 'an unconditioned rule keeps its canned policy');
    const params = new URL(press!.url!).searchParams;
    const signed = fromCloudFrontBase64(params.get('Policy') ?? '').toString();
    assert.ok(verifyCloudFrontSignature(signed, params.get('Signature') ?? '', cloudfrontKeyPair().publicKey));
  });

  test("the request's own conditions add to the rule's: the later start, the caller's address inside the rule's range", async () => {
    const [press] = await download(['press/a.mp4'], '192.0.2.1', { notBefore: '2026-06-01T12:07:00Z', bindToCallerIp: true });
    assert.deepEqual(urlConditionOf(press!.url!).DateGreaterThan, { 'AWS:EpochTime': epoch('2026-06-01T12:07:00Z') });
    assert.deepEqual(urlConditionOf(press!.url!).IpAddress, { 'AWS:SourceIp': '192.0.2.1/32' });
    const [earlier] = await download(['press/a.mp4'], '192.0.2.1', { notBefore: '2026-06-01T12:01:00Z' });
    assert.deepEqual(urlConditionOf(earlier!.url!).DateGreaterThan, { 'AWS:EpochTime': epoch(premiere) }, 'the embargo holds');
    const [office] = await download(['office/b.pdf'], '203.0.113.77', { bindToCallerIp: true });
    assert.deepEqual(urlConditionOf(office!.url!).IpAddress, { 'AWS:SourceIp': '203.0.113.77/32' });
  });

  test('a caller who cannot meet the rule gets that key refused, saying why; the other keys are granted', async () => {
    const [outside, plain] = await download(['desk/e.txt', 'public/d.png'], '192.0.2.1');
    assert.deepEqual(outside!.error, {
      code: 'BROKER_FORBIDDEN',
      detail: 'rule "office-personal" opens only from 203.0.113.0/24, and your address 192.0.2.1 is outside it',
    });
    assert.ok(plain!.url);
    const [ipv6] = await download(['personal/c.txt'], '2001:db8::1');
    assert.deepEqual(ipv6!.error, {
      code: 'BROKER_FORBIDDEN',
      detail: `rule "personal" binds grants to the caller's IPv4 address, and 2001:db8::1 is not IPv4 (CloudFront matches IPv4 only)`,
    });
    const [embargoed] = await download(['press/a.mp4'], '192.0.2.1', { ttlSeconds: 120 });
    assert.equal(embargoed!.error?.code, 'BROKER_VALIDATION', 'a URL that would expire before the embargo ends could never open');
  });

  test('a caller who cannot meet one rule is decided by the next that covers the key, with its conditions', async () => {
    const [inside] = await download(['mixed/f.txt'], '203.0.113.50');
    assert.deepEqual(urlConditionOf(inside!.url!).IpAddress, { 'AWS:SourceIp': '203.0.113.50/32' });
    assert.equal(urlConditionOf(inside!.url!).DateGreaterThan, undefined);
    const [outside] = await download(['mixed/f.txt'], '192.0.2.1');
    assert.deepEqual(urlConditionOf(outside!.url!).DateGreaterThan, { 'AWS:EpochTime': epoch(premiere) });
    assert.equal(urlConditionOf(outside!.url!).IpAddress, undefined);
  });

  test("one key of a conditioned rule's bundle, downloaded alone, carries the bundle rule's conditions", async () => {
    const [single] = await download(['show/trailer.mp4'], '198.51.100.4');
    assert.deepEqual(urlConditionOf(single!.url!).DateGreaterThan, { 'AWS:EpochTime': epoch(premiere) });
    assert.deepEqual(urlConditionOf(single!.url!).IpAddress, { 'AWS:SourceIp': '198.51.100.4/32' });
  });

  test("bundle cookies: a caller outside the rule's range is refused; cookies that would expire before the start are too", async () => {
    const cookies = (remoteAddress: string, query = '') =>
      app.inject({ method: 'POST', url: `/v1/bundles/office/cookies${query}`, headers: alice, remoteAddress });
    const outside = await cookies('192.0.2.1');
    assert.equal(outside.statusCode, 403, outside.body);
    assert.equal(
      outside.json<{ detail: string }>().detail,
      'rule "office-show" opens only from 203.0.113.0/24, and your address 192.0.2.1 is outside it',
    );
    assert.equal((await cookies('203.0.113.5')).statusCode, 200);
    const tooShort = await app.inject({
      method: 'POST',
      url: '/v1/bundles/show/cookies?ttlSeconds=60',
      headers: alice,
      remoteAddress: '198.51.100.4',
    });
    assert.equal(tooShort.statusCode, 400, tooShort.body);
    assert.match(
      tooShort.json<{ detail: string }>().detail,
      /^bundle "show": these cookies could never be used: it would open at 2026-06-01T12:05:00.000Z/u,
    );
    assert.equal(tooShort.headers['set-cookie'], undefined);
  });

  test('bundle cookies carry the rule conditions too, and are refused to a caller who cannot meet them', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/bundles/show/cookies', headers: alice, remoteAddress: '198.51.100.4' });
    assert.equal(response.statusCode, 200, response.body);
    const policyCookie = [response.headers['set-cookie'] ?? []].flat().find((cookie) => cookie.startsWith('CloudFront-Policy='));
    const encoded = /^CloudFront-Policy=([^;]+)/u.exec(policyCookie ?? '')?.[1] ?? '';
    const condition = conditionOf(fromCloudFrontBase64(encoded).toString());
    assert.deepEqual(condition.DateGreaterThan, { 'AWS:EpochTime': epoch(premiere) });
    assert.deepEqual(condition.IpAddress, { 'AWS:SourceIp': '198.51.100.4/32' });

    const ipv6 = await app.inject({ method: 'POST', url: '/v1/bundles/show/cookies', headers: alice, remoteAddress: '2001:db8::1' });
    assert.equal(ipv6.statusCode, 403, ipv6.body);
    assert.match(
      ipv6.json<{ detail: string }>().detail,
      /^rule "late-show" binds grants to the caller's IPv4 address, and 2001:db8::1 is not IPv4/u,
    );
    assert.equal(ipv6.headers['set-cookie'], undefined);
  });
});

describe('rule conditions without a CDN: refused, never dropped', async () => {
  const app = await testApp({ config: testConfig({ policy }), now: () => now });
  after(() => app.close());

  test('an S3 URL cannot carry a start or an address, so keys of such rules are refused; others are granted', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: ['press/a.mp4', 'office/b.pdf', 'personal/c.txt', 'public/d.png'] },
      headers: alice,
    });
    const results = response.json<{ results: Result[] }>().results;
    assert.deepEqual(
      results.map((result) => result.error?.code ?? 'granted'),
      ['BROKER_FORBIDDEN', 'BROKER_FORBIDDEN', 'BROKER_FORBIDDEN', 'granted'],
    );
    assert.equal(
      results[0]?.error?.detail,
      'rule "embargo" grants this only through CloudFront, with conditions S3 URLs cannot carry (CLOUDFRONT_DOMAIN)',
    );
  });
});
