import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { CloudFrontConfig } from '../../src/config/config.js';
import { startEdge } from '../../src/edge/start.js';
import { createS3Client } from '../../src/signing/s3-signer.js';
import { testApp } from '../helpers/app.js';
import { cloudfrontKeyPair, testConfig } from '../helpers/config.js';
import { solidPng } from '../helpers/png.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { token } from '../helpers/tokens.js';
import { launchChromium } from './chromium.js';

/** The little of the DOM the page script uses (the project's TypeScript has no DOM library). */
interface PageImage {
  naturalWidth: number;
  onload: (() => void) | null;
  onerror: (() => void) | null;
  src: string;
}
interface PageDocument {
  createElement(tag: 'img'): PageImage;
  body: { append(node: PageImage): void };
}

/**
 * A bundle seen as a user sees it: a page on its own origin asks the broker for bundle cookies
 * (`fetch` with `credentials: 'include'`) and shows the bundle's images from the local CloudFront
 * edge, which checks the cookies as CloudFront does. Every host is `localhost`, as on the embedded
 * defaults: cookies ignore ports, so the broker's cookies reach the edge. The test reads what
 * Chromium rendered (each image's natural size), not only status codes.
 */
describe('bundle cookies in a real browser, through the local edge', () => {
  let endpoint: S3Endpoint;
  let pages: Server;
  let browser: Browser;
  let pageOrigin: string;
  let stack: Stack;
  const images = {
    inside: ['public/demo/red.png', 'public/demo/green.png', 'public/demo/blue.png'],
    later: 'public/demo/later.png',
    outside: 'public/other/secret.png',
  };

  before(async () => {
    endpoint = await startS3Endpoint();
    const s3 = createS3Client(endpoint.config);
    const colours: [number, number, number][] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    for (const [index, key] of [...images.inside, images.later, images.outside].entries()) {
      const png = solidPng(4 + index, 3, colours[index % 3] ?? [0, 0, 0]);
      await s3.send(new PutObjectCommand({ Bucket: endpoint.config.bucket, Key: key, Body: png, ContentType: 'image/png' }));
    }
    s3.destroy();

    pages = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><body></body>'),
    );
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://localhost:${(pages.address() as AddressInfo).port}`;

    const { privateKey } = cloudfrontKeyPair();
    stack = await startStack({ keys: [{ id: 'KTESTKEYPAIR01', privateKey, hashAlgorithm: 'SHA1' }] });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    pages?.close();
    await endpoint?.stop();
  });

  interface Stack {
    readonly broker: string;
    readonly edgeOrigin: string;
    close(): Promise<void>;
  }

  /** A broker and the local edge trusting its key, both on localhost, as `npm start` runs them. */
  async function startStack(ring: Pick<CloudFrontConfig, 'keys'>): Promise<Stack> {
    const base = testConfig({ overrides: { corsOrigins: [pageOrigin] } });
    const cloudfront = { domain: 'localhost', ...ring };
    const edge = await startEdge({
      cloudfront,
      s3: endpoint.config,
      origin: (port) => `http://localhost:${port}`,
      host: '127.0.0.1',
      port: 0,
    });
    const edgeOrigin = `http://localhost:${edge.port}`;
    // A failed start leaves nothing listening: an open edge would keep this file's process, and the run, waiting forever.
    const app = await testApp({
      config: { ...base, s3: endpoint.config, cloudfront: { ...cloudfront, domain: `localhost:${edge.port}`, origin: edgeOrigin } },
    }).catch(async (error: unknown) => {
      await edge.close();
      throw error;
    });
    await app.listen({ host: '127.0.0.1', port: 0 }).catch(async (error: unknown) => {
      await app.close();
      await edge.close();
      throw error;
    });
    return {
      broker: `http://localhost:${(app.server.address() as AddressInfo).port}`,
      edgeOrigin,
      close: async () => {
        await app.close();
        await edge.close();
      },
    };
  }

  /** Each image's natural width as rendered (0: the browser got no image). */
  async function show(page: Page, keys: readonly string[], { edgeOrigin } = stack): Promise<number[]> {
    return page.evaluate(
      async ({ origin, sources }) => {
        const { document } = globalThis as unknown as { document: PageDocument };
        return Promise.all(
          sources.map(
            (source) =>
              new Promise<number>((resolve) => {
                const image = document.createElement('img');
                image.onload = () => resolve(image.naturalWidth);
                image.onerror = () => resolve(0);
                image.src = `${origin}/${source}`;
                document.body.append(image);
              }),
          ),
        );
      },
      { origin: edgeOrigin, sources: [...keys] },
    );
  }

  async function signIn(ttlSeconds?: number, { broker } = stack): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(pageOrigin);
    const status = await page.evaluate(
      async ({ url, bearer }) =>
        (await fetch(url, { method: 'POST', credentials: 'include', headers: { authorization: `Bearer ${bearer}` } })).status,
      {
        url: `${broker}/v1/bundles/demo/cookies${ttlSeconds === undefined ? '' : `?ttlSeconds=${ttlSeconds}`}`,
        bearer: token({ sub: 'alice' }),
      },
    );
    assert.equal(status, 200);
    return { context, page };
  }

  test("the bundle's images render; an image outside the bundle does not", async () => {
    const { context, page } = await signIn();
    assert.deepEqual(await show(page, images.inside), [4, 5, 6]);
    assert.deepEqual(await show(page, [images.outside]), [0]);
    await context.close();
  });

  for (const algorithm of ['RSA-2048 with SHA-256', 'ECDSA P-256 with SHA-256', 'ECDSA P-256 with SHA-1'] as const) {
    test(`${algorithm}: the bundle's images render through an edge trusting that key`, async () => {
      const ecdsa = algorithm.startsWith('ECDSA');
      const privateKey = ecdsa
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
        : cloudfrontKeyPair().privateKey;
      const own = await startStack({
        keys: [
          { id: ecdsa ? 'KECDSATEST01' : 'KTESTKEYPAIR01', privateKey, hashAlgorithm: algorithm.endsWith('SHA-1') ? 'SHA1' : 'SHA256' },
        ],
      });
      try {
        const { context, page } = await signIn(undefined, own);
        assert.deepEqual(await show(page, images.inside, own), [4, 5, 6]);
        assert.deepEqual(await show(page, [images.outside], own), [0]);
        await context.close();
      } finally {
        await own.close();
      }
    });
  }

  test('without the cookies nothing renders', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(pageOrigin);
    assert.deepEqual(await show(page, images.inside), [0, 0, 0]);
    await context.close();
  });

  test('a tampered cookie is refused by the edge', async () => {
    const { context, page } = await signIn();
    const cookies = await context.cookies(`${stack.edgeOrigin}/public/demo/`); // the bundle's cookie path
    const signature = cookies.find((cookie) => cookie.name === 'CloudFront-Signature');
    assert.ok(signature, JSON.stringify(cookies.map((cookie) => cookie.name)));
    const flipped = `${signature.value.startsWith('A') ? 'B' : 'A'}${signature.value.slice(1)}`;
    await context.addCookies([{ ...signature, value: flipped }]);
    assert.deepEqual(await show(page, images.inside), [0, 0, 0]);
    // The same cookie put back opens an image not seen yet: the refusal was the signature's, not a lost cookie.
    await context.addCookies([signature]);
    assert.deepEqual(await show(page, [images.later]), [7]);
    await context.close();
  });

  test('an expired session shows nothing more', async () => {
    const { context, page } = await signIn(2);
    assert.deepEqual(await show(page, [images.inside[0] ?? '']), [4]);
    await sleep(3_000);
    assert.deepEqual(await show(page, [images.later]), [0]);
    await context.close();
  });
});
