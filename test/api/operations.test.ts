import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { capturedLogger, testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { bearer, token } from '../helpers/tokens.js';
import { openApiYaml } from '../../src/openapi/document.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { EntitlementStore } from '../../src/store/entitlement-store.js';

describe('operations', async () => {
  const app = await testApp();
  after(() => app.close());

  test('/healthz answers without a token', async () => {
    const response = await app.inject({ url: '/healthz' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'ok' });
  });

  test('/readyz answers ok when the store and credentials are there', async () => {
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
  });

  test('/metrics counts grants by kind and outcome in Prometheus text format', async () => {
    await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'text/plain', contentLength: 1 },
      headers: bearer({ sub: 'm' }),
    });
    await app.inject({ method: 'POST', url: '/v1/uploads', payload: { contentType: 'text/plain', contentLength: 1 } });
    await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/x'] }, headers: bearer({ sub: 'm' }) });
    const response = await app.inject({ url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /text\/plain/);
    assert.match(response.body, /broker_grants_total\{kind="upload",outcome="granted"\} 1/);
    assert.match(response.body, /broker_grants_total\{kind="upload",outcome="unauthenticated"\} 1/);
    assert.match(response.body, /broker_grants_total\{kind="download",outcome="granted"\} 1/);
    // Counted, whatever it took: a bucket bound (le="0.1") would make this test fail on a loaded machine.
    assert.match(response.body, /broker_grant_duration_seconds_count\{kind="upload",outcome="granted"\} 1/);
  });

  test('/metrics counts decisions by kind, outcome and the rule that decided', async () => {
    const who = bearer({ sub: 'decider' });
    await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a', 'private/b'] }, headers: who });
    await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'text/plain', contentLength: 1, key: 'uploads/other/x' },
      headers: who,
    });
    const { body } = await app.inject({ url: '/metrics' });
    assert.match(body, /broker_decisions_total\{kind="download",outcome="allowed",decided_by="dev-public"\} [1-9]/);
    assert.match(body, /broker_decisions_total\{kind="download",outcome="BROKER_FORBIDDEN",decided_by="none"\} 1/);
    assert.match(body, /broker_decisions_total\{kind="upload",outcome="BROKER_FORBIDDEN",decided_by="none"\} 1/);
  });

  test('regression: a download whose every key is denied counts as denied, per key, not as one granted request', async () => {
    const fresh = await testApp();
    try {
      const keys = ['private/a', 'private/b', 'uploads/other/c'];
      const response = await fresh.inject({ method: 'POST', url: '/v1/downloads', payload: { keys }, headers: bearer({ sub: 'm' }) });
      assert.equal(response.statusCode, 200);
      const { body } = await fresh.inject({ url: '/metrics' });
      assert.match(body, /broker_grants_total\{kind="download",outcome="denied"\} 3/);
      assert.doesNotMatch(body, /broker_grants_total\{kind="download",outcome="granted"\}/);
    } finally {
      await fresh.close();
    }
  });

  test('/docs serves Swagger UI and the OpenAPI document', async () => {
    const ui = await app.inject({ url: '/docs/' });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger/i);
    const document = await app.inject({ url: '/docs/json' });
    assert.equal(document.json<{ openapi: string }>().openapi, '3.1.0');
  });

  test('an unknown route gets a 404 problem', async () => {
    const response = await app.inject({ url: '/v2/nothing' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_NOT_FOUND');
  });

  test('a known path with another method gets 405 and Allow', async () => {
    const response = await app.inject({ method: 'PUT', url: '/v1/bundles/demo/cookies' });
    assert.equal(response.statusCode, 405);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_METHOD_NOT_ALLOWED');
    assert.deepEqual(String(response.headers.allow).split(', ').sort(), ['DELETE', 'POST']);
  });

  test('the request id is returned, and a harmless incoming one is kept', async () => {
    const kept = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-123' } });
    assert.equal(kept.headers['x-request-id'], 'trace-123');
    const replaced = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\nwith newline' } });
    assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/u);
  });

  test('CORS: an allowed origin may call with credentials, and the preflight is cached', async () => {
    const response = await app.inject({
      method: 'OPTIONS',
      url: '/v1/bundles/demo/cookies',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.equal(response.statusCode, 204);
    assert.equal(response.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
    assert.equal(response.headers['access-control-max-age'], '600');
    assert.match(String(response.headers['access-control-allow-headers']), /authorization/);
  });

  test('CORS: another origin is not allowed', async () => {
    const response = await app.inject({
      method: 'OPTIONS',
      url: '/v1/uploads',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(response.headers['access-control-allow-origin'], undefined);
  });
});

describe('readiness with a failing store', async () => {
  const real = await openSqliteStore(':memory:');
  const broken: EntitlementStore = { ...real, ping: async () => Promise.reject(new Error('database is locked')) };
  const app = await testApp({ store: broken });
  after(() => app.close());

  test('/readyz answers 503 without leaking the cause', async () => {
    const response = await app.inject({ url: '/readyz' });
    assert.equal(response.statusCode, 503);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_NOT_READY');
    assert.ok(!response.body.includes('locked'));
  });
});

describe('failures inside the broker', async () => {
  const real = await openSqliteStore(':memory:');
  const failingWith = (code: string, message: string): EntitlementStore => ({
    ...real,
    liveFor: async () => Promise.reject(Object.assign(new Error(message), { code })),
  });
  const busy = await testApp({ store: failingWith('SQLITE_BUSY', 'database is locked at /var/lib/secret/path') });
  const corrupt = await testApp({ store: failingWith('SQLITE_CORRUPT', 'database disk image is malformed at /var/lib/secret/path') });
  after(async () => {
    await busy.close();
    await corrupt.close();
  });
  const download = (app: typeof busy) =>
    app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/x'] }, headers: bearer({ sub: 'a' }) });

  test('a store that is away or busy is a 503 (no grant, retry later), without its internal detail', async () => {
    const response = await download(busy);
    assert.equal(response.statusCode, 503);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_STORE_UNAVAILABLE');
    assert.ok(!response.body.includes('SQLITE') && !response.body.includes('/var/lib'));
  });

  test('a store that is broken is a 500 problem with a request id and no internal detail, not a blip to retry', async () => {
    const response = await download(corrupt);
    assert.equal(response.statusCode, 500);
    const body = response.json<{ code: string; detail: string; requestId: string }>();
    assert.equal(body.code, 'BROKER_INTERNAL');
    assert.ok(body.detail.includes(body.requestId));
    assert.ok(!response.body.includes('SQLITE') && !response.body.includes('/var/lib'));
  });
});

describe('logs', async () => {
  const config = testConfig({ cloudfront: true });
  const { logger, lines } = capturedLogger(config);
  const app = await testApp({ config, logger });
  after(() => app.close());

  test('never contain tokens, signatures, cookies or policies', async () => {
    const secretToken = token({ sub: 'alice' });
    const headers = { authorization: `Bearer ${secretToken}`, cookie: 'CloudFront-Signature=abcdef-secret-cookie' };
    const responses = await Promise.all([
      app.inject({ method: 'POST', url: '/v1/uploads', payload: { contentType: 'text/plain', contentLength: 1 }, headers }),
      app.inject({ method: 'POST', url: '/v1/uploads', payload: { contentType: 'text/plain', contentLength: 1, method: 'POST' }, headers }),
      app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a'] }, headers }),
      app.inject({ method: 'POST', url: '/v1/bundles/demo/cookies', headers }),
      app.inject({
        method: 'POST',
        url: '/v1/uploads',
        payload: { contentType: 'text/plain', contentLength: 1 },
        headers: { authorization: 'Bearer expired.garbage.token' },
      }),
    ]);
    const log = lines();
    assert.ok(log.includes('grant allowed'), 'decisions are logged');
    const secrets = [secretToken, 'expired.garbage.token', 'abcdef-secret-cookie'];
    const upload = responses[0].json<{ url: string }>();
    secrets.push(new URL(upload.url).searchParams.get('X-Amz-Signature') ?? 'missing');
    const form = responses[1].json<{ fields: Record<string, string> }>();
    secrets.push(form.fields['X-Amz-Signature'] ?? 'missing', form.fields.Policy ?? 'missing');
    const download = responses[2].json<{ results: { url: string }[] }>();
    secrets.push(new URL(download.results[0]!.url).searchParams.get('Signature') ?? 'missing');
    for (const cookie of [responses[3].headers['set-cookie'] ?? []].flat()) secrets.push(cookie.split(';')[0]!.split('=')[1]!);
    for (const secret of secrets) assert.ok(!log.includes(secret), `a secret reached the logs: ${secret.slice(0, 12)}…`);
  });
});

describe('openapi.yaml', () => {
  test('is up to date with the route schemas (npm run openapi)', async () => {
    const committed = await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8');
    assert.equal(committed, await openApiYaml(), 'openapi.yaml is stale: run `npm run openapi` and commit it');
  });
});
