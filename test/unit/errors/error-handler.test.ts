import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { BrokerError } from '../../../src/errors/catalogue.js';
import { errorHandlerFor, notFoundHandlerFor, problemPlugin } from '../../../src/errors/error-handler.js';
import type { ErrorFormatter } from '../../../src/errors/problem.js';

/** A protocol with its own error shape, as Uppy Companion's S3 routes have. */
const companionStyle: ErrorFormatter = {
  send: (_request, reply, { code, detail }) => reply.code(code === 'BROKER_NOT_FOUND' ? 404 : 400).send({ message: detail, code }),
};

async function bareApp(): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(problemPlugin);
  app.get('/items/:id', async () => ({ ok: true }));
  app.post('/items/:id', async () => ({ ok: true }));
  app.get('/failing', async () => {
    throw new BrokerError('BROKER_FORBIDDEN', 'not yours');
  });
  app.get('/crashing', async () => {
    throw new Error('SQLITE_CORRUPT at /var/lib/secret');
  });
  // Registered after the not-found handler was set, and inside a prefix: the router still knows them.
  await app.register(
    async (late) => {
      late.delete('/things/:thingId/parts/*', async () => null);
    },
    { prefix: '/late' },
  );
  await app.register(
    async (s3) => {
      s3.setErrorHandler(errorHandlerFor(companionStyle));
      s3.setNotFoundHandler(notFoundHandlerFor(s3, companionStyle));
      s3.get('/failing', async () => {
        throw new BrokerError('BROKER_FORBIDDEN', 'not yours');
      });
    },
    { prefix: '/s3' },
  );
  return app;
}

describe('the error handler', async () => {
  const app = await bareApp();
  after(() => app.close());

  test('a BrokerError is a problem with its catalogue status and code', async () => {
    const response = await app.inject({ url: '/failing' });
    assert.equal(response.statusCode, 403);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.equal(response.json<{ code: string; detail: string }>().code, 'BROKER_FORBIDDEN');
  });

  test('an unexpected error is a 500 that tells nothing of the server', async () => {
    const response = await app.inject({ url: '/crashing' });
    assert.equal(response.statusCode, 500);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_INTERNAL');
    assert.doesNotMatch(response.body, /SQLITE|secret/);
  });

  test('405 with Allow is read from the router: parameters match', async () => {
    const response = await app.inject({ method: 'DELETE', url: '/items/42' });
    assert.equal(response.statusCode, 405);
    assert.equal(response.headers.allow, 'GET, POST');
  });

  test('405 also for routes registered later, under a prefix, with a wildcard', async () => {
    const response = await app.inject({ method: 'GET', url: '/late/things/7/parts/a/b/c' });
    assert.equal(response.statusCode, 405);
    assert.equal(response.headers.allow, 'DELETE');
  });

  test('a path no route matches is 404, whatever the method', async () => {
    for (const method of ['GET', 'POST', 'DELETE'] as const) {
      const response = await app.inject({ method, url: '/items/42/more' });
      assert.equal(response.statusCode, 404, method);
      assert.equal(response.json<{ code: string }>().code, 'BROKER_NOT_FOUND');
    }
  });

  test('the query string is not part of the path that is matched', async () => {
    const response = await app.inject({ method: 'PUT', url: '/items/42?x=/y' });
    assert.equal(response.statusCode, 405);
  });

  test('a context with its own formatter answers in its shape; the rest keeps problem+json', async () => {
    const inside = await app.inject({ url: '/s3/failing' });
    assert.equal(inside.statusCode, 400);
    assert.deepEqual(inside.json(), { message: 'not yours', code: 'BROKER_FORBIDDEN' });
    const missing = await app.inject({ url: '/s3/nothing' });
    assert.deepEqual(missing.json(), { message: 'no route GET /s3/nothing', code: 'BROKER_NOT_FOUND' });
    const outside = await app.inject({ url: '/nothing' });
    assert.match(String(outside.headers['content-type']), /^application\/problem\+json/);
  });
});
