import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import { createEdgeServer } from '../../src/edge/server.js';
import type { PolicyDocument } from '../../src/policy/schema.js';
import { createS3Client } from '../../src/signing/s3-signer.js';
import { testApp } from '../helpers/app.js';
import { cloudfrontKeyPair, testConfig } from '../helpers/config.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { bearer } from '../helpers/tokens.js';

/**
 * The broker signs CloudFront URLs and cookies for the edge's own host (CLOUDFRONT_DOMAIN=127.0.0.1:<port>),
 * the edge verifies them as CloudFront would and serves the object from a real S3 endpoint.
 */
describe('grants fetched through the local CloudFront edge', () => {
  let endpoint: S3Endpoint;
  let edge: Server;
  let app: FastifyInstance;
  let edgeHost: string;
  const alice = bearer({ sub: 'alice' });
  const blob = randomBytes(64 * 1024 + 7);
  const keys = { blob: 'public/edge/blob.bin', unicode: "public/edge/it's a ünïcode 文件 (1).txt", bundled: 'public/demo/intro.txt' };

  before(async () => {
    endpoint = await startS3Endpoint();
    const client = createS3Client(endpoint.config);
    await client.send(
      new PutObjectCommand({ Bucket: endpoint.config.bucket, Key: keys.blob, Body: blob, ContentType: 'application/octet-stream' }),
    );
    await client.send(
      new PutObjectCommand({ Bucket: endpoint.config.bucket, Key: keys.unicode, Body: 'hello', ContentType: 'text/plain' }),
    );
    await client.send(
      new PutObjectCommand({ Bucket: endpoint.config.bucket, Key: keys.bundled, Body: 'in the bundle', ContentType: 'text/plain' }),
    );
    client.destroy();

    const config = testConfig({ cloudfront: true });
    const cloudfront = config.cloudfront;
    assert.ok(cloudfront);
    edge = createEdgeServer({
      // Filled in once the port is known: the distribution is the edge's own host.
      get origin() {
        return `https://${edgeHost}`;
      },
      keyGroup: new Map([[cloudfront.keys[0].id, cloudfrontKeyPair().publicKey]]),
      s3: endpoint.config,
    });
    await new Promise<void>((resolve) => edge.listen(0, '127.0.0.1', resolve));
    edgeHost = `127.0.0.1:${(edge.address() as AddressInfo).port}`;
    app = await testApp({ config: { ...config, s3: endpoint.config, cloudfront: { ...cloudfront, domain: edgeHost } } });
  });
  after(async () => {
    await app?.close();
    edge?.closeAllConnections();
    await new Promise((resolve) => (edge ? edge.close(resolve) : resolve(undefined)));
    await endpoint?.stop();
  });

  /** The broker signs https://<edge host>/...; locally the edge speaks plain HTTP on that host. */
  const overHttp = (url: string): string => url.replace(/^https:/u, 'http:');

  async function downloadUrl(key: string): Promise<string> {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [key] }, headers: alice });
    const [result] = response.json<{ results: { url?: string; error?: unknown }[] }>().results;
    assert.ok(result?.url, JSON.stringify(result));
    assert.ok(result.url.startsWith(`https://${edgeHost}/`), result.url);
    return overHttp(result.url);
  }

  test('a download URL from the broker gets 200 and the same bytes, with the object headers', async () => {
    const response = await fetch(await downloadUrl(keys.blob));
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), blob);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    assert.equal(response.headers.get('content-length'), String(blob.length));
    assert.match(response.headers.get('etag') ?? '', /^"[0-9a-f]{32}"$/u);
    assert.ok(response.headers.get('last-modified'));
  });

  test('a key with spaces, unicode and an apostrophe comes back through its encoded path', async () => {
    const response = await fetch(await downloadUrl(keys.unicode));
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'hello');
  });

  test('a filename asked for comes back as the Content-Disposition, through the edge from S3', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: [keys.blob], filename: "l'été (1).bin" },
      headers: alice,
    });
    const url = response.json<{ results: { url?: string }[] }>().results[0]?.url ?? '';
    const get = await fetch(overHttp(url));
    assert.equal(get.status, 200);
    assert.equal(
      get.headers.get('content-disposition'),
      `attachment; filename="l'_t_ (1).bin"; filename*=UTF-8''l%27%C3%A9t%C3%A9%20%281%29.bin`,
    );
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), blob);
  });

  test("a URL bound to the caller's address opens from it; one that starts later is refused until then", async () => {
    const grant = async (payload: Record<string, unknown>): Promise<string> => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/downloads',
        payload: { keys: [keys.blob], ...payload },
        headers: alice,
        remoteAddress: '127.0.0.1',
      });
      return overHttp(response.json<{ results: { url?: string }[] }>().results[0]?.url ?? '');
    };
    const bound = await fetch(await grant({ bindToCallerIp: true }));
    assert.equal(bound.status, 200);
    assert.deepEqual(Buffer.from(await bound.arrayBuffer()), blob);
    const later = await fetch(await grant({ notBefore: new Date(Date.now() + 120_000).toISOString() }));
    assert.equal(later.status, 403);
    assert.match(await later.text(), /<Code>AccessDenied<\/Code>/u);
  });

  test('a Range request gets 206 with exactly that slice', async () => {
    const response = await fetch(await downloadUrl(keys.blob), { headers: { range: 'bytes=1000-1999' } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), `bytes 1000-1999/${blob.length}`);
    assert.equal(response.headers.get('content-length'), '1000');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), blob.subarray(1000, 2000));
  });

  test('HEAD answers the headers without a body', async () => {
    const response = await fetch(await downloadUrl(keys.blob), { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(blob.length));
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    assert.equal((await response.arrayBuffer()).byteLength, 0);
  });

  test('a conditional GET with the current ETag gets 304', async () => {
    const url = await downloadUrl(keys.blob);
    const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag') ?? '';
    const response = await fetch(url, { headers: { 'if-none-match': etag } });
    assert.equal(response.status, 304);
    assert.equal((await response.arrayBuffer()).byteLength, 0);
    // S3 also sends the ETag with a 304 and the edge passes it on; LocalStack sends none, so it is not asserted here.
    assert.equal((await fetch(url, { headers: { 'if-none-match': '"0123456789abcdef0123456789abcdef"' } })).status, 200);
  });

  test('a tampered URL gets 403 with CloudFront-like XML that does not repeat the signature', async () => {
    const url = new URL(await downloadUrl(keys.blob));
    const signature = url.searchParams.get('Signature') ?? '';
    const tampered = url.href.replace(signature, `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`);
    const response = await fetch(tampered);
    assert.equal(response.status, 403);
    assert.equal(response.headers.get('content-type'), 'text/xml');
    const body = await response.text();
    assert.match(body, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>[^<]+<\/Message><\/Error>$/u);
    assert.ok(!body.includes(signature.slice(1, 20)));
  });

  test('an unsigned request and a URL for another key are refused', async () => {
    assert.equal((await fetch(`http://${edgeHost}/${keys.blob}`)).status, 403);
    const url = await downloadUrl(keys.blob);
    assert.equal((await fetch(url.replace('blob.bin', 'other.bin'))).status, 403);
  });

  test('POST, PUT and DELETE get 405 with Allow, even with a valid signature', async () => {
    const url = await downloadUrl(keys.blob);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const response = await fetch(url, { method, body: method === 'DELETE' ? null : 'x' });
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.get('allow'), 'GET, HEAD');
      assert.match(await response.text(), /<Code>MethodNotAllowed<\/Code>/u);
    }
  });

  test("a missing object is the origin's 404, passed on", async () => {
    const response = await fetch(await downloadUrl('public/edge/never-written.txt'));
    assert.equal(response.status, 404);
    assert.match(await response.text(), /<Code>NoSuchKey<\/Code>/u);
  });

  test('bundle cookies from the broker open the files in the bundle, and only those', async () => {
    const granted = await app.inject({ method: 'POST', url: '/v1/bundles/demo/cookies', headers: alice });
    assert.equal(granted.statusCode, 200, granted.body);
    const cookie = granted.cookies.map(({ name, value }) => `${name}=${value}`).join('; ');
    assert.match(cookie, /CloudFront-Policy=.+; CloudFront-Signature=.+; CloudFront-Key-Pair-Id=KTESTKEYPAIR01/u);
    const inside = await fetch(`http://${edgeHost}/public/demo/intro.txt`, { headers: { cookie } });
    assert.equal(inside.status, 200);
    assert.equal(await inside.text(), 'in the bundle');
    const ranged = await fetch(`http://${edgeHost}/public/demo/intro.txt`, { headers: { cookie, range: 'bytes=3-5' } });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), 'the');
    const outside = await fetch(`http://${edgeHost}/${keys.blob}`, { headers: { cookie } });
    assert.equal(outside.status, 403);
    assert.match(await outside.text(), /outside the policy Resource/u);
  });
});

