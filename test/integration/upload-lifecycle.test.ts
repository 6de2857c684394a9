import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../src/config/config.js';
import type { PolicyDocument } from '../../src/policy/schema.js';
import { createS3Client } from '../../src/signing/s3-signer.js';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { solidPng } from '../helpers/png.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { s3EventsSkipReason, startS3EventQueue, type S3EventQueue } from '../helpers/sqs.js';
import { bearer } from '../helpers/tokens.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const MIB = 1024 * 1024;
const policy: PolicyDocument = {
  version: 1,
  rules: [
    // SVG is active content: only a rule naming the type lets it be uploaded at all.
    { id: 'own-svg', actions: ['write'], resources: ['inbox/{sub}/svg/*'], limits: { contentTypes: ['image/svg+xml'] } },
    { id: 'own', actions: ['read', 'write'], resources: ['inbox/{sub}/*'] },
    { id: 'gallery-uploads', actions: ['write'], resources: ['gallery/{sub}/*'] },
    { id: 'gallery', actions: ['read'], resources: ['gallery/*'], requireVerified: true },
    { id: 'daily', actions: ['write'], resources: ['daily/{sub}/*'], quota: { bytesPerDay: 3000, objectsPerDay: 5 } },
    { id: 'parallel', actions: ['write'], resources: ['parallel/{sub}/*'], quota: { concurrentUploads: 1 } },
  ],
};

interface Status {
  id: string;
  key: string;
  state: string;
  reason?: string;
  size?: number;
  updatedAt: string;
}

/** The S3 event paths need LocalStack's SQS; everything else also runs against versitygw. */
const eventsSkip = await s3EventsSkipReason();

