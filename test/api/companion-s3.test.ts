import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { fakeS3Objects } from '../helpers/fake-s3-objects.js';
import { bearer } from '../helpers/tokens.js';

const MIB = 1024 * 1024;
const alice = bearer({ sub: 'alice' });
const bob = bearer({ sub: 'bob' });

describe("Uppy 5's Companion protocol at /s3", async () => {
  const objects = fakeS3Objects();
  const app = await testApp({ config: testConfig(), s3Objects: objects });
  after(() => app.close());

  const create = async (size: string | number = 12 * MIB) => {
    const response = await app.inject({
      method: 'POST',
      url: '/s3/multipart',
      payload: {
        filename: 'clip.mp4',
        type: 'application/octet-stream',
        metadata: { name: 'clip.mp4', type: 'application/octet-stream', size: String(size) },
      },
      headers: alice,
    });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ uploadId: string; key: string }>();
  };
  const at = (uploadId: string, tail: string, key: string) =>
    `/s3/multipart/${encodeURIComponent(uploadId)}${tail}?key=${encodeURIComponent(key)}`;

  test('params: a presigned PUT with the type signed and returned, the key in fields, no Content-Length to set', async () => {
    const response = await app.inject({
      url: '/s3/params?filename=cat.png&type=image%2Fpng&metadata%5Bname%5D=cat.png&metadata%5Bsize%5D=1000',
      headers: alice,
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json<{
      method: string;
      url: string;
      fields: { key: string };
      headers: Record<string, string>;
      expires: number;
    }>();
    assert.equal(body.method, 'PUT');
    assert.match(body.fields.key, /^uploads\/alice\/[0-9a-f-]{36}\/cat\.png$/u);
    assert.deepEqual(body.headers, { 'content-type': 'image/png' });
    assert.ok(body.expires > 0 && body.expires <= 900);
    const url = new URL(body.url);
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host', 'the size is still signed');
  });

  test("regression: without the size in the file's meta, a message Uppy shows, in Companion's shape", async () => {
    const response = await app.inject({ url: '/s3/params?filename=cat.png&type=image%2Fpng', headers: alice });
    assert.equal(response.statusCode, 400);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    const body = response.json<{ message: string; code: string }>();
    assert.match(body.message, /metadata\.size is required/);
    assert.equal(body.code, 'BROKER_VALIDATION');
  });

  test('refusals keep the broker decision and speak Companion: a type the rule refuses, no token, an unknown route', async () => {
    const refused = await app.inject({ url: '/s3/params?filename=x.html&type=text%2Fhtml&metadata%5Bsize%5D=10', headers: alice });
    assert.equal(refused.statusCode, 403);
    assert.match(refused.json<{ message: string }>().message, /runs script/);
    const anonymous = await app.inject({
      method: 'POST',
      url: '/s3/multipart',
      payload: { filename: 'a', type: 'application/octet-stream' },
    });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json<{ code: string }>().code, 'BROKER_UNAUTHENTICATED');
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="access-broker"');
    const unknown = await app.inject({ url: '/s3/sts', headers: alice });
    assert.equal(unknown.statusCode, 404);
    assert.ok('message' in unknown.json<object>(), 'Companion shape inside /s3');
    const outside = await app.inject({ url: '/v2/nothing', headers: alice });
    assert.match(String(outside.headers['content-type']), /^application\/problem\+json/, 'problem+json outside /s3');
  });

  test('the multipart round: create, sign parts one by one and in a batch, list, complete', async () => {
    const { uploadId, key } = await create();
    const part = await app.inject({ url: at(uploadId, '/2', key), headers: alice });
    assert.equal(part.statusCode, 200, part.body);
    const signed = part.json<{ url: string; headers: Record<string, string>; expires: number }>();
    assert.deepEqual(signed.headers, {});
    assert.equal(new URL(signed.url).searchParams.get('partNumber'), '2');
    const batch = await app.inject({ url: `${at(uploadId, '/batch', key)}&partNumbers=1,2`, headers: alice });
    assert.deepEqual(Object.keys(batch.json<{ presignedUrls: Record<string, string> }>().presignedUrls), ['1', '2']);
    objects.addPart(uploadId, { partNumber: 1, etag: '"a"', size: 8 * MIB });
    objects.addPart(uploadId, { partNumber: 2, etag: '"b"', size: 4 * MIB });
    const listed = await app.inject({ url: at(uploadId, '', key), headers: alice });
    assert.deepEqual(listed.json(), [
      { PartNumber: 1, Size: 8 * MIB, ETag: '"a"' },
      { PartNumber: 2, Size: 4 * MIB, ETag: '"b"' },
    ]);
    const completed = await app.inject({
      method: 'POST',
      url: at(uploadId, '/complete', key),
      payload: {
        parts: [
          { PartNumber: 1, ETag: '"a"' },
          { PartNumber: 2, ETag: '"b"' },
        ],
      },
      headers: alice,
    });
    assert.equal(completed.statusCode, 200, completed.body);
    assert.deepEqual(completed.json(), { location: `https://s3.example/bucket/${key}`, key });
  });

  test('abort answers 200 {} (an empty 204 breaks Uppy)', async () => {
    const { uploadId, key } = await create();
    const response = await app.inject({ method: 'DELETE', url: at(uploadId, '', key), headers: alice });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), {});
  });

  test('regression: another caller, or another key beside the id, finds nothing (Companion binds nothing)', async () => {
    const { uploadId, key } = await create();
    objects.calls.length = 0;
    for (const [headers, k] of [
      [bob, key],
      [alice, 'uploads/alice/someone-else.mp4'],
    ] as const) {
      for (const [method, tail] of [
        ['GET', '/1'],
        ['GET', ''],
        ['DELETE', ''],
      ] as const) {
        const response = await app.inject({ method, url: at(uploadId, tail, k), headers });
        assert.equal(response.statusCode, 404, `${method} ${tail}`);
        assert.equal(response.json<{ code: string }>().code, 'BROKER_UPLOAD_NOT_FOUND');
      }
    }
    assert.deepEqual(objects.calls, []);
  });

  test('a size that is not a whole number of bytes is refused with a message', async () => {
    for (const size of ['12.5', '-1', 'big']) {
      const response = await app.inject({
        method: 'POST',
        url: '/s3/multipart',
        payload: { filename: 'clip.mp4', type: 'application/octet-stream', metadata: { size } },
        headers: alice,
      });
      assert.equal(response.statusCode, 400, size);
      assert.match(response.json<{ message: string }>().message, /metadata\.size/);
    }
  });
  // Companion's own routes get the same bad-input corpus as the rest: never a 5xx, always a message for Uppy to show.
  const badInputs: { name: string; method: 'GET' | 'POST' | 'DELETE'; url: string; payload?: string }[] = [
    { name: 'params without filename', method: 'GET', url: '/s3/params?type=image%2Fpng&metadata%5Bsize%5D=1' },
    { name: 'params with an empty type', method: 'GET', url: '/s3/params?filename=a&type=&metadata%5Bsize%5D=1' },
    {
      name: 'params with a type carrying a newline',
      method: 'GET',
      url: '/s3/params?filename=a&type=text%2Fplain%0D%0Ax%3A1&metadata%5Bsize%5D=1',
    },
    {
      name: 'params with a 2000-character meta value',
      method: 'GET',
      url: `/s3/params?filename=a&type=image%2Fpng&metadata%5Bsize%5D=${'9'.repeat(2000)}`,
    },
    { name: 'create with a null body', method: 'POST', url: '/s3/multipart', payload: 'null' },
    {
      name: 'create with metadata as a list',
      method: 'POST',
      url: '/s3/multipart',
      payload: '{"filename":"a","type":"application/octet-stream","metadata":[1]}',
    },
    {
      name: 'create with a size of 1e300',
      method: 'POST',
      url: '/s3/multipart',
      payload: '{"filename":"a","type":"application/octet-stream","metadata":{"size":1e300}}',
    },
    {
      name: 'create with an unknown field',
      method: 'POST',
      url: '/s3/multipart',
      payload: '{"filename":"a","type":"application/octet-stream","bucket":"x"}',
    },
    { name: 'list without a key', method: 'GET', url: '/s3/multipart/u1' },
    { name: 'a part number of 0', method: 'GET', url: '/s3/multipart/u1/0?key=k' },
    { name: 'a part number that is not a number', method: 'GET', url: '/s3/multipart/u1/abc?key=k' },
    { name: 'a batch of part numbers with a gap', method: 'GET', url: '/s3/multipart/u1/batch?key=k&partNumbers=1,,2' },
    {
      name: 'a batch of 101 part numbers',
      method: 'GET',
      url: `/s3/multipart/u1/batch?key=k&partNumbers=${Array.from({ length: 101 }, (_, i) => i + 1).join(',')}`,
    },
    { name: 'complete with no parts', method: 'POST', url: '/s3/multipart/u1/complete?key=k', payload: '{"parts":[]}' },
    {
      name: 'complete with a part number of 10001',
      method: 'POST',
      url: '/s3/multipart/u1/complete?key=k',
      payload: '{"parts":[{"PartNumber":10001,"ETag":"x"}]}',
    },
    {
      name: 'complete an unknown upload',
      method: 'POST',
      url: '/s3/multipart/u1/complete?key=k',
      payload: '{"parts":[{"PartNumber":1,"ETag":"x"}]}',
    },
    { name: 'regression: malformed percent-encoding in the upload id', method: 'GET', url: '/s3/multipart/%E0%A4%A?key=k' },
    { name: 'regression: abort an upload id of 2000 characters', method: 'DELETE', url: `/s3/multipart/${'a'.repeat(2000)}?key=k` },
  ];
  for (const item of badInputs) {
    test(`bad input, ${item.name}: a 4xx in Companion's shape with a message`, async () => {
      const response = await app.inject({
        method: item.method,
        url: item.url,
        headers: { ...alice, ...(item.payload === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(item.payload === undefined ? {} : { payload: item.payload }),
      });
      assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${response.statusCode} ${response.body}`);
      const body = response.json<{ message?: string; code?: string }>();
      assert.ok(typeof body.message === 'string' && body.message.length > 0, response.body);
      assert.match(body.code ?? '', /^BROKER_/u);
    });
  }
});
