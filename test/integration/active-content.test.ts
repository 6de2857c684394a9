import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { bearer } from '../helpers/tokens.js';

const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>';

describe('active content against a real S3 endpoint', () => {
  let endpoint: S3Endpoint;
  let app: FastifyInstance;
  const alice = bearer({ sub: 'alice' });

  before(async () => {
    endpoint = await startS3Endpoint();
    const policy = {
      version: 1 as const,
      rules: [
        {
          id: 'images',
          actions: ['read' as const, 'write' as const],
          resources: ['images/{sub}/*'],
          limits: { contentTypes: ['image/*'] },
        },
        {
          id: 'logos',
          actions: ['read' as const, 'write' as const],
          resources: ['logos/{sub}/*'],
          limits: { contentTypes: ['image/svg+xml'] },
        },
      ],
    };
    app = await testApp({ config: { ...testConfig({ policy }), s3: endpoint.config } });
  });
  after(async () => {
    await app?.close();
    await endpoint?.stop();
  });

  const upload = (key: string, contentType: string) =>
    app.inject({ method: 'POST', url: '/v1/uploads', payload: { key, contentType, contentLength: svg.length }, headers: alice });

  test('regression: an image/* rule does not grant an SVG upload', async () => {
    const response = await upload('images/alice/logo.svg', 'image/svg+xml');
    assert.equal(response.statusCode, 403, response.body);
    assert.match(response.json<{ detail: string }>().detail, /runs script in browsers/);
  });

  test('an SVG allowed by name uploads, and its S3 download arrives as an attachment, never rendered', async () => {
    const response = await upload('logos/alice/logo.svg', 'image/svg+xml');
    assert.equal(response.statusCode, 201, response.body);
    const grant = response.json<{ url: string; headers: Record<string, string> }>();
    assert.equal((await fetch(grant.url, { method: 'PUT', headers: grant.headers, body: svg })).status, 200);
    const downloads = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: ['logos/alice/logo.svg'] },
      headers: alice,
    });
    const [result] = downloads.json<{ results: { url: string }[] }>().results;
    const get = await fetch(result!.url);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-disposition'), 'attachment');
    assert.equal(await get.text(), svg);
  });
});
