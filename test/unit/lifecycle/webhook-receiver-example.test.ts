import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { createReceiver, type UploadEvent } from '../../../examples/webhook-receiver/receiver.js';
import { signWebhook } from '../../../src/webhooks/delivery.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const handled: UploadEvent[] = [];
const server = createReceiver(secret, async (event) => void handled.push(event));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/uploads`;

const body = JSON.stringify({ type: 'upload.verified', timestamp: new Date().toISOString(), data: { id: 'upl_1', key: 'a.png' } });
const send = (payload: string, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
const signed = (id: string, at: Date, payload = body, key = secret) => ({
  'webhook-id': id,
  'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
  'webhook-signature': signWebhook(key, id, at, payload),
});

test("the README's receiver accepts the broker's signature, and each event id once", async () => {
  const headers = signed('msg_one', new Date());
  assert.equal((await send(body, headers)).status, 204);
  assert.equal((await send(body, headers)).status, 204, 'a retry is acknowledged');
  assert.equal(handled.filter((event) => event.data.id === 'upl_1').length, 1, 'and handled once');
});

test('it refuses another secret, a changed body, and a stale timestamp', async () => {
  const other = `whsec_${randomBytes(32).toString('base64')}`;
  assert.equal((await send(body, signed('msg_two', new Date(), body, other))).status, 401);
  assert.equal((await send(body.replace('a.png', 'b.png'), signed('msg_three', new Date()))).status, 401);
  assert.equal((await send(body, signed('msg_four', new Date(Date.now() - 10 * 60_000)))).status, 401);
  assert.equal(handled.length, 1);
});
