import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { testApp } from '../helpers/app.js';
import { fromCloudFrontBase64, verifyCloudFrontSignature } from '../helpers/cloudfront.js';
import { cloudfrontKeyPair, testConfig } from '../helpers/config.js';
import { bearer } from '../helpers/tokens.js';

const now = new Date('2026-06-01T12:00:00Z');
const policy = {
  version: 1 as const,
  rules: [
    { id: 'demo', actions: ['read' as const], bundles: ['demo'] },
    { id: 'long-names', actions: ['read' as const], bundles: ['fits', 'too-long'] },
    {
      id: 'members',
      when: { claims: { plan: ['pro', 'team'] } },
      actions: ['read' as const],
      bundles: ['tenant'],
      limits: { maxTtlSeconds: 600 },
    },
  ],
  bundles: {
    demo: { resource: 'public/demo/*', cookiePath: '/public/demo/' },
    tenant: { resource: 'tenants/{tenant}/media/*' },
    locked: { resource: 'locked/*' },
    // Policy JSON in base64 grows by a third: a resource of about 2,900 characters passes browsers' 4096 bytes.
    fits: { resource: `${'f'.repeat(2_800)}/*`, cookiePath: '/' },
    'too-long': { resource: `${'t'.repeat(3_000)}/*`, cookiePath: '/' },
  },
};

interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

function parseSetCookies(header: string | string[] | undefined): SetCookie[] {
  return [header ?? []].flat().map((line) => {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const at = pair.indexOf('=');
    return {
      name: pair.slice(0, at),
      value: decodeURIComponent(pair.slice(at + 1)),
      attributes: new Map(
        attributes.map((attribute) => {
          const [name = '', value = ''] = attribute.split('=');
          return [name.toLowerCase(), value];
        }),
      ),
    };
  });
}

