import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { lifecycleMigrations, sqliteLifecycleDialect, type LifecycleSchema } from '../../src/lifecycle/lifecycle-schema.js';
import { openSqliteDatabase } from '../../src/store/sqlite-database.js';
import { signWebhook, validateWebhookSecret, WebhookDispatcher, type WebhookConfig } from '../../src/webhooks/delivery.js';
import { outboxQueries, type OutboxStore } from '../../src/webhooks/outbox-queries.js';
import { seedEvent } from '../contract/outbox-store.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** What the receiver does with one request; once a path's script is used up, it answers 200. */
type Step = number | 'hang' | 'reset' | 'echo' | { readonly redirect: string } | { readonly slowMs: number };

interface Received {
  readonly path: string;
  readonly method: string | undefined;
  readonly contentType: string | undefined;
  readonly headers: { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };
  readonly body: string;
  /** Whether the Standard Webhooks library accepted it. */
  readonly verified: boolean;
}

/** A real receiver on 127.0.0.1, verifying each request as an application would. */
async function startReceiver() {
  const scripts = new Map<string, Step[]>();
  const requests: Received[] = [];
  /** How often each webhook-id was answered 2xx. */
  const accepted = new Map<string, number>();
  const header = (request: IncomingMessage, name: string): string => String(request.headers[name] ?? '');
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const headers = {
        'webhook-id': header(request, 'webhook-id'),
        'webhook-timestamp': header(request, 'webhook-timestamp'),
        'webhook-signature': header(request, 'webhook-signature'),
      };
      let verified = true;
      try {
        new Webhook(SECRET).verify(body, headers);
      } catch {
        verified = false;
      }
      const path = request.url ?? '';
      requests.push({ path, method: request.method, contentType: request.headers['content-type'], headers, body, verified });
      const step = scripts.get(path)?.shift() ?? 200;
      const accept = (): void => {
        if (verified) accepted.set(headers['webhook-id'], (accepted.get(headers['webhook-id']) ?? 0) + 1);
        response.writeHead(200).end('ok');
      };
      if (step === 'hang') return;
      if (step === 'reset') request.socket.destroy();
      else if (step === 'echo') response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(request.headers));
      else if (typeof step === 'number') {
        if (step === 200) accept();
        else response.writeHead(step, { 'content-type': 'text/plain' }).end('database down\n\tline two');
      } else if ('redirect' in step) response.writeHead(302, { location: step.redirect }).end();
      else setTimeout(accept, step.slowMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    script: (path: string, ...steps: Step[]) => void scripts.set(path, steps),
    requests,
    accepted,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Every log line of the file, for the last test: none may hold the secret or a signature. */
const logged: string[] = [];
const log = pino(
  { level: 'trace' },
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logged.push(chunk.toString());
      callback();
    },
  }),
);
const signaturesSent = new Set<string>();

const configOf = (overrides: Partial<WebhookConfig> = {}): WebhookConfig => ({
  urls: [],
  secret: SECRET,
  maxAttempts: 5,
  retryBaseMs: 2,
  retryMaxMs: 10,
  timeoutMs: 200,
  pollMs: 10,
  ...overrides,
});

