import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { bearer } from '../helpers/tokens.js';

const policy = {
  version: 1 as const,
  rules: [
    {
      id: 'own',
      actions: ['write' as const, 'read' as const],
      resources: ['uploads/{sub}/*'],
      limits: { maxBytes: 1000, contentTypes: ['image/*', 'text/plain'], maxTtlSeconds: 3600 },
    },
    { id: 'reports', when: { roles: ['reporter'] }, actions: ['write' as const], resources: ['reports/{sub}.pdf'] },
  ],
};
const now = new Date('2026-06-01T12:00:00Z');

describe('POST /v1/uploads', async () => {
  const app = await testApp({ config: testConfig({ policy }), now: () => now });
  after(() => app.close());
  const alice = bearer({ sub: 'alice' });
  const upload = (payload: unknown, headers: Record<string, string> = alice) =>
    app.inject({ method: 'POST', url: '/v1/uploads', payload: payload as object, headers });

  test("PUT: a server-generated key under the caller's prefix, with Content-Type and Content-Length signed", async () => {
    const before = Date.now();
    const response = await upload({ contentType: 'image/png', contentLength: 512, filename: '../../My Photo*.png' });
    assert.equal(response.statusCode, 201, response.body);
    const grant = response.json<{ method: string; url: string; headers: Record<string, string>; key: string; expiresAt: string }>();
    assert.equal(grant.method, 'PUT');
    // A UUID version 7: the grant's millisecond, then random bits.
    const id = /^uploads\/alice\/([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\/My Photo_\.png$/u.exec(grant.key);
    assert.ok(id, grant.key);
    const millisecond = Number.parseInt(`${id[1]}${id[2]}`, 16);
    assert.ok(millisecond >= before && millisecond <= Date.now(), `${millisecond} is not the grant's time`);
    assert.deepEqual(grant.headers, { 'content-type': 'image/png', 'content-length': '512' });
    const url = new URL(grant.url);
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host');
    // Pitfall: SDK v3 adds a CRC32 of the empty presign-time body unless told not to.
    assert.ok(![...url.searchParams.keys()].some((name) => name.toLowerCase().startsWith('x-amz-checksum')), grant.url);
    assert.equal(grant.expiresAt, '2026-06-01T12:15:00.000Z');
    assert.equal(response.headers['cache-control'], 'no-store', 'a grant must not be cached');
  });

  test('two uploads of the same file get different keys', async () => {
    const [first, second] = await Promise.all([1, 2].map(() => upload({ contentType: 'text/plain', contentLength: 1, filename: 'a.txt' })));
    assert.notEqual(first!.json<{ key: string }>().key, second!.json<{ key: string }>().key);
  });

  test('a key named by the caller inside their prefix is kept', async () => {
    const response = await upload({ contentType: 'text/plain', contentLength: 3, key: "uploads/alice/notes/it's ünïcode.txt" });
    assert.equal(response.statusCode, 201, response.body);
    assert.equal(response.json<{ key: string }>().key, "uploads/alice/notes/it's ünïcode.txt");
  });

  test("a key outside the caller's prefix is forbidden", async () => {
    const response = await upload({ contentType: 'text/plain', contentLength: 3, key: 'uploads/bob/x.txt' });
    assert.equal(response.statusCode, 403);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_FORBIDDEN');
  });

  test('a wildcard in a claim cannot widen the prefix', async () => {
    const response = await upload({ contentType: 'text/plain', contentLength: 3, key: 'uploads/bob/x.txt' }, bearer({ sub: '*' }));
    assert.equal(response.statusCode, 403);
  });

  for (const [key, reason] of [
    ['/uploads/alice/x', /start with "\/"/],
    ['uploads/alice//x', /empty segment/],
    ['uploads/alice/../bob/x', /"\.\." segment/],
    ['uploads/alice/./x', /"\." segment/],
    ['uploads/alice/x\u0000', /control character/],
    ['uploads/alice/\ud800', /UTF-8/],
    [`uploads/alice/${'€'.repeat(340)}`, /bytes; the limit is 1024/],
  ] as const) {
    test(`key ${JSON.stringify(key).slice(0, 40)} is refused with 400 and its reason`, async () => {
      const response = await upload({ contentType: 'text/plain', contentLength: 3, key });
      assert.equal(response.statusCode, 400, response.body);
      const body = response.json<{ code: string; detail: string }>();
      assert.equal(body.code, 'BROKER_INVALID_KEY');
      assert.match(body.detail, reason);
    });
  }

  test("a size above the rule's limit is refused with the limit named", async () => {
    const response = await upload({ contentType: 'text/plain', contentLength: 1001 });
    assert.equal(response.statusCode, 403);
    const body = response.json<{ code: string; detail: string }>();
    assert.equal(body.code, 'BROKER_LIMIT_EXCEEDED');
    assert.match(body.detail, /1001 exceeds the limit of 1000 bytes/);
  });

  test('a content type the rule does not allow is refused', async () => {
    const response = await upload({ contentType: 'application/x-msdownload', contentLength: 10 });
    assert.equal(response.statusCode, 403);
    assert.match(response.json<{ detail: string }>().detail, /application\/x-msdownload/);
  });

  test('the TTL is capped by the rule', async () => {
    const response = await upload({ contentType: 'text/plain', contentLength: 3, ttlSeconds: 86_400 });
    assert.equal(response.json<{ expiresAt: string }>().expiresAt, '2026-06-01T13:00:00.000Z');
    assert.equal(new URL(response.json<{ url: string }>().url).searchParams.get('X-Amz-Expires'), '3600');
  });

  test("a TTL above SigV4's 7 days is refused at the edge", async () => {
    const response = await upload({ contentType: 'text/plain', contentLength: 3, ttlSeconds: 604_801 });
    assert.equal(response.statusCode, 400);
  });

  test('POST: a form whose policy carries content-length-range and the Content-Type', async () => {
    // createPresignedPost signs at the real clock, so this app keeps it.
    const realClock = await testApp({ config: testConfig({ policy }) });
    after(() => realClock.close());
    const response = await realClock.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'image/jpeg', contentLength: 800, method: 'POST' },
      headers: alice,
    });
    assert.equal(response.statusCode, 201, response.body);
    const grant = response.json<{ method: string; url: string; fields: Record<string, string>; key: string; expiresAt: string }>();
    assert.equal(grant.method, 'POST');
    assert.equal(grant.fields.key, grant.key);
    assert.equal(grant.fields['Content-Type'], 'image/jpeg');
    const document = JSON.parse(Buffer.from(grant.fields.Policy ?? '', 'base64').toString()) as {
      conditions: unknown[];
      expiration: string;
    };
    assert.deepEqual(
      document.conditions.find((c) => Array.isArray(c) && c[0] === 'content-length-range'),
      ['content-length-range', 0, 800],
    );
    assert.deepEqual(
      document.conditions.find((c) => Array.isArray(c) && c[1] === '$Content-Type'),
      ['eq', '$Content-Type', 'image/jpeg'],
    );
    assert.ok(document.conditions.some((c) => typeof c === 'object' && c !== null && (c as { key?: string }).key === grant.key));
    assert.ok(
      Math.abs(Date.parse(document.expiration) - Date.parse(grant.expiresAt)) < 2000,
      `${document.expiration} vs ${grant.expiresAt}`,
    );
  });

  test('a caller with no upload prefix is told to name a key', async () => {
    const stranger = testConfig({
      policy: { version: 1, rules: [{ id: 'r', when: { roles: ['reporter'] }, actions: ['write'], resources: ['reports/{sub}.pdf'] }] },
    });
    const other = await testApp({ config: stranger });
    after(() => other.close());
    const generated = await other.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'application/pdf', contentLength: 9 },
      headers: bearer({ sub: 'carol', roles: ['reporter'] }),
    });
    assert.equal(generated.statusCode, 403);
    assert.match(generated.json<{ detail: string }>().detail, /name a key/);
    const named = await other.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'application/pdf', contentLength: 9, key: 'reports/carol.pdf' },
      headers: bearer({ sub: 'carol', roles: ['reporter'] }),
    });
    assert.equal(named.statusCode, 201, named.body);
  });

  const badBodies: [string, unknown, RegExp][] = [
    ['a missing contentType', { contentLength: 3 }, /contentType/],
    ['a negative contentLength', { contentType: 'text/plain', contentLength: -1 }, /contentLength/],
    ['a string contentLength', { contentType: 'text/plain', contentLength: '3' }, /contentLength/],
    ['a malformed contentType', { contentType: 'text plain', contentLength: 3 }, /contentType/],
    [
      'a contentType with non-ASCII in a parameter (unusable in an HTTP header)',
      { contentType: 'text/plain; a="\u00e9\u007f"', contentLength: 3 },
      /contentType/,
    ],
    ['an unknown property', { contentType: 'text/plain', contentLength: 3, acl: 'public-read' }, /acl.*not a known property/],
    ['an unknown method', { contentType: 'text/plain', contentLength: 3, method: 'PATCH' }, /method/],
  ];
  for (const [name, payload, detail] of badBodies) {
    test(`${name} gets 400 naming the field`, async () => {
      const response = await upload(payload);
      assert.equal(response.statusCode, 400, response.body);
      const body = response.json<{ code: string; detail: string; errors: unknown[] }>();
      assert.equal(body.code, 'BROKER_VALIDATION');
      assert.match(body.detail, detail);
      assert.ok(body.errors.length > 0);
    });
  }

  test('malformed JSON gets 400, not 500', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: '{"contentType":',
      headers: { ...alice, 'content-type': 'application/json' },
    });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_VALIDATION');
  });

  test('a non-JSON body gets 415', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: 'contentType=text/plain',
      headers: { ...alice, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(response.statusCode, 415);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_UNSUPPORTED_MEDIA_TYPE');
  });

  test('an oversized body gets 413', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: JSON.stringify({ contentType: 'text/plain', contentLength: 3, filename: 'x'.repeat(300_000) }),
      headers: { ...alice, 'content-type': 'application/json' },
    });
    assert.equal(response.statusCode, 413);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_PAYLOAD_TOO_LARGE');
  });
});