describe('POST /v1/bundles/{bundleId}/cookies', async () => {
  const config = testConfig({
    policy,
    cloudfront: true,
    overrides: { cookies: { domain: '.example.com', sameSite: 'none', secure: true } },
  });
  const app = await testApp({ config, now: () => now });
  after(() => app.close());

  test('sets the three CloudFront cookies with Domain, Path, Secure, HttpOnly and SameSite, and summarises them', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/bundles/demo/cookies', headers: bearer({ sub: 'alice' }) });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), {
      bundleId: 'demo',
      resource: 'https://d111111abcdef8.cloudfront.net/public/demo/*',
      expiresAt: '2026-06-01T12:15:00.000Z',
      cookies: ['CloudFront-Policy', 'CloudFront-Signature', 'CloudFront-Key-Pair-Id'],
    });
    assert.equal(response.headers['cache-control'], 'no-store');
    const cookies = parseSetCookies(response.headers['set-cookie']);
    assert.deepEqual(
      cookies.map((cookie) => cookie.name),
      ['CloudFront-Policy', 'CloudFront-Signature', 'CloudFront-Key-Pair-Id'],
    );
    for (const cookie of cookies) {
      assert.equal(cookie.attributes.get('domain'), '.example.com');
      assert.equal(cookie.attributes.get('path'), '/public/demo/');
      assert.ok(cookie.attributes.has('secure'));
      assert.ok(cookie.attributes.has('httponly'));
      assert.equal(cookie.attributes.get('samesite'), 'None');
      assert.equal(new Date(cookie.attributes.get('expires') ?? '').toISOString(), '2026-06-01T12:15:00.000Z');
    }
    const [policyCookie, signatureCookie, keyPairCookie] = cookies;
    const document = fromCloudFrontBase64(policyCookie!.value).toString();
    assert.deepEqual((JSON.parse(document) as { Statement: unknown[] }).Statement[0], {
      Resource: 'https://d111111abcdef8.cloudfront.net/public/demo/*',
      Condition: { DateLessThan: { 'AWS:EpochTime': now.getTime() / 1000 + 900 } },
    });
    assert.equal(keyPairCookie!.value, 'KTESTKEYPAIR01');
    assert.ok(verifyCloudFrontSignature(document, signatureCookie!.value, cloudfrontKeyPair().publicKey));
  });

  test('a claim fills the bundle resource, and the cookie path follows it', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/bundles/tenant/cookies?ttlSeconds=3600',
      headers: bearer({ sub: 'bob', plan: 'pro', tenant: 'acme' }),
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json<{ resource: string }>().resource, 'https://d111111abcdef8.cloudfront.net/tenants/acme/media/*');
    assert.equal(response.json<{ expiresAt: string }>().expiresAt, '2026-06-01T12:10:00.000Z', 'capped by the rule');
    assert.equal(parseSetCookies(response.headers['set-cookie'])[0]!.attributes.get('path'), '/tenants/acme/media/');
  });

  test('a resource long enough to make a cookie browsers would drop: 422 saying which cookie and why, and no cookie set', async () => {
    const fits = await app.inject({ method: 'POST', url: '/v1/bundles/fits/cookies', headers: bearer({ sub: 'bob' }) });
    assert.equal(fits.statusCode, 200, fits.body);
    const cookie = parseSetCookies(fits.headers['set-cookie']).find((set) => set.name === 'CloudFront-Policy');
    assert.ok(cookie && cookie.name.length + encodeURIComponent(cookie.value).length <= 4096);
    const response = await app.inject({ method: 'POST', url: '/v1/bundles/too-long/cookies', headers: bearer({ sub: 'bob' }) });
    assert.equal(response.statusCode, 422, response.body);
    const body = response.json<{ code: string; detail: string }>();
    assert.equal(body.code, 'BROKER_COOKIE_TOO_LARGE');
    assert.match(
      body.detail,
      /^bundle "too-long": the CloudFront-Policy cookie would be \d{4} bytes, over browsers' 4096; its resource \(\d+ characters here\) must be shorter$/u,
    );
    assert.equal(response.headers['set-cookie'], undefined);
  });

  test('a claim that would widen the resource is refused', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/bundles/tenant/cookies',
      headers: bearer({ sub: 'bob', plan: 'pro', tenant: '*' }),
    });
    assert.equal(response.statusCode, 403);
    assert.equal(response.headers['set-cookie'], undefined);
  });

  test('a caller without an entitlement to the bundle gets 403 and no cookie', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/bundles/locked/cookies', headers: bearer({ sub: 'alice' }) });
    assert.equal(response.statusCode, 403);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_FORBIDDEN');
    assert.equal(response.headers['set-cookie'], undefined);
  });

  test('a JSON body is refused, not silently ignored', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/bundles/demo/cookies',
      payload: { ttlSeconds: 5 },
      headers: bearer({ sub: 'alice' }),
    });
    assert.equal(response.statusCode, 400);
    assert.match(response.json<{ detail: string }>().detail, /query string/);
    assert.equal(response.headers['set-cookie'], undefined);
  });

  test('an unknown bundle gets 404', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/bundles/nope/cookies', headers: bearer({ sub: 'alice' }) });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_BUNDLE_NOT_FOUND');
  });

  test('a malformed bundle id or ttl gets 400', async () => {
    for (const url of [
      '/v1/bundles/NOT_VALID/cookies',
      '/v1/bundles/demo/cookies?ttlSeconds=-5',
      '/v1/bundles/demo/cookies?ttlSeconds=1e9',
    ]) {
      const response = await app.inject({ method: 'POST', url, headers: bearer({ sub: 'alice' }) });
      assert.equal(response.statusCode, 400, url);
    }
  });

  test('regression: ttlSeconds above 7 days in the query is refused like the same value in a body, not capped', async () => {
    const query = await app.inject({
      method: 'POST',
      url: '/v1/bundles/demo/cookies?ttlSeconds=700000',
      headers: bearer({ sub: 'alice' }),
    });
    assert.equal(query.statusCode, 400);
    assert.equal(query.headers['set-cookie'], undefined);
    const body = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: ['public/a'], ttlSeconds: 700000 },
      headers: bearer({ sub: 'alice' }),
    });
    assert.equal(body.statusCode, 400);
    const [fromQuery, fromBody] = [query, body].map(
      (response) => response.json<{ errors: { path: string; message: string }[] }>().errors[0],
    );
    assert.deepEqual(fromQuery, { path: 'querystring/ttlSeconds', message: fromBody?.message });
    const limit = await app.inject({
      method: 'POST',
      url: '/v1/bundles/demo/cookies?ttlSeconds=604800',
      headers: bearer({ sub: 'alice' }),
    });
    assert.equal(limit.statusCode, 200, 'exactly 7 days is allowed (and capped by the rule)');
  });

  test('DELETE clears the cookies on the same path and domain', async () => {
    const response = await app.inject({ method: 'DELETE', url: '/v1/bundles/demo/cookies', headers: bearer({ sub: 'alice' }) });
    assert.equal(response.statusCode, 204);
    const cookies = parseSetCookies(response.headers['set-cookie']);
    assert.ok(cookies.length >= 3);
    for (const cookie of cookies) {
      assert.equal(cookie.value, '');
      assert.equal(cookie.attributes.get('path'), '/public/demo/');
      assert.equal(cookie.attributes.get('domain'), '.example.com');
      assert.ok(new Date(cookie.attributes.get('expires') ?? '').getTime() < Date.now());
    }
  });
});

describe('bundle cookies without CloudFront', async () => {
  const app = await testApp({ config: testConfig({ policy }) });
  after(() => app.close());

  test('answer 501 naming the missing configuration', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/bundles/demo/cookies', headers: bearer({ sub: 'alice' }) });
    assert.equal(response.statusCode, 501);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_CDN_NOT_CONFIGURED');
    assert.match(response.json<{ detail: string }>().detail, /CLOUDFRONT_DOMAIN/);
  });
});
