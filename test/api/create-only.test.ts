import assert from 'node:assert/strict';
import { after, beforeEach, describe, test } from 'node:test';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { fakeS3Objects } from '../helpers/fake-s3-objects.js';
import { bearer } from '../helpers/tokens.js';

const MIB = 1024 * 1024;
const alice = bearer({ sub: 'alice' });

/** Every way the broker grants an upload carries a create-only rule's condition; S3's refusals are in test/integration. */
describe('create-only grants through every upload route', async () => {
  const objects = fakeS3Objects();
  const policy = {
    version: 1 as const,
    rules: [{ id: 'inbox', actions: ['read' as const, 'write' as const], resources: ['inbox/{sub}/*'], createOnly: true }],
  };
  const app = await testApp({ config: testConfig({ policy }), s3Objects: objects });
  after(() => app.close());
  beforeEach(() => {
    objects.calls.length = 0;
    objects.objects.clear();
  });

  test('PUT: If-None-Match: * is among the headers to send and the headers signed', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'text/plain', contentLength: 3, filename: 'a.txt' },
      headers: alice,
    });
    assert.equal(response.statusCode, 201, response.body);
    const grant = response.json<{ url: string; headers: Record<string, string> }>();
    assert.equal(grant.headers['if-none-match'], '*');
    assert.match(new URL(grant.url).searchParams.get('X-Amz-SignedHeaders') ?? '', /;if-none-match$/u);
  });

  test('POST form: refused, naming the rule and the way out', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { method: 'POST', contentType: 'text/plain', contentLength: 3 },
      headers: alice,
    });
    assert.equal(response.statusCode, 400, response.body);
    const body = response.json<{ code: string; detail: string; errors: { path: string }[] }>();
    assert.equal(body.code, 'BROKER_VALIDATION');
    assert.match(body.detail, /rule "inbox" is create-only.*ask for a PUT/u);
    assert.equal(body.errors[0]?.path, 'body/method');
  });

  test('multipart: refused at start when the key is taken, and S3 never starts an upload', async () => {
    objects.objects.set('inbox/alice/taken.bin', {
      size: 1,
      etag: '"x"',
      contentType: 'application/octet-stream',
      lastModified: undefined,
      checksums: {},
    });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads/multipart',
      payload: { contentType: 'application/octet-stream', contentLength: 6 * MIB, key: 'inbox/alice/taken.bin' },
      headers: alice,
    });
    assert.equal(response.statusCode, 412, response.body);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_OBJECT_EXISTS');
    assert.deepEqual(objects.calls, ['head inbox/alice/taken.bin']);
  });

  test('multipart: completion sends the condition; when the key was taken meanwhile, 412 and the upload is aborted', async () => {
    const start = async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/uploads/multipart',
        payload: { contentType: 'application/octet-stream', contentLength: 6 * MIB, key: 'inbox/alice/race.bin' },
        headers: alice,
      });
      assert.equal(response.statusCode, 201, response.body);
      const { uploadId } = response.json<{ uploadId: string }>();
      objects.addPart(uploadId, { partNumber: 1, etag: '"p1"', size: 6 * MIB });
      return uploadId;
    };
    const complete = (uploadId: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/uploads/multipart/${uploadId}/complete`,
        payload: { parts: [{ partNumber: 1, etag: '"p1"' }] },
        headers: alice,
      });
    const won = await start();
    assert.equal((await complete(won)).statusCode, 200);
    assert.ok(objects.calls.includes(`complete inbox/alice/race.bin ${won} if-none-match`), objects.calls.join('\n'));

    objects.objects.delete('inbox/alice/race.bin');
    const lost = await start();
    objects.objects.set('inbox/alice/race.bin', {
      size: 1,
      etag: '"winner"',
      contentType: 'application/octet-stream',
      lastModified: undefined,
      checksums: {},
    });
    const refused = await complete(lost);
    assert.equal(refused.statusCode, 412, refused.body);
    assert.equal(refused.json<{ code: string }>().code, 'BROKER_OBJECT_EXISTS');
    assert.ok(objects.calls.includes(`abort inbox/alice/race.bin ${lost}`));
    assert.deepEqual(
      objects.objects.get('inbox/alice/race.bin'),
      { size: 1, etag: '"winner"', contentType: 'application/octet-stream', lastModified: undefined, checksums: {} },
      'the winner is not deleted',
    );
    const again = await complete(lost);
    assert.equal(again.statusCode, 409, 'the upload is closed');
  });

  test("Uppy 5's /s3/params and Uppy 6's signRequest hand the condition to the browser", async () => {
    const params = await app.inject({ url: '/s3/params?filename=a.txt&type=text%2Fplain&metadata%5Bsize%5D=3', headers: alice });
    assert.equal(params.statusCode, 200, params.body);
    assert.equal(params.json<{ headers: Record<string, string> }>().headers['if-none-match'], '*');
    const signed = await app.inject({
      method: 'POST',
      url: '/v1/uploads/uppy-sign',
      payload: { method: 'PUT', key: 'a.txt', contentType: 'text/plain', size: 3 },
      headers: alice,
    });
    assert.equal(signed.statusCode, 200, signed.body);
    assert.equal(signed.json<{ headers: Record<string, string> }>().headers['if-none-match'], '*');
  });
});
