import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DEMO_IMAGES, IMAGE_SIZE, seedBundle, serveExample, type RunningExample } from '../../examples/bundle/serve.js';
import { localEdgeDistribution } from '../../src/config/load.js';
import { startEdge, type RunningEdge } from '../../src/edge/start.js';
import { testApp, type FastifyInstance } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { token } from '../helpers/tokens.js';
import { launchChromium } from './chromium.js';

/** The little of the DOM read here (the project's TypeScript has no DOM library). */
interface PageItem {
  dataset: { state?: string };
  querySelector(selector: 'img'): { naturalWidth: number; alt: string } | null;
}

/**
 * The README's "Watch a bundle load", as a user does it: the example's own server (seeding the demo images,
 * serving the page), a broker and the local edge on localhost, and the page driven by its buttons in Chromium.
 * It checks what the page shows: each image's natural size and the state it reports.
 */
describe('examples/bundle: the page shows a bundle loading through the local edge', () => {
  let endpoint: S3Endpoint;
  let edge: RunningEdge;
  let app: FastifyInstance;
  let example: RunningExample;
  let browser: Browser;
  const site = { broker: '', edge: '' }; // filled in once the broker and the edge listen

  before(async () => {
    endpoint = await startS3Endpoint();
    await seedBundle(endpoint.config);
    // The page listens first: the broker needs its origin for CORS; the page reads `site` only when loaded.
    example = await serveExample(site, { port: 0 });
    const base = testConfig({ cloudfront: true, overrides: { corsOrigins: [new URL(example.url).origin], s3: endpoint.config } });
    assert.ok(base.cloudfront);
    edge = await startEdge({
      cloudfront: base.cloudfront,
      s3: endpoint.config,
      origin: (port) => localEdgeDistribution(port).origin,
      host: '127.0.0.1',
      port: 0,
    });
    // As `npm start` runs them: the broker signs for the edge at localhost:<port>, where its cookies reach.
    app = await testApp({ config: { ...base, cloudfront: { ...base.cloudfront, ...localEdgeDistribution(edge.port) } } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    site.broker = `http://localhost:${(app.server.address() as AddressInfo).port}`;
    site.edge = localEdgeDistribution(edge.port).origin;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await edge?.close();
    await example?.close();
    await endpoint?.stop();
  });

  /** Each image's state as the page reports it, and its natural width as Chromium rendered it, by key. */
  async function shown(page: Page): Promise<Record<string, { state: string | undefined; width: number | undefined }>> {
    await page.locator('#images[aria-busy="false"]').waitFor();
    const items = await page.locator('#images li').evaluateAll((elements) =>
      elements.map((element) => {
        const item = element as unknown as PageItem;
        const image = item.querySelector('img');
        return [image?.alt ?? '', { state: item.dataset.state, width: image?.naturalWidth }] as const;
      }),
    );
    return Object.fromEntries(items);
  }

  const expected = (inside: 'loaded' | 'refused') =>
    Object.fromEntries(
      DEMO_IMAGES.map(({ key, inBundle }) => [
        key,
        inBundle && inside === 'loaded' ? { state: 'loaded', width: IMAGE_SIZE.width } : { state: 'refused', width: 0 },
      ]),
    );

  test('the bundle opens with its cookies, the image outside it stays refused, and clearing closes it again', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${example.url}?token=${token({ sub: 'alice' })}`);
    assert.deepEqual(await shown(page), expected('refused'), 'no cookies yet');
    assert.ok(!new URL(page.url()).searchParams.has('token'), 'the token leaves the address bar');

    await page.getByRole('button', { name: 'Get bundle cookies' }).click();
    assert.deepEqual(await shown(page), expected('loaded'));
    assert.match((await page.locator('#status').textContent()) ?? '', /^Cookies set for http:\/\/localhost:\d+\/public\/demo\/\*/u);

    await page.getByRole('button', { name: 'Clear cookies' }).click();
    assert.deepEqual(await shown(page), expected('refused'));
    assert.equal(await page.locator('#status').textContent(), 'Cookies cleared.');
    await context.close();
  });

  test('a broker refusal is said on the page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${example.url}?token=not-a-token`);
    await page.getByRole('button', { name: 'Get bundle cookies' }).click();
    assert.deepEqual(await shown(page), expected('refused'));
    assert.match((await page.locator('#status').textContent()) ?? '', /^The broker refused: 401 /u);
    await context.close();
  });
});
