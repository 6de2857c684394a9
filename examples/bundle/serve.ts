import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { cloudfrontOrigin, type S3Config } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { createS3Client } from '../../src/signing/s3-signer.js';
import { solidPng } from '../../test/helpers/png.js';

/*
 * The bundle example (README "Watch a bundle load"): `npm run example:bundle [-- --port N]` puts a few demo
 * images into the broker's bucket, then serves the page (index.html, app.js) on http://localhost:5173.
 * It reads the broker's configuration (loadConfig, .env included), so the images land in the bucket the
 * broker and its edge read, and the page calls the broker's port and loads from the edge's origin.
 * The port is a flag, not PORT: PORT is the broker's own (loadConfig reads it to find the broker).
 */

export const DEFAULT_PORT = 5173;

/** The development policy's bundle (src/policy/development-policy.ts): its cookies open `public/demo/*` at `/public/demo/`. */
export const BUNDLE_ID = 'demo';

/** How big each demo image is, in pixels. */
export const IMAGE_SIZE = { width: 160, height: 100 } as const;

export interface DemoImage {
  readonly key: string;
  readonly colour: readonly [number, number, number];
  /** Whether the bundle's cookies open it; the one that is not shows the edge refusing. */
  readonly inBundle: boolean;
}

/** What the seed puts into the bucket and the page shows. The image outside the bundle exists: its refusal is the cookies' scope. */
export const DEMO_IMAGES: readonly DemoImage[] = [
  { key: 'public/demo/red.png', colour: [220, 38, 38], inBundle: true },
  { key: 'public/demo/green.png', colour: [22, 163, 74], inBundle: true },
  { key: 'public/demo/blue.png', colour: [37, 99, 235], inBundle: true },
  { key: 'public/other/secret.png', colour: [82, 82, 91], inBundle: false },
];

/** Puts the demo images into the bucket (again: a rerun overwrites them with the same bytes). */
export async function seedBundle(s3: S3Config): Promise<void> {
  const client = createS3Client(s3);
  try {
    await Promise.all(
      DEMO_IMAGES.map(({ key, colour }) =>
        client.send(
          new PutObjectCommand({
            Bucket: s3.bucket,
            Key: key,
            Body: solidPng(IMAGE_SIZE.width, IMAGE_SIZE.height, colour),
            ContentType: 'image/png',
          }),
        ),
      ),
    );
  } finally {
    client.destroy();
  }
}

/** Where the page sends its requests. */
export interface ExampleSite {
  /** The broker's base URL: `http://localhost:8080` on the embedded defaults. */
  readonly broker: string;
  /** The distribution the bundle's cookies open: the local edge, `http://localhost:8787`. */
  readonly edge: string;
}

export interface RunningExample {
  /** The page's URL; its origin is the one CORS_ORIGINS must list. */
  readonly url: string;
  close(): Promise<void>;
}

const FILES = new Map([
  ['/', { name: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/app.js', { name: 'app.js', type: 'text/javascript; charset=utf-8' }],
]);

/**
 * Serves the page and its `config.json` (the site and the images). The site is read on every request for
 * `config.json`, so a caller may fill it in after the page is listening (the test's broker must know the
 * page's origin for CORS before it starts).
 */
export async function serveExample(site: ExampleSite, { host = '127.0.0.1', port = DEFAULT_PORT } = {}): Promise<RunningExample> {
  const send = (response: ServerResponse, status: number, type: string, body: string | Buffer): void => {
    // no-store: an edited app.js shows on the next reload.
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  };
  const server = createServer((request, response) => {
    if (request.method !== 'GET') return send(response, 405, 'text/plain', 'only GET\n');
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/config.json') {
      const images = DEMO_IMAGES.map(({ key, inBundle }) => ({ key, inBundle }));
      return send(response, 200, 'application/json', JSON.stringify({ broker: site.broker, edge: site.edge, bundle: BUNDLE_ID, images }));
    }
    const file = FILES.get(path);
    if (file === undefined) return send(response, 404, 'text/plain', 'not found\n');
    // Read on each request, so the page can be edited without a restart.
    readFile(new URL(file.name, import.meta.url)).then(
      (body) => send(response, 200, file.type, body),
      (error: Error) => send(response, 500, 'text/plain', `${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    // localhost, not the listening address: the page, the broker and the edge must share a host for the cookies.
    url: `http://localhost:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function fail(message: string): never {
  process.stderr.write(`example:bundle: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  await import('dotenv/config'); // the broker's .env, as `npm start` reads it
  let port: string;
  try {
    ({ port } = parseArgs({ options: { port: { type: 'string', default: String(DEFAULT_PORT) } } }).values);
  } catch (error) {
    fail(`${(error as Error).message}; usage: npm run example:bundle [-- --port N]`); // an unknown flag: a usage line, not a stack trace
  }
  if (!/^[0-9]+$/u.test(port) || Number(port) > 65_535) fail(`--port ${port} is not a port number`);
  const result = await loadConfig(process.env);
  if (!result.ok) fail(`the broker's configuration is not valid:\n  - ${result.errors.join('\n  - ')}`);
  const { cloudfront, s3, port: brokerPort } = result.config;
  if (cloudfront === undefined) fail('the broker has no CloudFront here (CLOUDFRONT_DOMAIN set empty): bundle cookies need one');

  await seedBundle(s3).catch((error: unknown) =>
    fail(
      `cannot put the demo images into ${s3.bucket} at ${s3.endpoint ?? 'AWS S3'}: ${(error as Error).message}; is \`npm run s3\` running?`,
    ),
  );
  process.stdout.write(`put ${DEMO_IMAGES.map(({ key }) => key).join(', ')} into ${s3.bucket}\n`);

  const page = await serveExample(
    { broker: `http://localhost:${brokerPort}`, edge: cloudfrontOrigin(cloudfront) },
    { port: Number(port) },
  ).catch((error: unknown) => fail(`cannot listen on port ${port}: ${(error as Error).message}`));
  const origin = new URL(page.url).origin;
  process.stdout.write(
    [
      `bundle example at ${page.url} (Ctrl-C stops it)`,
      `  the broker must allow this origin:  CORS_ORIGINS=${origin} npm start`,
      `  open it with a token:               ${page.url}?token=<npm run -s dev-token -- --sub alice>`,
      '',
    ].join('\n'),
  );
}

if (import.meta.main) await main();
