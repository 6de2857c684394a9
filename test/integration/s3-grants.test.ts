import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { bearer } from '../helpers/tokens.js';

interface PutGrant {
  url: string;
  headers: Record<string, string>;
  key: string;
}
interface PostGrant {
  url: string;
  fields: Record<string, string>;
  key: string;
}

describe('grants against a real S3 endpoint', () => {
  let endpoint: S3Endpoint;
  let app: FastifyInstance;
  const alice = bearer({ sub: 'alice' });

  before(async () => {
    endpoint = await startS3Endpoint();
    const config = testConfig();
    app = await testApp({ config: { ...config, s3: endpoint.config } });
  });
  after(async () => {
    await app?.close();
    await endpoint?.stop();
  });

  async function putGrant(body: Record<string, unknown>): Promise<PutGrant> {
    const response = await app.inject({ method: 'POST', url: '/v1/uploads', payload: body, headers: alice });
    assert.equal(response.statusCode, 201, response.body);
    return response.json<PutGrant>();
  }

  async function downloadUrl(key: string): Promise<string> {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [key] }, headers: alice });
    const [result] = response.json<{ results: { url?: string; error?: unknown }[] }>().results;
    assert.ok(result?.url, JSON.stringify(result));
    return result.url;
  }

  test('upload with the PUT grant, download with the GET grant: the same bytes come back', async () => {
    const bytes = randomBytes(2048);
    const grant = await putGrant({ contentType: 'application/octet-stream', contentLength: bytes.length, filename: 'blob.bin' });
    const put = await fetch(grant.url, { method: 'PUT', headers: grant.headers, body: bytes });
    assert.equal(put.status, 200, await put.text());
    const get = await fetch(await downloadUrl(grant.key));
    assert.equal(get.status, 200);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), bytes);
    assert.equal(get.headers.get('content-type'), 'application/octet-stream');
  });

  test('keys with spaces, unicode and apostrophes round-trip', async () => {
    const key = "uploads/alice/it's a ünïcode 文件 (1).txt";
    const grant = await putGrant({ contentType: 'text/plain; charset=utf-8', contentLength: 5, key });
    assert.equal((await fetch(grant.url, { method: 'PUT', headers: grant.headers, body: 'hello' })).status, 200);
    const get = await fetch(await downloadUrl(key));
    assert.equal(await get.text(), 'hello');
  });

  test('a download with a filename: S3 answers with the signed Content-Disposition', async () => {
    const grant = await putGrant({ contentType: 'text/plain', contentLength: 5, filename: 'notes.txt' });
    assert.equal((await fetch(grant.url, { method: 'PUT', headers: grant.headers, body: 'hello' })).status, 200);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: [grant.key], filename: 'Résumé 2026.txt' },
      headers: alice,
    });
    const url = response.json<{ results: { url?: string }[] }>().results[0]?.url ?? '';
    const get = await fetch(url);
    assert.equal(get.status, 200, await get.clone().text());
    assert.equal(
      get.headers.get('content-disposition'),
      `attachment; filename="R_sum_ 2026.txt"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.txt`,
    );
    assert.equal(await get.text(), 'hello');
  });

  test('S3 refuses a Content-Type other than the signed one', async () => {
    const grant = await putGrant({ contentType: 'image/png', contentLength: 5 });
    const put = await fetch(grant.url, { method: 'PUT', headers: { ...grant.headers, 'content-type': 'text/html' }, body: 'hello' });
    assert.equal(put.status, 403, await put.text());
  });

  for (const [algorithm, digest] of [
    ['SHA256', (body: Buffer) => createHash('sha256').update(body).digest('base64')],
    [
      'CRC32',
      (body: Buffer) => {
        const value = Buffer.alloc(4);
        value.writeUInt32BE(crc32(body));
        return value.toString('base64');
      },
    ],
  ] as const) {
    test(`a ${algorithm} checksum is signed: the right body lands, another of the same size is refused`, async () => {
      const body = randomBytes(1024);
      const grant = await putGrant({
        contentType: 'application/octet-stream',
        contentLength: body.length,
        checksum: { algorithm, value: digest(body) },
      });
      const wrong = await fetch(grant.url, { method: 'PUT', headers: grant.headers, body: randomBytes(1024) });
      assert.ok(wrong.status >= 400 && wrong.status < 500, `a body with another checksum got ${wrong.status}`);
      const right = await fetch(grant.url, { method: 'PUT', headers: grant.headers, body });
      assert.equal(right.status, 200, await right.text());
      const dropped = await fetch(grant.url, {
        method: 'PUT',
        headers: { ...grant.headers, [`x-amz-checksum-${algorithm.toLowerCase()}`]: digest(randomBytes(8)) },
        body,
      });
      assert.equal(dropped.status, 403, 'the checksum header is signed: another value breaks the signature');
    });
  }

  test('S3 refuses a body longer than the signed Content-Length', async () => {
    const grant = await putGrant({ contentType: 'text/plain', contentLength: 5 });
    const put = await fetch(grant.url, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hello, this is longer' });
    assert.equal(put.status, 403, await put.text());
  });

  test('S3 refuses a tampered signature', async () => {
    const grant = await putGrant({ contentType: 'text/plain', contentLength: 5 });
    const url = new URL(grant.url);
    const signature = url.searchParams.get('X-Amz-Signature') ?? '';
    url.searchParams.set('X-Amz-Signature', `${signature[0] === '0' ? '1' : '0'}${signature.slice(1)}`);
    const put = await fetch(url, { method: 'PUT', headers: grant.headers, body: 'hello' });
    assert.equal(put.status, 403, await put.text());
  });

  test('S3 refuses an expired grant', async () => {
    const grant = await putGrant({ contentType: 'text/plain', contentLength: 5, ttlSeconds: 1 });
    await sleep(2_100);
    const put = await fetch(grant.url, { method: 'PUT', headers: grant.headers, body: 'hello' });
    assert.equal(put.status, 403, await put.text());
  });

  test('a download grant cannot be used to upload', async () => {
    const url = await downloadUrl('uploads/alice/never-written.txt');
    const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(put.status, 403, await put.text());
  });

  async function postGrant(contentType: string, maxBytes: number): Promise<PostGrant> {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType, contentLength: maxBytes, method: 'POST' },
      headers: alice,
    });
    assert.equal(response.statusCode, 201, response.body);
    return response.json<PostGrant>();
  }

  function form(grant: PostGrant, body: Buffer | string, contentType = grant.fields['Content-Type'] ?? ''): FormData {
    const data = new FormData();
    for (const [name, value] of Object.entries(grant.fields)) data.append(name, name === 'Content-Type' ? contentType : value);
    data.append('file', new Blob([body], { type: contentType }));
    return data;
  }

  test('upload with the POST form; the object is there', async () => {
    const grant = await postGrant('image/gif', 100);
    const body = randomBytes(64);
    const post = await fetch(grant.url, { method: 'POST', body: form(grant, body) });
    assert.ok(post.status === 204 || post.status === 201 || post.status === 200, `${post.status} ${await post.text()}`);
    const get = await fetch(await downloadUrl(grant.key));
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), body);
  });

  test('S3 refuses a POST form body above the content-length-range', async () => {
    const grant = await postGrant('image/gif', 100);
    const post = await fetch(grant.url, { method: 'POST', body: form(grant, randomBytes(101)) });
    assert.ok(post.status === 400 || post.status === 403, `${post.status} ${await post.text()}`);
  });

  test('S3 refuses a POST form with another Content-Type', async () => {
    const grant = await postGrant('image/gif', 100);
    const post = await fetch(grant.url, { method: 'POST', body: form(grant, randomBytes(10), 'text/html') });
    assert.equal(post.status, 403, await post.text());
  });
});