describe('every CloudFront signing algorithm, end to end through the edge', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const algorithms = [
    { name: 'RSA-2048 with SHA-1', keyPairId: 'KTESTKEYPAIR01', ...cloudfrontKeyPair(), hashAlgorithm: 'SHA1' as const },
    { name: 'RSA-2048 with SHA-256', keyPairId: 'KTESTKEYPAIR01', ...cloudfrontKeyPair(), hashAlgorithm: 'SHA256' as const },
    {
      name: 'ECDSA P-256 with SHA-256',
      keyPairId: 'KECDSATEST01',
      privateKey: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      hashAlgorithm: 'SHA256' as const,
    },
  ];
  let endpoint: S3Endpoint;
  const alice = bearer({ sub: 'alice' });
  const key = 'public/demo/algorithms.txt';

  before(async () => {
    endpoint = await startS3Endpoint();
    const client = createS3Client(endpoint.config);
    await client.send(
      new PutObjectCommand({ Bucket: endpoint.config.bucket, Key: key, Body: 'signed three ways', ContentType: 'text/plain' }),
    );
    client.destroy();
  });
  after(() => endpoint?.stop());

  for (const algorithm of algorithms) {
    test(`${algorithm.name}: a download URL and bundle cookies from the broker open the object at the edge; tampering does not`, async () => {
      let host = '';
      const edge = createEdgeServer({
        get origin() {
          return `https://${host}`;
        },
        keyGroup: new Map([[algorithm.keyPairId, algorithm.publicKey]]),
        s3: endpoint.config,
      });
      await new Promise<void>((resolve) => edge.listen(0, '127.0.0.1', resolve));
      host = `127.0.0.1:${(edge.address() as AddressInfo).port}`;
      const { keyPairId, privateKey, hashAlgorithm } = algorithm;
      const app = await testApp({
        config: {
          ...testConfig(),
          s3: endpoint.config,
          cloudfront: { domain: host, keys: [{ id: keyPairId, privateKey, hashAlgorithm }] },
        },
      });
      try {
        const granted = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [key] }, headers: alice });
        const url = granted.json<{ results: { url?: string }[] }>().results[0]?.url ?? '';
        assert.equal(new URL(url).searchParams.get('Hash-Algorithm'), hashAlgorithm === 'SHA256' ? 'SHA256' : null);
        const viaUrl = await fetch(url.replace(/^https:/u, 'http:'));
        assert.equal(viaUrl.status, 200);
        assert.equal(await viaUrl.text(), 'signed three ways');
        const tampered = await fetch(
          url.replace(/^https:/u, 'http:').replace(/Signature=(.)/u, (_, first: string) => `Signature=${first === 'A' ? 'B' : 'A'}`),
        );
        assert.equal(tampered.status, 403);

        const cookies = await app.inject({ method: 'POST', url: '/v1/bundles/demo/cookies', headers: alice });
        assert.equal(cookies.statusCode, 200, cookies.body);
        const cookie = cookies.cookies.map(({ name, value }) => `${name}=${value}`).join('; ');
        const viaCookies = await fetch(`http://${host}/${key}`, { headers: { cookie } });
        assert.equal(viaCookies.status, 200);
        assert.equal(await viaCookies.text(), 'signed three ways');
        const otherKeyGroup = await fetch(`http://${host}/${key}`, { headers: { cookie: cookie.replace(keyPairId, 'KSOMEONEELSE1') } });
        assert.equal(otherKeyGroup.status, 403);
      } finally {
        await app.close();
        edge.closeAllConnections();
        await new Promise((resolve) => edge.close(resolve));
      }
    });
  }
});

