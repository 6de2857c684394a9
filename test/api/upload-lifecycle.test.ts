import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { PolicyDocument } from '../../src/policy/schema.js';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { fakeS3Objects } from '../helpers/fake-s3-objects.js';
import { solidPng } from '../helpers/png.js';
import { bearer } from '../helpers/tokens.js';

const policy: PolicyDocument = {
  version: 1,
  rules: [
    { id: 'limited', actions: ['write'], resources: ['inbox/{sub}/limited/*'], quota: { concurrentUploads: 1 } },
    { id: 'own', actions: ['read', 'write'], resources: ['inbox/{sub}/*'] },
  ],
};
const alice = bearer({ sub: 'alice' });
const admin = bearer({ sub: 'ops', scope: 'broker:admin' });

describe('upload records through the API (S3 in memory)', async () => {
  const objects = fakeS3Objects();
  const config = testConfig({ policy });
  const app = await testApp({
    config: { ...config, uploads: { ...config.uploads, quarantinePrefix: 'quarantine/' } },
    s3Objects: objects,
  });
  after(() => app.close());
  const status = (key: string, headers = alice) =>
    app.inject({ method: 'GET', url: `/v1/uploads/status?key=${encodeURIComponent(key)}`, headers });
  const confirm = (key: string) => app.inject({ method: 'POST', url: '/v1/uploads/confirm', headers: alice, payload: { key } });
  const grant = (payload: object) => app.inject({ method: 'POST', url: '/v1/uploads', headers: alice, payload });

  test('every kind of upload grant leaves a record, with the size it allows', async () => {
    await grant({ method: 'PUT', key: 'inbox/alice/put.png', contentType: 'image/png', contentLength: 70 });
    await grant({ method: 'POST', key: 'inbox/alice/post.png', contentType: 'image/png', contentLength: 80 });
    const started = await app.inject({
      method: 'POST',
      url: '/v1/uploads/multipart',
      headers: alice,
      payload: { key: 'inbox/alice/multi.bin', contentType: 'application/octet-stream', contentLength: 6 * 1024 * 1024 },
    });
    assert.equal(started.statusCode, 201);
    for (const [key, maxBytes] of [
      ['inbox/alice/put.png', 70],
      ['inbox/alice/post.png', 80],
      ['inbox/alice/multi.bin', 6 * 1024 * 1024],
    ] as const) {
      const record = (await status(key)).json<{ state: string; maxBytes: number; id: string }>();
      assert.equal(record.state, 'granted', key);
      assert.equal(record.maxBytes, maxBytes, key);
      assert.match(record.id, /^upl_/u);
    }
    assert.equal((await status('inbox/alice/put.png', bearer({ sub: 'bob' }))).statusCode, 404);
    assert.equal((await status('inbox/alice/put.png', admin)).statusCode, 200);
  });

  test('grants made at once are all recorded (they share one commit)', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `inbox/alice/burst/${i}.bin`);
    const granted = await Promise.all(
      keys.map((key) => grant({ method: 'PUT', key, contentType: 'application/octet-stream', contentLength: 1 })),
    );
    assert.deepEqual(new Set(granted.map((response) => response.statusCode)), new Set([201]));
    for (const key of keys) assert.equal((await status(key)).json<{ state: string }>().state, 'granted', key);
  });

  test('a POST form allows up to its size: a smaller object is verified', async () => {
    const key = 'inbox/alice/small.png';
    await grant({ method: 'POST', key, contentType: 'image/png', contentLength: 5000 });
    objects.put(key, solidPng(2, 2, [1, 2, 3]), 'image/png');
    assert.equal((await confirm(key)).json<{ state: string }>().state, 'verified');
  });

  test('S3 failing during the check is 502, and the upload is checked again later', async () => {
    const key = 'inbox/alice/flaky.png';
    const png = solidPng(2, 2, [4, 5, 6]);
    await grant({ method: 'PUT', key, contentType: 'image/png', contentLength: png.length });
    objects.put(key, png, 'image/png');
    const head = objects.head.bind(objects);
    objects.head = async () => {
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    };
    try {
      const failed = await confirm(key);
      assert.equal(failed.statusCode, 502, failed.body);
      assert.equal(failed.json<{ code: string }>().code, 'BROKER_STORAGE_UNAVAILABLE');
    } finally {
      objects.head = head;
    }
    assert.equal((await confirm(key)).json<{ state: string }>().state, 'verified');
  });

  test('an object replaced between HEAD and the read is not judged: the next confirmation checks the new one', async () => {
    const key = 'inbox/alice/replaced.png';
    const first = solidPng(2, 2, [1, 1, 1]);
    await grant({ method: 'PUT', key, contentType: 'image/png', contentLength: first.length });
    objects.put(key, first, 'image/png');
    const head = objects.head.bind(objects);
    // HEAD answers for the first object; by the time its bytes are read, a second one (bad bytes) is there.
    objects.head = async (headKey) => {
      const found = await head(headKey);
      objects.put(key, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(first.length - 4)]), 'image/png');
      return found;
    };
    try {
      const raced = await confirm(key);
      assert.equal(raced.statusCode, 502, raced.body);
      assert.ok(objects.objects.has(key), 'nothing removed on the strength of the first HEAD');
    } finally {
      objects.head = head;
    }
    const settled = (await confirm(key)).json<{ state: string }>();
    assert.equal(settled.state, 'rejected', 'the object there now is the one judged');
  });

  test('an S3 event for a newer object, while an older one is being checked, goes back to the queue', async () => {
    const key = 'inbox/alice/overtaken.png';
    const older = solidPng(2, 2, [2, 2, 2]);
    await grant({ method: 'PUT', key, contentType: 'image/png', contentLength: older.length });
    objects.put(key, older, 'image/png');
    const readStart = objects.readStart.bind(objects);
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    objects.readStart = async (...args) => {
      await gate;
      return readStart(...args);
    };
    try {
      const confirming = confirm(key);
      while ((await status(key)).json<{ state: string }>().state !== 'uploaded') await new Promise((resolve) => setImmediate(resolve));
      // The same PUT URL again (the same length and type): a newer object, another ETag.
      objects.put(key, Buffer.from(older), 'image/png');
      await assert.rejects(app.uploadLifecycle.settle(key, 's3-event'), { code: 'BROKER_UPLOAD_INCOMPLETE' });
      open();
      assert.equal((await confirming).statusCode, 502, 'the older object is gone by the time its bytes are read');
    } finally {
      objects.readStart = readStart;
    }
    // SQS delivers the event again: now the newer object is checked.
    assert.equal((await app.uploadLifecycle.settle(key, 's3-event'))?.state, 'verified');
  });

  test('a rejected object is moved to quarantine; one whose key leaves no room for the prefix is deleted', async () => {
    const key = 'inbox/alice/fake.png';
    await grant({ method: 'PUT', key, contentType: 'image/png', contentLength: 4 });
    objects.put(key, Buffer.from('GIF8'), 'image/png');
    const rejected = (await confirm(key)).json<{ state: string; id: string }>();
    assert.equal(rejected.state, 'rejected');
    assert.ok(objects.objects.has(`quarantine/${rejected.id}/${key}`));
    assert.ok(!objects.objects.has(key));

    const long = `inbox/alice/${'x'.repeat(1000)}.png`;
    await grant({ method: 'PUT', key: long, contentType: 'image/png', contentLength: 4 });
    objects.put(long, Buffer.from('GIF8'), 'image/png');
    assert.equal((await confirm(long)).json<{ state: string }>().state, 'rejected');
    assert.ok(!objects.objects.has(long));
    assert.ok(objects.calls.includes(`delete ${long}`));
  });

  test('a key granted again over an object already there: the old object is never judged by the new grant', async () => {
    const key = 'inbox/alice/existing.png';
    const old = solidPng(2, 2, [8, 8, 8]);
    objects.put(key, old, 'image/png');
    const stored = objects.objects.get(key)!;
    objects.objects.set(key, { ...stored, lastModified: new Date(Date.now() - 120_000) });
    // Another size and type: judged by this grant, the old object would be rejected and removed.
    await grant({ method: 'PUT', key, contentType: 'application/pdf', contentLength: 9 });
    const early = await confirm(key);
    assert.equal(early.statusCode, 409, early.body);
    assert.equal(early.json<{ code: string }>().code, 'BROKER_UPLOAD_INCOMPLETE');
    assert.ok(objects.objects.has(key), 'the object that was there stays');
    assert.ok(!objects.calls.includes(`read ${key}`), 'and is not even read');
  });

  test('a multipart completion settles its own upload, even when a later grant names the same key', async () => {
    const key = 'inbox/alice/multi-later.bin';
    const started = await app.inject({
      method: 'POST',
      url: '/v1/uploads/multipart',
      headers: alice,
      payload: { key, contentType: 'application/octet-stream', contentLength: 6 * 1024 * 1024 },
    });
    const { uploadId } = started.json<{ uploadId: string }>();
    objects.addPart(uploadId, { partNumber: 1, etag: '"p1"', size: 6 * 1024 * 1024 });
    await grant({ method: 'PUT', key, contentType: 'image/png', contentLength: 10 });
    const completed = await app.inject({
      method: 'POST',
      url: `/v1/uploads/multipart/${encodeURIComponent(uploadId)}/complete`,
      headers: alice,
      payload: { parts: [{ partNumber: 1, etag: '"p1"' }] },
    });
    assert.equal(completed.statusCode, 200, completed.body);
    assert.ok(objects.objects.has(key), "judged by its own grant, not the later PUT's");
    assert.equal((await status(key)).json<{ state: string }>().state, 'granted', 'the later grant is still waiting for its own upload');
  });

  test('S3 failing while the bytes are read frees the upload at once: the next confirmation checks it', async () => {
    const key = 'inbox/alice/read-fails.png';
    const png = solidPng(2, 2, [9, 9, 9]);
    await grant({ method: 'PUT', key, contentType: 'image/png', contentLength: png.length });
    objects.put(key, png, 'image/png');
    const readStart = objects.readStart.bind(objects);
    objects.readStart = async () => {
      throw Object.assign(new Error('read failed'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    };
    try {
      assert.equal((await confirm(key)).statusCode, 502);
    } finally {
      objects.readStart = readStart;
    }
    assert.equal((await confirm(key)).json<{ state: string }>().state, 'verified', 'not left "uploaded" until a lease ends');
  });

  test('outcomes and quota refusals are counted in the metrics', async () => {
    const first = await grant({
      method: 'PUT',
      key: 'inbox/alice/limited/a.bin',
      contentType: 'application/octet-stream',
      contentLength: 1,
    });
    assert.equal(first.statusCode, 201);
    const second = await grant({
      method: 'PUT',
      key: 'inbox/alice/limited/b.bin',
      contentType: 'application/octet-stream',
      contentLength: 1,
    });
    assert.equal(second.statusCode, 429);
    assert.ok(Number(second.headers['retry-after']) >= 1);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^broker_upload_quota_refusals_total\{quota="concurrentUploads"\} 1$/mu);
    assert.match(metrics, /^broker_uploads_settled_total\{state="verified",by="client"\} [1-9]/mu);
    assert.match(metrics, /^broker_uploads_settled_total\{state="rejected",by="client"\} [1-9]/mu);
  });

  test('a new object under a grant still valid is checked again; the same object is not', async () => {
    const key = 'inbox/alice/again.png';
    const png = solidPng(3, 3, [7, 7, 7]);
    await grant({ method: 'PUT', key, contentType: 'image/png', contentLength: png.length });
    objects.put(key, png, 'image/png');
    const first = (await confirm(key)).json<{ state: string; updatedAt: string }>();
    assert.equal(first.state, 'verified');
    const reads = () => objects.calls.filter((call) => call === `read ${key}`).length;
    const before = reads();
    assert.equal((await confirm(key)).json<{ updatedAt: string }>().updatedAt, first.updatedAt);
    assert.equal(reads(), before, 'the same ETag is not read again');
    // The same grant's URL used again, with other bytes of the same length.
    objects.put(key, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(png.length - 4)]), 'image/png');
    assert.equal((await confirm(key)).json<{ state: string }>().state, 'rejected');
  });
});

