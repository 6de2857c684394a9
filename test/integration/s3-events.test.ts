import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { pino } from 'pino';
import type { S3Config } from '../../src/config/config.js';
import type { S3ObjectEvent } from '../../src/lifecycle/s3-events.js';
import { S3EventListener, sqsClientFor, type S3EventListenerOptions } from '../../src/lifecycle/sqs-listener.js';
import { loggerOptions } from '../../src/logging/logger-options.js';
import { createS3Client } from '../../src/signing/s3-signer.js';
import { startS3Endpoint } from '../helpers/s3-endpoint.js';
import { s3EventsSkipReason, startS3EventQueue, type S3EventQueue } from '../helpers/sqs.js';

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A listener on the test queue, logging through the broker's pino options (redaction included) into `lines`. */
function listener(
  queue: S3EventQueue,
  bucket: string,
  options: Partial<S3EventListenerOptions> & Pick<S3EventListenerOptions, 'onObject'>,
) {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      callback();
    },
  });
  const log = pino(loggerOptions({ logLevel: 'debug' }), stream);
  const events = new S3EventListener({ queueUrl: queue.queueUrl, bucket, client: queue.client, log, waitTimeSeconds: 1, ...options });
  return { events, lines, raw: () => raw.join('') };
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const skip = await s3EventsSkipReason();

/**
 * S3 event notifications from LocalStack's S3 to its SQS, read by the listener as the broker runs it: every created
 * object reaches the handler once with its key decoded, messages go once handled, a failed handler gets its message
 * back after the visibility timeout, and stop() ends a long poll at once.
 */