describe('webhook delivery to a real receiver', () => {
  let db: Kysely<LifecycleSchema>;
  let store: OutboxStore;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dispatcher: WebhookDispatcher;

  beforeEach(async () => {
    ({ db } = await openSqliteDatabase<LifecycleSchema>(':memory:', lifecycleMigrations(sqliteLifecycleDialect), 'lifecycle_migration'));
    store = outboxQueries(db, sqliteLifecycleDialect);
    receiver = await startReceiver();
    dispatcher = new WebhookDispatcher({ store, config: configOf(), log });
  });

  afterEach(async () => {
    await dispatcher.stop();
    for (const request of receiver.requests) signaturesSent.add(request.headers['webhook-signature']);
    await receiver.close();
    await db.destroy();
  });

  const seed = (id: string, paths: readonly string[] = ['/hooks']) =>
    seedEvent(db, sqliteLifecycleDialect, { id, urls: paths.map(receiver.url), createdAt: new Date() });

  const deliveriesOf = async (eventId: string) =>
    (await store.listDeliveries({ limit: 100 })).deliveries.filter((delivery) => delivery.eventId === eventId);

  /** Rounds until nothing is pending (retries are due within milliseconds here). */
  async function settle(on = dispatcher): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      await on.runOnce();
      if ((await store.listDeliveries({ state: 'pending', limit: 1 })).deliveries.length === 0) return;
      if (Date.now() > deadline) assert.fail('deliveries still pending after 5 s');
      await sleep(5);
    }
  }

  test('delivered the first time: the stored payload verbatim, the event id, the send time, a signature the library accepts', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { payload } = await seed('msg_first');
    assert.equal(await dispatcher.runOnce(), 1);
    const after = Math.ceil(Date.now() / 1000);
    assert.equal(receiver.requests.length, 1);
    const [request] = receiver.requests;
    assert.ok(request?.verified, 'the signature verifies');
    assert.equal(request.method, 'POST');
    assert.equal(request.contentType, 'application/json');
    assert.equal(request.body, payload, 'the body is the stored payload, byte for byte');
    assert.equal(request.headers['webhook-id'], 'msg_first');
    const timestamp = Number(request.headers['webhook-timestamp']);
    assert.ok(Number.isInteger(timestamp) && timestamp >= before && timestamp <= after, `unix seconds of the send: ${timestamp}`);
    assert.match(request.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/u);
    assert.equal(
      request.headers['webhook-signature'],
      signWebhook(SECRET, 'msg_first', new Date(timestamp * 1000), payload),
      'signWebhook gives what the dispatcher sent',
    );
    const [delivery] = await deliveriesOf('msg_first');
    assert.equal(delivery?.state, 'delivered');
    assert.equal(delivery.attempts, 1);
    assert.ok(delivery.deliveredAt && delivery.deliveredAt.getTime() >= before * 1000);
    const [attempt, ...more] = await store.attempts('msg_first');
    assert.deepEqual(more, []);
    assert.equal(attempt?.status, 200);
    assert.equal(attempt.error, null);
    assert.equal(attempt.attempt, 1);
    assert.equal(Math.floor(attempt.at.getTime() / 1000), timestamp, 'the attempt is kept at the time it was signed');
    assert.equal(await dispatcher.runOnce(), 0, 'nothing more to send');
  });

  test('a receiver failing three ways (500, no answer, a reset) then accepting: delivered on attempt 4, every attempt kept', async () => {
    receiver.script('/hooks', 500, 'hang', 'reset', 200);
    await seed('msg_flaky');
    await settle();
    const [delivery] = await deliveriesOf('msg_flaky');
    assert.equal(delivery?.state, 'delivered');
    assert.equal(delivery.attempts, 4);
    assert.equal(delivery.lastError, null);
    const attempts = await store.attempts('msg_flaky');
    assert.deepEqual(
      attempts.map((attempt) => [attempt.attempt, attempt.status]),
      [
        [1, 500],
        [2, null],
        [3, null],
        [4, 200],
      ],
    );
    assert.equal(attempts[0]?.error, 'HTTP 500: database down line two', "the start of the receiver's answer, on one line");
    assert.equal(attempts[1]?.error, 'no answer within 200 ms');
    assert.ok(attempts[1].durationMs >= 190, `timed out at ${attempts[1].durationMs} ms`);
    assert.match(attempts[2]?.error ?? '', /other side closed|socket|reset/iu);
    assert.equal(attempts[3]?.error, null);
    assert.equal(receiver.requests.length, 4);
    assert.ok(receiver.requests.every((request) => request.verified && request.headers['webhook-id'] === 'msg_flaky'));
    assert.equal(receiver.accepted.get('msg_flaky'), 1, 'accepted once');
  });

  test('maxAttempts reached: failed, logged, listed as failed; a replay makes it pending and it is delivered', async () => {
    dispatcher = new WebhookDispatcher({ store, config: configOf({ maxAttempts: 2 }), log });
    receiver.script('/hooks', 503, 503);
    await seed('msg_down');
    await settle();
    const [failed] = await deliveriesOf('msg_down');
    assert.equal(failed?.state, 'failed');
    assert.equal(failed.attempts, 2);
    assert.match(failed.lastError ?? '', /^HTTP 503: /u);
    assert.deepEqual(
      (await store.listDeliveries({ state: 'failed', limit: 10 })).deliveries.map((delivery) => delivery.eventId),
      ['msg_down'],
    );
    const warning = logged
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.eventId === 'msg_down' && line.level === 40);
    assert.match(String(warning?.msg), /failed after 2 attempts/u);
    assert.equal(await dispatcher.runOnce(), 0, 'a failed delivery is not retried on its own');
    assert.equal(await store.replay('msg_down', new Date()), 1);
    assert.equal((await deliveriesOf('msg_down'))[0]?.state, 'pending');
    assert.equal(await dispatcher.runOnce(), 1);
    const [delivered] = await deliveriesOf('msg_down');
    assert.equal(delivered?.state, 'delivered');
    assert.equal(delivered.attempts, 3, 'the count continues across the replay');
    assert.deepEqual(
      (await store.attempts('msg_down')).map((attempt) => attempt.status),
      [503, 503, 200],
    );
    assert.equal(await store.replay('msg_down', new Date()), 0, 'a delivered event is not replayed');
  });

  test('a redirect is a failure, and is not followed', async () => {
    receiver.script('/hooks', { redirect: receiver.url('/elsewhere') });
    await seed('msg_moved');
    assert.equal(await dispatcher.runOnce(), 1);
    assert.deepEqual(
      receiver.requests.map((request) => request.path),
      ['/hooks'],
    );
    const [attempt] = await store.attempts('msg_moved');
    assert.equal(attempt?.status, 302);
    assert.equal(attempt.error, 'HTTP 302: redirects are not followed');
    const [delivery] = await deliveriesOf('msg_moved');
    assert.equal(delivery?.state, 'pending');
    assert.equal(delivery.attempts, 1);
  });

  test('two dispatchers on one store, their rounds at once: each delivery is sent once', async () => {
    const other = new WebhookDispatcher({ store, config: configOf(), log });
    const ids = Array.from({ length: 20 }, (_, i) => `msg_${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      receiver.script('/hooks', { slowMs: 10 });
      await seed(id);
    }
    const claimed = await Promise.all([dispatcher.runOnce(), other.runOnce(), dispatcher.runOnce(), other.runOnce()]);
    assert.equal(
      claimed.reduce((sum, count) => sum + count, 0),
      20,
    );
    await settle(other);
    assert.deepEqual(receiver.requests.map((request) => request.headers['webhook-id']).sort(), ids);
    assert.ok(ids.every((id) => receiver.accepted.get(id) === 1));
    assert.deepEqual((await store.listDeliveries({ state: 'delivered', limit: 100 })).deliveries.length, 20);
    await other.stop();
  });

  test('two URLs: two deliveries of their own; one failing does not hold up the other', async () => {
    receiver.script('/down', 500, 500, 500, 500, 500);
    await seed('msg_two', ['/up', '/down']);
    assert.equal(await dispatcher.runOnce(), 2);
    const byUrl = new Map((await deliveriesOf('msg_two')).map((delivery) => [delivery.url, delivery]));
    assert.equal(byUrl.get(receiver.url('/up'))?.state, 'delivered');
    assert.equal(byUrl.get(receiver.url('/down'))?.state, 'pending');
    assert.equal(byUrl.get(receiver.url('/down'))?.attempts, 1);
    assert.ok(receiver.requests.every((request) => request.verified && request.headers['webhook-id'] === 'msg_two'));
  });

  test('no receiver listening, or a URL that does not parse: attempts kept with the reason, and no status', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    await seedEvent(db, sqliteLifecycleDialect, {
      id: 'msg_nobody',
      urls: [`http://127.0.0.1:${port}/hooks`, 'http://[::1/hooks?token=s3cret'],
    });
    assert.equal(await dispatcher.runOnce(), 2);
    const attempts = await store.attempts('msg_nobody');
    assert.deepEqual(
      attempts.map((attempt) => attempt.status),
      [null, null],
    );
    const errorOf = (url: string) => attempts.find((attempt) => attempt.url === url)?.error ?? '';
    assert.match(errorOf(`http://127.0.0.1:${port}/hooks`), /ECONNREFUSED/u);
    assert.equal(errorOf('http://[::1/hooks?token=s3cret'), 'ERR_INVALID_URL: Invalid URL');
  });

  test('start() sends in the background; stop() waits for the send under way to be recorded', async () => {
    receiver.script('/hooks', { slowMs: 150 });
    await seed('msg_background');
    dispatcher.start();
    const deadline = Date.now() + 3000;
    while (receiver.requests.length === 0) {
      if (Date.now() > deadline) assert.fail('not sent within 3 s');
      await sleep(5);
    }
    assert.equal((await deliveriesOf('msg_background'))[0]?.state, 'pending', 'still being sent');
    await dispatcher.stop();
    assert.equal((await deliveriesOf('msg_background'))[0]?.state, 'delivered');
    await seed('msg_after_stop');
    await sleep(50);
    assert.equal((await deliveriesOf('msg_after_stop'))[0]?.state, 'pending', 'stopped: no more rounds');
  });

  test('the logs hold neither the secret nor a signature, even when a receiver echoes the request back', async () => {
    receiver.script('/hooks', 'echo');
    await seed('msg_echo');
    await dispatcher.runOnce();
    const [attempt] = await store.attempts('msg_echo');
    assert.equal(attempt?.status, 400);
    assert.match(attempt.error ?? '', /\[signature\]/u, 'the echoed signature is masked in the error kept');
    const sent = receiver.requests[0]?.headers['webhook-signature'] ?? '';
    assert.ok(!(attempt.error ?? '').includes(sent.slice(3)));
    signaturesSent.add(sent);
    const lines = logged.join('');
    assert.match(lines, /webhook delivered/u, 'the earlier tests logged');
    assert.ok(signaturesSent.size > 20);
    assert.ok(!lines.includes(SECRET.slice('whsec_'.length)), 'the secret reached the logs');
    for (const signature of signaturesSent) assert.ok(!lines.includes(signature.slice(3)), 'a signature reached the logs');
  });
});

