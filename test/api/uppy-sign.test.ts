import assert from 'node:assert/strict';
import { after, beforeEach, describe, test } from 'node:test';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { fakeS3Objects } from '../helpers/fake-s3-objects.js';
import { bearer } from '../helpers/tokens.js';

const MIB = 1024 * 1024;
const alice = bearer({ sub: 'alice' });
const bob = bearer({ sub: 'bob' });

interface Signed {
  url: string;
  headers?: Record<string, string>;
  key?: string;
}

/** The XML Uppy reads from a data: URL, as Uppy would fetch it. */
const xmlOf = (url: string): string => {
  assert.match(url, /^data:application\/xml,/u);
  return decodeURIComponent(url.slice('data:application/xml,'.length));
};

describe("Uppy 6's signRequest at /v1/uploads/uppy-sign", async () => {
  const objects = fakeS3Objects();
  const app = await testApp({ config: testConfig(), s3Objects: objects });
  after(() => app.close());
  beforeEach(() => {
    objects.calls.length = 0;
  });

  const sign = (payload: Record<string, unknown>, headers = alice) =>
    app.inject({ method: 'POST', url: '/v1/uploads/uppy-sign', payload, headers });
  const create = async (size = 12 * MIB) => {
    const response = await sign({ method: 'POST', key: 'clip.mp4', contentType: 'application/octet-stream', size, filename: 'clip.mp4' });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json<Signed>();
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/u.exec(xmlOf(body.url))?.[1];
    assert.ok(uploadId && body.key);
    return { uploadId, key: body.key };
  };

  test("PUT: the broker's key, not the page's, with its size and type signed and no Content-Length for the browser to set", async () => {
    const response = await sign({ method: 'PUT', key: '../../etc/passwd', contentType: 'image/png', size: 1000, filename: 'cat.png' });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json<Signed>();
    assert.match(body.key ?? '', /^uploads\/alice\/[0-9a-f-]{36}\/cat\.png$/u);
    const url = new URL(body.url);
    assert.ok(url.pathname.endsWith(`/${body.key}`), url.pathname);
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host');
    assert.deepEqual(body.headers, { 'content-type': 'image/png' });
  });

  test('PUT and create without the size are refused with a message that says where it comes from', async () => {
    for (const method of ['PUT', 'POST']) {
      const response = await sign({ method, key: 'a.png', contentType: 'image/png' });
      assert.equal(response.statusCode, 400, method);
      assert.equal(response.json<{ code: string }>().code, 'BROKER_VALIDATION');
      assert.match(response.json<{ detail: string }>().detail, /size is required/u);
    }
    assert.deepEqual(objects.calls, []);
  });

  test('the policy still decides: a type that runs script and a size beyond the rule are refused before S3 hears of them', async () => {
    const html = await sign({ method: 'PUT', key: 'x.html', contentType: 'text/html', size: 10 });
    assert.equal(html.statusCode, 403, html.body);
    const huge = await sign({ method: 'POST', key: 'x.mp4', contentType: 'application/octet-stream', size: 6 * 1024 ** 4 });
    assert.ok(huge.statusCode === 400 || huge.statusCode === 403, huge.body);
    assert.deepEqual(objects.calls, []);
  });

  test('the multipart round: create, a part URL, list, complete with what S3 holds, abort', async () => {
    const { uploadId, key } = await create();
    assert.deepEqual(objects.calls, [`create ${key}`]);
    const part = await sign({ method: 'PUT', key, uploadId, partNumber: 2 });
    assert.equal(part.statusCode, 200, part.body);
    const partUrl = new URL(part.json<Signed>().url);
    assert.equal(partUrl.searchParams.get('partNumber'), '2');
    assert.equal(partUrl.searchParams.get('uploadId'), uploadId);
    objects.addPart(uploadId, { partNumber: 1, etag: '"a"', size: 8 * MIB });
    objects.addPart(uploadId, { partNumber: 2, etag: '"b"', size: 4 * MIB });
    const listed = xmlOf((await sign({ method: 'GET', key, uploadId })).json<Signed>().url);
    assert.match(listed, /<Part><PartNumber>1<\/PartNumber><ETag>&#34;a&#34;<\/ETag><Size>8388608<\/Size><\/Part>/u);
    const completed = await sign({ method: 'POST', key, uploadId });
    assert.equal(completed.statusCode, 200, completed.body);
    assert.match(xmlOf(completed.json<Signed>().url), new RegExp(`<Key>${key}</Key>`, 'u'));
    assert.ok(objects.calls.includes(`head ${key}`), 'the finished size is checked');

    const second = await create();
    const aborted = await sign({ method: 'DELETE', key: second.key, uploadId: second.uploadId });
    assert.equal(aborted.statusCode, 200);
    assert.equal(aborted.json<Signed>().url, 'data:application/xml,');
    assert.ok(objects.calls.includes(`abort ${second.key} ${second.uploadId}`));
  });

  test('a completed object larger than its grant is deleted and refused', async () => {
    const { uploadId, key } = await create(6 * MIB);
    objects.addPart(uploadId, { partNumber: 1, etag: '"a"', size: 6 * MIB });
    objects.completedSize = 7 * MIB;
    try {
      const response = await sign({ method: 'POST', key, uploadId });
      assert.equal(response.statusCode, 422, response.body);
      assert.equal(response.json<{ code: string }>().code, 'BROKER_UPLOAD_REJECTED');
      assert.equal(objects.objects.has(key), false);
    } finally {
      objects.completedSize = undefined;
    }
  });

  test('another caller, another key beside the id, or a made-up id finds nothing, and S3 hears nothing', async () => {
    const { uploadId, key } = await create();
    objects.calls.length = 0;
    const attempts: [typeof alice, Record<string, unknown>][] = [];
    for (const method of ['PUT', 'GET', 'POST', 'DELETE']) {
      const extra = method === 'PUT' ? { partNumber: 1 } : {};
      attempts.push([bob, { method, key, uploadId, ...extra }]);
      attempts.push([alice, { method, key: 'uploads/alice/other.mp4', uploadId, ...extra }]);
      attempts.push([alice, { method, key, uploadId: 'made-up', ...extra }]);
    }
    for (const [headers, payload] of attempts) {
      const response = await sign(payload, headers);
      assert.equal(response.statusCode, 404, JSON.stringify(payload));
      assert.equal(response.json<{ code: string }>().code, 'BROKER_UPLOAD_NOT_FOUND');
    }
    assert.deepEqual(objects.calls, []);
  });

  test('requests Uppy never makes are refused: a part without its number, GET or DELETE without an upload id', async () => {
    const { uploadId, key } = await create();
    objects.calls.length = 0;
    const noNumber = await sign({ method: 'PUT', key, uploadId });
    assert.equal(noNumber.statusCode, 400);
    assert.match(noNumber.json<{ detail: string }>().detail, /partNumber/u);
    for (const method of ['GET', 'DELETE']) {
      const response = await sign({ method, key });
      assert.equal(response.statusCode, 400, method);
      assert.match(response.json<{ detail: string }>().detail, /needs an uploadId/u);
    }
    assert.deepEqual(objects.calls, []);
  });

  test('without a token: 401 with the bearer challenge', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/uploads/uppy-sign', payload: { method: 'PUT', key: 'a', size: 1 } });
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="access-broker"');
  });

  test('XML answers escape what S3 would: a key with markup stays one text node', async () => {
    const { uploadId, key } = await create();
    objects.addPart(uploadId, { partNumber: 1, etag: '"<&>"', size: 1 });
    const listed = xmlOf((await sign({ method: 'GET', key, uploadId })).json<Signed>().url);
    assert.ok(listed.includes('<ETag>&#34;&#60;&#38;&#62;&#34;</ETag>'), listed);
  });
});