describe('S3 event notifications through SQS', { skip }, () => {
  const started: { stop(): Promise<void> }[] = [];
  let s3: S3Client;

  /**
   * A bucket notifying a queue of its own, for each test: a listener stopped during a long poll leaves that poll open
   * on the server, and a message it takes stays hidden for the queue's visibility timeout (30 s by default), so a
   * queue shared with the next test could hide that test's message from it.
   */
  async function source(): Promise<{ bucket: string; queue: S3EventQueue; config: S3Config }> {
    const endpoint = await startS3Endpoint();
    started.push(endpoint);
    const queue = await startS3EventQueue(endpoint.config);
    started.push(queue);
    s3 ??= createS3Client(endpoint.config);
    return { bucket: endpoint.config.bucket, queue, config: endpoint.config };
  }

  after(async () => {
    s3?.destroy();
    for (const service of started.reverse()) await service.stop();
  });

  test('every created object reaches onObject exactly once, its key decoded; the messages are then deleted', async () => {
    const { bucket, queue } = await source();
    const put = ['uploads/a b c.txt', 'uploads/c++ notes+v2.txt', 'uploads/100% done.txt', 'uploads/café/日本 📷.jpg'];
    const seen: S3ObjectEvent[] = [];
    const { events, lines } = listener(queue, bucket, { onObject: async (event) => void seen.push(event) });
    events.start();
    try {
      const eTags = new Map<string, string | undefined>();
      for (const key of put) {
        const { ETag } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));
        eTags.set(key, ETag);
      }
      await s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: 'uploads/copy of a.txt',
          CopySource: `${bucket}/${encodeURIComponent(put[0] ?? '')}`,
        }),
      );
      const multipartKey = 'uploads/multi part+1.bin';
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: multipartKey }));
      const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: multipartKey, UploadId, PartNumber: 1, Body: 'one part' }));
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: multipartKey,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      // S3 accepts it; the broker never grants it (a zero-width space), so the listener drops it with the reason.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'uploads/zero\u200Bwidth.txt', Body: 'x' }));

      const expected = [...put, 'uploads/copy of a.txt', multipartKey];
      await until(() => seen.length >= expected.length, `${expected.length} objects`);
      await until(() => lines.some((line) => line.msg.includes('dropped')), 'the dropped key');
      await sleep(1_500); // a further long poll: nothing more comes
      assert.deepEqual(seen.map(({ key }) => key).sort(), [...expected].sort());

      const byKey = new Map(seen.map((event) => [event.key, event]));
      for (const key of put) {
        const event = byKey.get(key);
        assert.equal(event?.eventName, 'ObjectCreated:Put', key);
        assert.equal(event.size, Buffer.byteLength(`body of ${key}`), key);
        assert.equal(`"${event.eTag}"`, eTags.get(key), key);
      }
      assert.equal(byKey.get('uploads/copy of a.txt')?.eventName, 'ObjectCreated:Copy');
      assert.equal(byKey.get(multipartKey)?.eventName, 'ObjectCreated:CompleteMultipartUpload');

      const dropped = lines.find((line) => line.msg.includes('dropped'));
      assert.equal(dropped?.rawKey, 'uploads/zero%E2%80%8Bwidth.txt');
      assert.match(String(dropped?.reason), /U\+200B/u);
      assert.ok(
        lines.some((line) => line.msg === 'S3 event records ignored' && JSON.stringify(line.ignored) === '["s3:TestEvent"]'),
        "S3's TestEvent came, and was ignored",
      );
    } finally {
      await events.stop();
    }
    assert.deepEqual(await queue.depth(), { visible: 0, inFlight: 0 }, 'every message deleted, the TestEvent and the dropped key too');
  });

  test('a handler that fails gets the message again after the visibility timeout; once handled it is deleted', async () => {
    const { bucket, queue } = await source();
    const key = 'uploads/retry me.txt';
    const attempts: number[] = [];
    const { events, lines, raw } = listener(queue, bucket, {
      visibilityTimeoutSeconds: 1,
      onObject: async (event) => {
        assert.equal(event.key, key);
        attempts.push(Date.now());
        if (attempts.length === 1) throw new Error('the database is away');
      },
    });
    events.start();
    try {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'again' }));
      await until(() => attempts.length >= 2, 'the second delivery');
      await sleep(1_500); // past another visibility timeout: had the message stayed, it would come a third time
    } finally {
      await events.stop();
    }
    assert.equal(attempts.length, 2);
    const [first = 0, second = 0] = attempts;
    assert.ok(second - first >= 900, `redelivered after ${second - first} ms, before the 1 s visibility timeout`);
    const failure = lines.find((line) => line.msg.startsWith('handling an S3 event failed'));
    assert.ok(failure, raw());
    assert.equal(failure.key, key);
    assert.equal(failure.receiveCount, '1');
    assert.deepEqual((failure.err as { message?: string }).message, 'the database is away');
    assert.doesNotMatch(raw(), /ReceiptHandle|receiptHandle|secretAccessKey/u, 'no receipt handles or credentials in the logs');
    assert.deepEqual(await queue.depth(), { visible: 0, inFlight: 0 });
  });

  test('stop() ends a long poll at once', async () => {
    const { bucket, queue } = await source();
    const { events } = listener(queue, bucket, { waitTimeSeconds: 20, onObject: async () => undefined });
    events.start();
    await sleep(500); // the ReceiveMessage is in flight, with up to 20 s left
    const started = Date.now();
    await events.stop();
    assert.ok(Date.now() - started < 1_000, `stop() took ${Date.now() - started} ms`);
  });

  test('receive errors are logged and retried with a growing delay, and stop() cuts the delay short', async () => {
    const { bucket, queue } = await source();
    const missing = new URL(`/000000000000/missing-${randomBytes(4).toString('hex')}`, queue.queueUrl).toString();
    const { events, lines } = listener({ ...queue, queueUrl: missing }, bucket, { onObject: async () => undefined });
    events.start();
    const failures = () => lines.filter((line) => line.msg === 'receiving S3 events failed; retrying');
    await until(() => failures().length >= 2, 'two failed receives');
    const started = Date.now();
    await events.stop(); // during the 2 s wait
    assert.ok(Date.now() - started < 1_000, `stop() took ${Date.now() - started} ms`);
    assert.deepEqual(
      failures().map((line) => line.retryInMs),
      [1_000, 2_000],
    );
    assert.equal((failures()[0]?.err as { type?: string }).type, 'QueueDoesNotExist');
  });

  test("sqsClientFor: an AWS queue's own region; elsewhere the configured endpoint, else the queue URL's origin", async () => {
    const none = { endpoint: undefined, credentials: undefined };
    const onAws = sqsClientFor('https://sqs.eu-west-1.amazonaws.com/123456789012/uploads', { region: 'us-east-1', ...none });
    assert.equal(await onAws.config.region(), 'eu-west-1');
    assert.equal(onAws.config.endpoint, undefined, "AWS's own endpoint resolution");
    onAws.destroy();
    const byUrl = sqsClientFor('http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/uploads', {
      region: 'us-east-1',
      ...none,
    });
    assert.deepEqual(await byUrl.config.endpoint?.(), {
      hostname: 'sqs.us-east-1.localhost.localstack.cloud',
      port: 4566,
      protocol: 'http:',
      path: '/',
      query: undefined,
    });
    byUrl.destroy();

    const { bucket, queue, config } = await source();
    const client = sqsClientFor(queue.queueUrl, { region: config.region, endpoint: queue.endpoint, credentials: config.credentials });
    const seen: string[] = [];
    const { events } = listener({ ...queue, client }, bucket, { onObject: async ({ key }) => void seen.push(key) });
    events.start();
    try {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'uploads/through sqsClientFor.txt', Body: 'x' }));
      await until(() => seen.length > 0, 'the object');
    } finally {
      await events.stop();
      client.destroy();
    }
    assert.deepEqual(seen, ['uploads/through sqsClientFor.txt']);
  });
});