describe('the sweeper takes one more look once a grant can no longer be used', async () => {
  const objects = fakeS3Objects();
  const config = testConfig({ policy });
  let offsetMs = 0;
  const app = await testApp({
    config: { ...config, uploads: { ...config.uploads, graceSeconds: 0 } },
    s3Objects: objects,
    now: () => new Date(Date.now() + offsetMs),
  });
  after(() => app.close());

  test('a second PUT with the same URL after the upload was verified is caught, and then the record is left alone', async () => {
    const key = 'inbox/alice/swapped.png';
    const png = solidPng(2, 2, [3, 3, 3]);
    await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: alice,
      payload: { method: 'PUT', key, contentType: 'image/png', contentLength: png.length, ttlSeconds: 60 },
    });
    objects.put(key, png, 'image/png');
    const confirmed = await app.inject({ method: 'POST', url: '/v1/uploads/confirm', headers: alice, payload: { key } });
    assert.equal(confirmed.json<{ state: string }>().state, 'verified');
    // The same URL again, with other bytes of the granted length and type: no event, no confirmation.
    objects.put(key, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(png.length - 4)]), 'image/png');
    assert.equal(await app.uploadLifecycle.sweep(), 0, 'not while the grant can still be used');
    offsetMs = 61_000;
    assert.equal(await app.uploadLifecycle.sweep(), 1);
    const status = await app.inject({ method: 'GET', url: `/v1/uploads/status?key=${encodeURIComponent(key)}`, headers: alice });
    assert.equal(status.json<{ state: string }>().state, 'rejected');
    assert.ok(!objects.objects.has(key));
    assert.equal(await app.uploadLifecycle.sweep(), 0, 'looked at once, then left alone');
  });

  test('a key granted again before the first upload was settled: the object is judged by the grant it came through', async () => {
    const key = 'inbox/alice/granted-twice.png';
    const png = solidPng(2, 2, [4, 4, 4]);
    const put = (payload: object) =>
      app.inject({ method: 'POST', url: '/v1/uploads', headers: alice, payload: { method: 'PUT', key, ttlSeconds: 60, ...payload } });
    assert.equal((await put({ contentType: 'image/png', contentLength: png.length })).statusCode, 201);
    objects.put(key, png, 'image/png');
    objects.objects.set(key, { ...objects.objects.get(key)!, lastModified: new Date(Date.now() + offsetMs) });
    offsetMs += 30_000;
    // Another type and size: judged by this grant, the first upload would be rejected and removed.
    assert.equal((await put({ contentType: 'application/pdf', contentLength: 9 })).statusCode, 201);
    offsetMs += 120_000;
    await app.uploadLifecycle.sweep();
    assert.ok(objects.objects.has(key), 'the object stays');
    const latest = (await app.uploadLifecycle.latestForKeys([key])).get(key);
    assert.equal(latest?.contentType, 'image/png', 'the first grant is the newest that did not expire');
    assert.equal(latest?.state, 'verified');
    const status = await app.inject({ method: 'GET', url: `/v1/uploads/status?key=${encodeURIComponent(key)}`, headers: alice });
    assert.equal(status.json<{ state: string; reason: string }>().state, 'expired', 'the second grant: nothing came through it');
  });
});
