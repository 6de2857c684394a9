import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';

/** An object's bytes as a client gets them: a download grant from the broker, then a GET on its URL. */
export async function downloadBytes(app: FastifyInstance, headers: { authorization: string }, key: string): Promise<Buffer> {
  const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [key] }, headers });
  const [result] = response.json<{ results: { url?: string }[] }>().results;
  assert.ok(result?.url, response.body);
  const get = await fetch(result.url);
  assert.equal(get.status, 200);
  return Buffer.from(await get.arrayBuffer());
}
