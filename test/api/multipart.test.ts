import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, beforeEach, describe, test } from 'node:test';
import { planParts, partLength, DEFAULT_PART_BYTES, S3_MIN_PART_BYTES } from '../../src/grants/multipart.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { fakeS3Objects } from '../helpers/fake-s3-objects.js';
import { bearer } from '../helpers/tokens.js';

const MIB = 1024 * 1024;
const alice = bearer({ sub: 'alice' });
const bob = bearer({ sub: 'bob' });

interface Started {
  uploadId: string;
  key: string;
  partSize: number;
  partCount: number;
  expiresAt: string;
}
interface PartGrant {
  partNumber: number;
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

describe('planParts', () => {
  test('8 MiB parts by default, the last taking the rest', () => {
    assert.deepEqual(planParts(20 * MIB), { ok: true, partSize: DEFAULT_PART_BYTES, partCount: 3 });
    const upload = { contentLength: 20 * MIB, partSize: 8 * MIB, partCount: 3 };
    assert.deepEqual(
      [1, 2, 3].map((n) => partLength(upload, n)),
      [8 * MIB, 8 * MIB, 4 * MIB],
    );
  });

  test('a small file is one part of its own size', () => {
    assert.deepEqual(planParts(10), { ok: true, partSize: DEFAULT_PART_BYTES, partCount: 1 });
    assert.equal(partLength({ contentLength: 10, partSize: DEFAULT_PART_BYTES, partCount: 1 }, 1), 10);
  });

  test('a huge file gets parts large enough to stay within 10,000', () => {
    const plan = planParts(200 * 1024 ** 3);
    assert.ok(plan.ok);
    assert.ok(plan.partCount <= 10_000 && plan.partSize % MIB === 0, JSON.stringify(plan));
  });

  test("a part size outside S3's rules, or one that needs more than 10,000 parts, is refused", () => {
    assert.equal(planParts(20 * MIB, S3_MIN_PART_BYTES - 1).ok, false);
    assert.equal(planParts(20 * MIB, 5 * 1024 ** 3 + 1).ok, false);
    assert.equal(planParts(10_001 * 5 * MIB, 5 * MIB).ok, false);
    assert.deepEqual(planParts(15 * MIB, 5 * MIB), { ok: true, partSize: 5 * MIB, partCount: 3 });
  });
});

describe('multipart uploads through the API', async () => {
  const objects = fakeS3Objects();
  const entitlements = await openSqliteStore(':memory:');
  let now = new Date('2026-06-01T12:00:00Z');
  const app = await testApp({ config: testConfig(), s3Objects: objects, store: entitlements, now: () => now });
  after(() => app.close());
  beforeEach(() => {
    objects.calls.length = 0;
    objects.completedSize = undefined;
    now = new Date('2026-06-01T12:00:00Z');
  });

  const start = async (body: Record<string, unknown>, headers = alice): Promise<Started> => {
    const response = await app.inject({ method: 'POST', url: '/v1/uploads/multipart', payload: body, headers });
    assert.equal(response.statusCode, 201, response.body);
    return response.json<Started>();
  };
  const partsOf = (uploadId: string, partNumbers: number[], headers = alice) =>
    app.inject({ method: 'POST', url: `/v1/uploads/multipart/${encodeURIComponent(uploadId)}/parts`, payload: { partNumbers }, headers });

  test('start: the key follows the single-upload rules, and S3 gets the upload', async () => {
    const started = await start({
      contentType: 'application/octet-stream',
      contentLength: 12 * MIB,
      filename: 'clip.mp4',
      partSize: 5 * MIB,
    });
    assert.match(started.key, /^uploads\/alice\/[0-9a-f-]{36}\/clip\.mp4$/u);
    assert.deepEqual({ partSize: started.partSize, partCount: started.partCount }, { partSize: 5 * MIB, partCount: 3 });
    assert.equal(started.expiresAt, '2026-06-01T12:15:00.000Z');
    assert.deepEqual(objects.calls, [`create ${started.key}`]);
  });

  test('start is decided like a single upload: another prefix, a limit, an invalid key', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ contentType: 'application/octet-stream', contentLength: 12 * MIB, key: 'uploads/bob/x.mp4' }, 403, 'BROKER_FORBIDDEN'],
      [{ contentType: 'application/octet-stream', contentLength: 200 * MIB }, 403, 'BROKER_LIMIT_EXCEEDED'],
      [{ contentType: 'text/html', contentLength: 12 * MIB }, 403, 'BROKER_LIMIT_EXCEEDED'],
      [{ contentType: 'application/octet-stream', contentLength: 12 * MIB, key: 'uploads/alice/${filename}' }, 400, 'BROKER_INVALID_KEY'],
      [{ contentType: 'application/octet-stream', contentLength: 12 * MIB, partSize: MIB }, 400, 'BROKER_VALIDATION'],
      [{ contentType: 'application/octet-stream', contentLength: 0 }, 400, 'BROKER_VALIDATION'],
    ];
    for (const [body, status, code] of cases) {
      const response = await app.inject({ method: 'POST', url: '/v1/uploads/multipart', payload: body, headers: alice });
      assert.equal(response.statusCode, status, `${JSON.stringify(body)}: ${response.body}`);
      assert.equal(response.json<{ code: string }>().code, code);
    }
    assert.deepEqual(objects.calls, [], 'nothing is started on S3 for a refused upload');
  });

  test('part URLs sign each part its exact length, the last part the rest', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB + 7, partSize: 5 * MIB });
    const response = await partsOf(started.uploadId, [3, 1]);
    assert.equal(response.statusCode, 200, response.body);
    const { parts } = response.json<{ parts: PartGrant[] }>();
    assert.deepEqual(
      parts.map((part) => [part.partNumber, part.headers['content-length']]),
      [
        [3, String(2 * MIB + 7)],
        [1, String(5 * MIB)],
      ],
    );
    const url = new URL(parts[0]!.url);
    assert.equal(url.searchParams.get('partNumber'), '3');
    assert.equal(url.searchParams.get('uploadId'), started.uploadId);
    assert.equal(url.searchParams.get('x-id'), 'UploadPart');
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'content-length;host');
  });

  test('checksums: required for every part when the upload has an algorithm, refused when it has none, sized to it', async () => {
    const sha256 = createHash('sha256').update('').digest('base64');
    const checked = await start({
      contentType: 'application/octet-stream',
      contentLength: 12 * MIB,
      partSize: 5 * MIB,
      checksumAlgorithm: 'SHA256',
    });
    const ask = (uploadId: string, payload: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: `/v1/uploads/multipart/${uploadId}/parts`, payload, headers: alice });
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [checked.uploadId, { partNumbers: [1, 2], checksums: { '1': sha256 } }, /give part 2's checksum/],
      [checked.uploadId, { partNumbers: [1], checksums: { '1': 'AAAAAA==' } }, /not a base64 SHA256/],
    ];
    const plain = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB, partSize: 5 * MIB });
    cases.push([plain.uploadId, { partNumbers: [1], checksums: { '1': sha256 } }, /started without a checksumAlgorithm/]);
    for (const [uploadId, payload, reason] of cases) {
      const response = await ask(uploadId, payload);
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      assert.match(response.json<{ detail: string }>().detail, reason);
    }
    const granted = await ask(checked.uploadId, { partNumbers: [1], checksums: { '1': sha256 } });
    assert.equal(granted.json<{ parts: PartGrant[] }>().parts[0]?.headers['x-amz-checksum-sha256'], sha256);
    const parts = [1, 2, 3].map((partNumber) => ({ partNumber, etag: '"e"' }));
    const complete = await app.inject({
      method: 'POST',
      url: `/v1/uploads/multipart/${checked.uploadId}/complete`,
      payload: { parts },
      headers: alice,
    });
    assert.equal(complete.statusCode, 400);
    assert.match(complete.json<{ detail: string }>().detail, /give every part's checksum/);
  });

  test('part numbers outside the upload are refused, naming the range', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB, partSize: 5 * MIB });
    const response = await partsOf(started.uploadId, [2, 4, 5]);
    assert.equal(response.statusCode, 400);
    assert.match(response.json<{ detail: string }>().detail, /parts 1 to 3; 4, 5 are outside/);
  });

  test('regression: another caller, or a made-up id, finds nothing, and nothing on S3 is touched', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB });
    objects.calls.length = 0;
    const id = encodeURIComponent(started.uploadId);
    for (const [method, url, payload] of [
      ['POST', `/v1/uploads/multipart/${id}/parts`, { partNumbers: [1] }],
      ['GET', `/v1/uploads/multipart/${id}/parts`, undefined],
      [
        'POST',
        `/v1/uploads/multipart/${id}/complete`,
        {
          parts: [
            { partNumber: 1, etag: '"x"' },
            { partNumber: 2, etag: '"y"' },
          ],
        },
      ],
      ['DELETE', `/v1/uploads/multipart/${id}`, undefined],
      ['GET', '/v1/uploads/multipart/made-up-id/parts', undefined],
      ['DELETE', '/v1/uploads/multipart/made-up-id', undefined],
    ] as const) {
      const headers = url.includes('made-up') ? alice : bob;
      const response = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
      assert.equal(response.statusCode, 404, `${method} ${url}: ${response.body}`);
      assert.equal(response.json<{ code: string }>().code, 'BROKER_UPLOAD_NOT_FOUND');
    }
    assert.deepEqual(objects.calls, []);
  });

  test('the mobile path: list what arrived, upload the rest, complete; the broker checks the size', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB, partSize: 5 * MIB });
    objects.addPart(started.uploadId, { partNumber: 1, etag: '"e1"', size: 5 * MIB });
    objects.addPart(started.uploadId, { partNumber: 2, etag: '"e2"', size: 5 * MIB });
    const listed = await app.inject({ method: 'GET', url: `/v1/uploads/multipart/${started.uploadId}/parts`, headers: alice });
    assert.deepEqual(listed.json(), {
      parts: [
        { partNumber: 1, etag: '"e1"', size: 5 * MIB },
        { partNumber: 2, etag: '"e2"', size: 5 * MIB },
      ],
    });
    objects.addPart(started.uploadId, { partNumber: 3, etag: '"e3"', size: 2 * MIB });
    const parts = [1, 2, 3].map((partNumber) => ({ partNumber, etag: `"e${partNumber}"` }));
    const completed = await app.inject({
      method: 'POST',
      url: `/v1/uploads/multipart/${started.uploadId}/complete`,
      payload: { parts },
      headers: alice,
    });
    assert.equal(completed.statusCode, 200, completed.body);
    assert.deepEqual(completed.json(), {
      key: started.key,
      size: 12 * MIB,
      etag: '"multipart-etag-3"',
      location: `https://s3.example/bucket/${started.key}`,
    });
    const again = await app.inject({
      method: 'POST',
      url: `/v1/uploads/multipart/${started.uploadId}/complete`,
      payload: { parts },
      headers: alice,
    });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json<{ code: string }>().code, 'BROKER_UPLOAD_CLOSED');
  });

  test('completion lists every part once, in order', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB, partSize: 5 * MIB });
    for (const numbers of [
      [1, 2],
      [1, 3, 2],
      [1, 2, 2, 3],
      [1, 2, 3, 4],
    ]) {
      const parts = numbers.map((partNumber) => ({ partNumber, etag: '"e"' }));
      const response = await app.inject({
        method: 'POST',
        url: `/v1/uploads/multipart/${started.uploadId}/complete`,
        payload: { parts },
        headers: alice,
      });
      assert.equal(response.statusCode, 400, numbers.join(','));
    }
  });

  test('an object of another size than granted is deleted, and the answer says why', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB, partSize: 5 * MIB });
    objects.completedSize = 12 * MIB + 1;
    const parts = [1, 2, 3].map((partNumber) => ({ partNumber, etag: '"e"' }));
    const response = await app.inject({
      method: 'POST',
      url: `/v1/uploads/multipart/${started.uploadId}/complete`,
      payload: { parts },
      headers: alice,
    });
    assert.equal(response.statusCode, 422, response.body);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_UPLOAD_REJECTED');
    assert.ok(objects.calls.includes(`delete ${started.key}`));
    assert.equal(objects.objects.has(started.key), false);
  });

  test('abort frees the upload on S3; afterwards the id is closed', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB });
    const aborted = await app.inject({ method: 'DELETE', url: `/v1/uploads/multipart/${started.uploadId}`, headers: alice });
    assert.equal(aborted.statusCode, 204);
    assert.ok(objects.calls.includes(`abort ${started.key} ${started.uploadId}`));
    assert.equal((await partsOf(started.uploadId, [1])).statusCode, 409);
  });

  test('a revoked entitlement stops new part URLs', async () => {
    const entitlement = await entitlements.create(
      { subject: 'alice', resources: ['shared/*'], actions: ['write'], grantedBy: 'test', reason: 'test' },
      now,
    );
    const started = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB, key: 'shared/big.mp4' });
    assert.equal((await partsOf(started.uploadId, [1])).statusCode, 200);
    await entitlements.revoke(entitlement.id, now);
    const refused = await partsOf(started.uploadId, [2]);
    assert.equal(refused.statusCode, 403, refused.body);
  });

  test('part URLs never outlive the upload', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 12 * MIB, ttlSeconds: 600 });
    now = new Date('2026-06-01T12:05:00Z');
    const { parts } = (await partsOf(started.uploadId, [1])).json<{ parts: PartGrant[] }>();
    assert.equal(parts[0]?.expiresAt, started.expiresAt);
    now = new Date('2026-06-01T12:10:01Z');
    const late = await partsOf(started.uploadId, [1]);
    assert.equal(late.statusCode, 409);
    assert.match(late.json<{ detail: string }>().detail, /expired/);
  });
});