describe('the upload lifecycle against a real S3 (and SQS on LocalStack), with a real webhook receiver', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const alice = bearer({ sub: 'alice' });
  const admin = bearer({ sub: 'ops', scope: 'broker:admin' });
  let endpoint: S3Endpoint;
  let queue: S3EventQueue;
  let receiver: WebhookReceiver;
  let s3: S3Client;
  /** Hears S3 events; nothing else settles its uploads unless a test says so. */
  let eventsApp: FastifyInstance;
  /** No queue: its uploads are settled by the client's confirmation or its sweeper; rejected bytes go to quarantine. */
  let quietApp: FastifyInstance;
  /** Quotas, on a clock the test moves. */
  let quotaApp: FastifyInstance;
  let clockOffsetMs = 0;

  const config = (uploads: Partial<Config['uploads']>): Config =>
    testConfig({
      policy,
      overrides: {
        s3: endpoint.config,
        uploads: { graceSeconds: 0, sweepIntervalMs: 0, quarantinePrefix: undefined, eventsQueue: undefined, ...uploads },
        webhooks: { urls: [receiver.url], secret, maxAttempts: 6, retryBaseMs: 40, retryMaxMs: 150, timeoutMs: 2000, pollMs: 20 },
      },
    });

  before(async () => {
    endpoint = await startS3Endpoint();
    receiver = await startWebhookReceiver(secret);
    s3 = createS3Client(endpoint.config);
    if (!eventsSkip) {
      queue = await startS3EventQueue(endpoint.config);
      eventsApp = await testApp({ config: config({ eventsQueue: { url: queue.queueUrl, endpoint: endpoint.config.endpoint } }) });
      await eventsApp.ready();
    }
    quietApp = await testApp({ config: config({ quarantinePrefix: 'quarantine/' }) });
    quotaApp = await testApp({ config: config({}), now: () => new Date(Date.now() + clockOffsetMs) });
    await Promise.all([quietApp.ready(), quotaApp.ready()]);
  });
  after(async () => {
    await Promise.all([eventsApp?.close(), quietApp?.close(), quotaApp?.close()]);
    await receiver?.close();
    await queue?.stop();
    s3?.destroy();
    await endpoint?.stop();
  });

  async function grantPut(app: FastifyInstance, key: string, contentType: string, contentLength: number, extra: object = {}) {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      headers: alice,
      payload: { method: 'PUT', key, contentType, contentLength, ...extra },
    });
    return response;
  }
  async function upload(app: FastifyInstance, key: string, contentType: string, bytes: Buffer): Promise<void> {
    const granted = await grantPut(app, key, contentType, bytes.length);
    assert.equal(granted.statusCode, 201, granted.body);
    const { url, headers } = granted.json<{ url: string; headers: Record<string, string> }>();
    const put = await fetch(url, { method: 'PUT', headers, body: bytes });
    assert.equal(put.status, 200, await put.text());
  }
  const confirm = (app: FastifyInstance, key: string) =>
    app.inject({ method: 'POST', url: '/v1/uploads/confirm', headers: alice, payload: { key } });
  async function status(app: FastifyInstance, key: string): Promise<Status> {
    const response = await app.inject({ method: 'GET', url: `/v1/uploads/status?key=${encodeURIComponent(key)}`, headers: alice });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<Status>();
  }
  async function exists(key: string): Promise<boolean> {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: endpoint.config.bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  }
  const eventsFor = (key: string) => receiver.accepted.filter((event) => event.data.key === key);

  test('confirmed by the client: verified at once, one signed upload.verified event', async () => {
    const key = 'inbox/alice/photo one.png';
    await upload(quietApp, key, 'image/png', solidPng(4, 4, [200, 10, 10]));
    const early = await status(quietApp, key);
    assert.equal(early.state, 'granted', 'nothing settles it before the client says so (no queue, no sweep)');
    const confirmed = await confirm(quietApp, key);
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    assert.equal(confirmed.json<Status>().state, 'verified');
    const event = await receiver.waitFor((received) => received.data.key === key);
    assert.equal(event.type, 'upload.verified');
    assert.equal(event.data.id, confirmed.json<Status>().id);
    assert.match(event.id, /^msg_/u);
    // Confirming again looks at the same object, and changes nothing.
    const again = await confirm(quietApp, key);
    assert.equal(again.json<Status>().updatedAt, confirmed.json<Status>().updatedAt);
    await sleep(300);
    assert.equal(eventsFor(key).length, 1);
  });

  test('confirming before anything arrived is 409, and another subject sees no such upload', async () => {
    const key = 'inbox/alice/not-yet.png';
    const granted = await grantPut(quietApp, key, 'image/png', 100);
    assert.equal(granted.statusCode, 201);
    const early = await confirm(quietApp, key);
    assert.equal(early.statusCode, 409, early.body);
    assert.equal(early.json<{ code: string }>().code, 'BROKER_UPLOAD_INCOMPLETE');
    const bob = await quietApp.inject({
      method: 'GET',
      url: `/v1/uploads/status?key=${encodeURIComponent(key)}`,
      headers: bearer({ sub: 'bob' }),
    });
    assert.equal(bob.statusCode, 404);
    const byAdmin = await quietApp.inject({ method: 'GET', url: `/v1/uploads/status?key=${encodeURIComponent(key)}`, headers: admin });
    assert.equal(byAdmin.json<Status>().state, 'granted');
  });

  test('discovered only through the S3 event: verified with no confirmation', { skip: eventsSkip }, async () => {
    const key = 'inbox/alice/from-event+plus é.png';
    await upload(eventsApp, key, 'image/png', solidPng(3, 3, [0, 200, 0]));
    const event = await receiver.waitFor((received) => received.data.key === key);
    assert.equal(event.type, 'upload.verified');
    assert.equal((await status(eventsApp, key)).state, 'verified');
  });

  test('a duplicate event, and an older one out of order, change nothing', { skip: eventsSkip }, async () => {
    const key = 'inbox/alice/duplicated.png';
    await upload(eventsApp, key, 'image/png', solidPng(2, 2, [0, 0, 200]));
    await receiver.waitFor((received) => received.data.key === key);
    const settled = await status(eventsApp, key);
    const record = (sequencer: string) =>
      JSON.stringify({
        Records: [
          {
            eventVersion: '2.1',
            eventSource: 'aws:s3',
            eventName: 'ObjectCreated:Put',
            s3: {
              bucket: { name: endpoint.config.bucket },
              object: { key: encodeURIComponent(key).replaceAll('%2F', '/'), size: 1, sequencer },
            },
          },
        ],
      });
    for (const sequencer of ['00FFFFFFFFFFFFFFFF', '0000000000000000001']) {
      await queue.client.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: record(sequencer) }));
    }
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { visible, inFlight } = await queue.depth();
      if (visible === 0 && inFlight === 0) break;
      assert.ok(Date.now() < deadline, 'the listener handles and deletes both messages');
      await sleep(100);
    }
    const after = await status(eventsApp, key);
    assert.equal(after.updatedAt, settled.updatedAt);
    assert.equal(after.state, 'verified');
    assert.equal(eventsFor(key).length, 1);
  });

  test('discovered only by the sweeper once the grant ended; nothing arrived: expired', async () => {
    const key = 'inbox/alice/swept.png';
    const bytes = solidPng(5, 5, [1, 2, 3]);
    const granted = await grantPut(quietApp, key, 'image/png', bytes.length, { ttlSeconds: 1 });
    const { url, headers } = granted.json<{ url: string; headers: Record<string, string> }>();
    assert.equal((await fetch(url, { method: 'PUT', headers, body: bytes })).status, 200);
    const nothing = 'inbox/alice/never-sent.png';
    assert.equal((await grantPut(quietApp, nothing, 'image/png', 10, { ttlSeconds: 1 })).statusCode, 201);
    assert.equal((await status(quietApp, key)).state, 'granted');
    await sleep(2100);
    await quietApp.uploadLifecycle.sweep();
    assert.equal((await status(quietApp, key)).state, 'verified');
    const expired = await status(quietApp, nothing);
    assert.equal(expired.state, 'expired');
    assert.match(expired.reason ?? '', /nothing arrived/u);
    assert.equal((await receiver.waitFor((received) => received.data.key === key)).type, 'upload.verified');
    assert.equal((await receiver.waitFor((received) => received.data.key === nothing)).type, 'upload.expired');
  });

  test('an oversize multipart object is rejected and removed', async () => {
    const key = 'inbox/alice/big.bin';
    const started = await quietApp.inject({
      method: 'POST',
      url: '/v1/uploads/multipart',
      headers: alice,
      payload: { key, contentType: 'application/octet-stream', contentLength: 6 * MIB },
    });
    assert.equal(started.statusCode, 201, started.body);
    const { uploadId } = started.json<{ uploadId: string }>();
    // A part sent around the broker's part URLs (which sign exact lengths), with S3 credentials of its own.
    const part = await s3.send(
      new UploadPartCommand({ Bucket: endpoint.config.bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: randomBytes(7 * MIB) }),
    );
    const completed = await quietApp.inject({
      method: 'POST',
      url: `/v1/uploads/multipart/${encodeURIComponent(uploadId)}/complete`,
      headers: alice,
      payload: { parts: [{ partNumber: 1, etag: part.ETag }] },
    });
    assert.equal(completed.statusCode, 422, completed.body);
    assert.equal(completed.json<{ code: string }>().code, 'BROKER_UPLOAD_REJECTED');
    assert.equal(await exists(key), false, 'the object is gone from its key');
    assert.equal(await exists(`quarantine/${(await status(quietApp, key)).id}/${key}`), true, 'and kept in quarantine');
    const rejected = await status(quietApp, key);
    assert.equal(rejected.state, 'rejected');
    assert.equal(rejected.size, 7 * MIB);
    assert.match(rejected.reason ?? '', /7,?340,?032|bytes/u);
    assert.equal((await receiver.waitFor((received) => received.data.key === key)).type, 'upload.rejected');
  });

  test('bytes that contradict the declared type are rejected: a ZIP as a PNG, an SVG with script', async () => {
    const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0]), randomBytes(200)]);
    const key = 'inbox/alice/not-a.png';
    await upload(quietApp, key, 'image/png', zip);
    const confirmed = await confirm(quietApp, key);
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    const rejected = confirmed.json<Status>();
    assert.equal(rejected.state, 'rejected');
    assert.match(rejected.reason ?? '', /png/iu);
    assert.equal(await exists(key), false);
    assert.equal((await receiver.waitFor((received) => received.data.key === key)).type, 'upload.rejected');

    const svgKey = 'inbox/alice/svg/logo.svg';
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><rect width="1" height="1"/></svg>');
    await upload(quietApp, svgKey, 'image/svg+xml', svg);
    assert.equal((await confirm(quietApp, svgKey)).json<Status>().state, 'rejected');
    const clean = 'inbox/alice/svg/clean.svg';
    await upload(
      quietApp,
      clean,
      'image/svg+xml',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'),
    );
    assert.equal((await confirm(quietApp, clean)).json<Status>().state, 'verified');
  });

  test('downloads of a requireVerified rule wait for verification', async () => {
    const key = 'gallery/alice/shown.png';
    await upload(quietApp, key, 'image/png', solidPng(2, 2, [9, 9, 9]));
    const ask = () =>
      quietApp.inject({ method: 'POST', url: '/v1/downloads', headers: alice, payload: { keys: [key, 'gallery/alice/none.png'] } });
    const before = (await ask()).json<{ results: { key: string; url?: string; error?: { code: string; detail: string } }[] }>().results;
    assert.equal(before[0]?.error?.code, 'BROKER_UPLOAD_NOT_VERIFIED');
    assert.match(before[0]?.error?.detail ?? '', /granted/u);
    assert.equal(before[1]?.error?.code, 'BROKER_UPLOAD_NOT_VERIFIED');
    await confirm(quietApp, key);
    const afterward = (await ask()).json<{ results: { url?: string; error?: { code: string } }[] }>().results;
    assert.ok(afterward[0]?.url, JSON.stringify(afterward[0]));
    assert.equal(afterward[1]?.error?.code, 'BROKER_UPLOAD_NOT_VERIFIED');
  });

  test('a receiver that fails three times then succeeds gets the event once by id, every attempt signed', async () => {
    const key = 'inbox/alice/retried.png';
    await upload(quietApp, key, 'image/png', solidPng(1, 1, [5, 5, 5]));
    receiver.failFor(key, 3);
    await confirm(quietApp, key);
    const event = await receiver.waitFor((received) => received.data.key === key);
    const attempts = receiver.requests.filter((request) => request.id === event.id);
    assert.deepEqual(
      attempts.map((request) => request.status),
      [500, 500, 500, 204],
    );
    assert.ok(attempts.every((request) => request.signatureValid));
    assert.equal(eventsFor(key).length, 1);
    // The broker records the last attempt once the receiver has answered it: wait for that, briefly.
    const history = async (): Promise<number[]> =>
      (await quietApp.inject({ method: 'GET', url: `/v1/admin/webhooks/events/${event.id}/attempts`, headers: admin }))
        .json<{ attempts: { status: number }[] }>()
        .attempts.map((attempt) => attempt.status);
    const deadline = Date.now() + 5_000;
    while ((await history()).length < 4 && Date.now() < deadline) await sleep(20);
    assert.deepEqual(await history(), [500, 500, 500, 204]);
    const metrics = (await quietApp.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^broker_webhook_attempts_total\{outcome="pending"\} ([3-9]|\d\d+)$/mu);
    assert.match(metrics, /^broker_webhook_attempts_total\{outcome="delivered"\} [1-9]/mu);
  });

  test('a delivery that runs out of attempts is listed as failed, and a replay delivers it', async () => {
    const key = 'inbox/alice/replayed.png';
    await upload(quietApp, key, 'image/png', solidPng(1, 1, [6, 6, 6]));
    receiver.failFor(key, 6);
    const { id } = (await confirm(quietApp, key)).json<Status>();
    let failed: { eventId: string; attempts: number }[] = [];
    const deadline = Date.now() + 15_000;
    while (failed.length === 0) {
      assert.ok(Date.now() < deadline, 'the delivery fails after its 6 attempts');
      await sleep(100);
      const listed = await quietApp.inject({ method: 'GET', url: '/v1/admin/webhooks/deliveries?state=failed', headers: admin });
      failed = listed.json<{ deliveries: { eventId: string; attempts: number }[] }>().deliveries;
    }
    assert.equal(failed[0]?.attempts, 6);
    assert.equal(eventsFor(key).length, 0);
    const replay = await quietApp.inject({ method: 'POST', url: `/v1/admin/webhooks/events/${failed[0]?.eventId}/replay`, headers: admin });
    assert.deepEqual(replay.json(), { replayed: 1 });
    const event = await receiver.waitFor((received) => received.data.key === key);
    assert.equal(event.data.id, id);
    const bob = await quietApp.inject({ method: 'GET', url: '/v1/admin/webhooks/deliveries', headers: alice });
    assert.equal(bob.statusCode, 403, 'the admin scope only');
  });

  test('quotas: the grant that would exceed one is refused with when it resets, and allowed after', async () => {
    const daily = (name: string, contentLength: number) =>
      grantPut(quotaApp, `daily/alice/${name}`, 'application/octet-stream', contentLength);
    assert.equal((await daily('a.bin', 2000)).statusCode, 201);
    const refused = await daily('b.bin', 1001);
    assert.equal(refused.statusCode, 429, refused.body);
    const problem = refused.json<{ code: string; detail: string }>();
    assert.equal(problem.code, 'BROKER_QUOTA_EXCEEDED');
    assert.match(problem.detail, /bytesPerDay/u);
    const tomorrow = new Date(Date.now() + clockOffsetMs);
    tomorrow.setUTCHours(24, 0, 0, 0);
    assert.match(problem.detail, new RegExp(tomorrow.toISOString().replaceAll('.', '\\.'), 'u'));
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(Math.abs(retryAfter - (tomorrow.getTime() - Date.now()) / 1000) < 5, `Retry-After ${retryAfter}`);
    assert.equal((await daily('c.bin', 1000)).statusCode, 201, 'what still fits is granted');
    clockOffsetMs += 24 * 60 * 60 * 1000;
    assert.equal((await daily('d.bin', 2000)).statusCode, 201, 'a day later the quota is new');
    clockOffsetMs = 0;
  });

  test('quotas: concurrent grants cannot share one remainder, and a finished upload frees its place', async () => {
    const parallel = (name: string) => grantPut(quotaApp, `parallel/alice/${name}`, 'image/png', solidPng(1, 1, [1, 1, 1]).length);
    const racing = await Promise.all(Array.from({ length: 6 }, (_, i) => parallel(`race-${i}.png`)));
    assert.deepEqual(racing.map((response) => response.statusCode).sort(), [201, 429, 429, 429, 429, 429]);
    const winner = racing.find((response) => response.statusCode === 201)!;
    const loser = racing.find((response) => response.statusCode === 429)!;
    assert.match(loser.json<{ detail: string }>().detail, /concurrentUploads/u);
    const { url, headers, key } = winner.json<{ url: string; headers: Record<string, string>; key: string }>();
    assert.equal((await fetch(url, { method: 'PUT', headers, body: solidPng(1, 1, [1, 1, 1]) })).status, 200);
    assert.equal((await confirm(quotaApp, key)).json<Status>().state, 'verified');
    assert.equal((await parallel('next.png')).statusCode, 201, 'verified, it no longer counts as in flight');
  });
});