describe('webhook secrets', () => {
  test('a Standard Webhooks secret of 24 random bytes or more is accepted', () => {
    assert.equal(validateWebhookSecret(SECRET), undefined);
    assert.equal(validateWebhookSecret(`whsec_${randomBytes(24).toString('base64')}`), undefined);
  });

  test('what is wrong is said, without the secret', () => {
    const cases: [string, RegExp][] = [
      [randomBytes(32).toString('base64'), /must start with "whsec_"/u],
      [`whsec_${randomBytes(32).toString('base64url')}-_`, /base64 \(the standard alphabet, padded\)/u],
      [`whsec_${randomBytes(32).toString('base64').replace(/=+$/u, '')}`, /padded/u],
      [`whsec_${randomBytes(16).toString('base64')}`, /holds 16 bytes .*at least 24/u],
      ['whsec_', /holds 0 bytes/u],
    ];
    for (const [secret, problem] of cases) {
      const message = validateWebhookSecret(secret) ?? '';
      assert.match(message, problem);
      const encoded = secret.replace(/^whsec_/u, '');
      if (encoded !== '') assert.ok(!message.includes(encoded.slice(0, 8)), 'the secret is in the message');
    }
  });

  test('a dispatcher refuses a bad secret at construction, without echoing it', async () => {
    const { db } = await openSqliteDatabase<LifecycleSchema>(
      ':memory:',
      lifecycleMigrations(sqliteLifecycleDialect),
      'lifecycle_migration',
    );
    try {
      const secret = `whsec_${randomBytes(8).toString('base64')}`;
      assert.throws(
        () => new WebhookDispatcher({ store: outboxQueries(db, sqliteLifecycleDialect), config: configOf({ secret }), log }),
        (error: unknown) =>
          error instanceof Error && /the webhook secret holds 8 bytes/u.test(error.message) && !error.message.includes(secret),
      );
    } finally {
      await db.destroy();
    }
  });
});