describe("a rule's conditions, judged by the edge", () => {
  let endpoint: S3Endpoint;
  let edge: Server;
  let app: FastifyInstance;
  let host = '';
  const alice = bearer({ sub: 'alice' });
  const inAMinute = new Date(Date.now() + 60_000).toISOString();
  const policy: PolicyDocument = {
    version: 1,
    rules: [
      { id: 'elsewhere', actions: ['read'], resources: ['conditions/office/*'], conditions: { sourceIp: '203.0.113.0/24' } },
      { id: 'here', actions: ['read'], resources: ['conditions/local/*'], conditions: { sourceIp: '127.0.0.0/8' } },
      { id: 'mine', actions: ['read'], resources: ['conditions/mine/*'], conditions: { bindToCallerIp: true } },
      { id: 'embargo', actions: ['read'], resources: ['conditions/press/*'], conditions: { notBefore: inAMinute } },
    ],
  };
  const objects = ['conditions/office/a.txt', 'conditions/local/a.txt', 'conditions/mine/a.txt', 'conditions/press/a.txt'];

  before(async () => {
    endpoint = await startS3Endpoint();
    const client = createS3Client(endpoint.config);
    for (const key of objects) {
      await client.send(new PutObjectCommand({ Bucket: endpoint.config.bucket, Key: key, Body: key, ContentType: 'text/plain' }));
    }
    client.destroy();
    const config = testConfig({ cloudfront: true, policy });
    const [signingKey] = config.cloudfront?.keys ?? [];
    assert.ok(signingKey);
    edge = createEdgeServer({
      get origin() {
        return `https://${host}`;
      },
      keyGroup: new Map([[signingKey.id, cloudfrontKeyPair().publicKey]]),
      s3: endpoint.config,
    });
    await new Promise<void>((resolve) => edge.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(edge.address() as AddressInfo).port}`;
    app = await testApp({ config: { ...config, s3: endpoint.config, cloudfront: { domain: host, keys: [signingKey] } } });
  });
  after(async () => {
    await app?.close();
    edge?.closeAllConnections();
    await new Promise((resolve) => (edge ? edge.close(resolve) : resolve(undefined)));
    await endpoint?.stop();
  });

  test('a range that holds the client opens; one that does not, a start still ahead and an address bound to someone else do not', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: objects },
      headers: alice,
      remoteAddress: '127.0.0.1',
    });
    const urls = response.json<{ results: { url?: string }[] }>().results.map((result) => (result.url ?? '').replace(/^https:/u, 'http:'));
    const statuses = await Promise.all(urls.map(async (url) => (await fetch(url)).status));
    assert.deepEqual(statuses, [403, 200, 200, 403]);
    assert.match(await (await fetch(urls[0] ?? '')).text(), /the client address is outside the policy IpAddress/u);
    assert.match(await (await fetch(urls[3] ?? '')).text(), /the grant is not valid until after/u);

    const boundElsewhere = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: ['conditions/mine/a.txt'] },
      headers: alice,
      remoteAddress: '198.51.100.7',
    });
    const url = boundElsewhere.json<{ results: { url?: string }[] }>().results[0]?.url ?? '';
    assert.equal((await fetch(url.replace(/^https:/u, 'http:'))).status, 403);
  });
});
