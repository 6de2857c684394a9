import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { token } from '../helpers/tokens.js';
import { launchChromium } from './chromium.js';

/**
 * Stock Uppy, both majors in the field, in Debian's headless Chromium:
 * 5.x through the broker's /s3 routes (Companion's protocol), 6.x through
 * `signRequest` and the broker's /v1/uploads/uppy-sign. Each uploads a small
 * file (one PUT) and a 12 MiB one (multipart); the test reads both back from
 * S3 and compares the bytes.
 */
const MIB = 1024 * 1024;
const here = new URL('.', import.meta.url).pathname;

const bytesOf = (size: number, seed: number): Buffer => {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
};

interface PageResult {
  successful: { name: string }[];
  failed: { name: string; error: string }[];
}

async function bundle(major: 5 | 6): Promise<string> {
  const result = await build({
    entryPoints: [join(here, `uppy${major}`, 'page.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const [file] = result.outputFiles;
  assert.ok(file, 'esbuild made no bundle');
  return file.text;
}

describe('stock Uppy in a real browser, through the broker', () => {
  let endpoint: S3Endpoint;
  let s3: S3Client;
  let app: FastifyInstance;
  let broker: string;
  let pages: Server;
  let pageOrigin: string;
  let browser: Browser;
  const scripts = new Map<string, string>();

  before(async () => {
    for (const major of [5, 6] as const) {
      if (!existsSync(join(here, `uppy${major}`, 'node_modules')))
        throw new Error(`run npm ci --prefix test/browser/uppy${major} (.ci/run does)`);
      scripts.set(`/uppy${major}.js`, await bundle(major));
    }
    pages = createServer((request, response) => {
      const script = scripts.get(request.url ?? '');
      if (script) return response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      const major = /^\/uppy(\d)\.html$/u.exec(request.url ?? '')?.[1];
      if (major)
        return response
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<!doctype html><script type="module" src="/uppy${major}.js"></script>`);
      return response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;

    endpoint = await startS3Endpoint();
    const { config } = endpoint;
    s3 = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: true,
      ...(config.credentials ? { credentials: config.credentials } : {}),
    });
    // What a production bucket needs for browser uploads: PUT from the page's origin, and ETag readable.
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: config.bucket,
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: [pageOrigin],
              AllowedMethods: ['GET', 'PUT', 'POST', 'HEAD'],
              AllowedHeaders: ['*'],
              ExposeHeaders: ['ETag'],
            },
          ],
        },
      }),
    );
    app = await testApp({ config: { ...testConfig({ overrides: { corsOrigins: [pageOrigin] } }), s3: config } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    broker = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    s3?.destroy();
    await endpoint?.stop();
    pages?.close();
  });

  async function open(major: 5 | 6): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${pageOrigin}/uppy${major}.html`);
    await page.waitForFunction(() => 'uploadWithUppy' in globalThis);
    return page;
  }

  async function stored(name: string): Promise<Buffer> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: endpoint.config.bucket, Prefix: 'uploads/alice/' }));
    const key = listed.Contents?.map((object) => object.Key ?? '').find((candidate) => candidate.endsWith(`/${name}`));
    assert.ok(key, `no object named ${name} in the bucket`);
    const object = await s3.send(new GetObjectCommand({ Bucket: endpoint.config.bucket, Key: key }));
    return Buffer.from(await (object.Body?.transformToByteArray() ?? new Uint8Array()));
  }

  for (const major of [5, 6] as const) {
    test(`Uppy ${major}: a small file (one PUT) and 12 MiB (multipart) land in S3 with the same bytes`, async () => {
      const page = await open(major);
      const files = [
        { name: `small-${major}.png`, size: 48_213, type: 'image/png', seed: major },
        { name: `large-${major}.bin`, size: 12 * MIB, type: 'application/octet-stream', seed: major + 10 },
      ];
      const result = await page.evaluate(
        async (args) => (globalThis as unknown as { uploadWithUppy: (a: typeof args) => Promise<PageResult> }).uploadWithUppy(args),
        { broker, token: token({ sub: 'alice' }), files },
      );
      assert.deepEqual(result.failed, []);
      assert.equal(result.successful.length, 2);
      for (const file of files) assert.ok((await stored(file.name)).equals(bytesOf(file.size, file.seed)), `${file.name} differs in S3`);
      await page.close();
    });
  }

  test("regression: in the browser, another caller's upload id is refused, for both majors", async () => {
    const started = await app.inject({
      method: 'POST',
      url: '/v1/uploads/multipart',
      payload: { contentType: 'application/octet-stream', contentLength: 12 * MIB },
      headers: { authorization: `Bearer ${token({ sub: 'alice' })}` },
    });
    const { uploadId, key } = started.json<{ uploadId: string; key: string }>();
    const page = await open(6);
    const answers = await page.evaluate(
      async ({ broker: origin, bob, id, objectKey }) => {
        const headers = { authorization: `Bearer ${bob}`, 'content-type': 'application/json' };
        const companion = await fetch(`${origin}/s3/multipart/${encodeURIComponent(id)}/1?key=${encodeURIComponent(objectKey)}`, {
          headers,
        });
        const signer = await fetch(`${origin}/v1/uploads/uppy-sign`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ method: 'PUT', key: objectKey, uploadId: id, partNumber: 1 }),
        });
        return [companion.status, (await companion.json()) as { message?: string }, signer.status] as const;
      },
      { broker, bob: token({ sub: 'bob' }), id: uploadId, objectKey: key },
    );
    assert.equal(answers[0], 404);
    assert.match(answers[1].message ?? '', /no multipart upload/);
    assert.equal(answers[2], 404);
    await page.close();
  });
});
