import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { RateLimitConfig } from '../../src/config/config.js';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { startRedis } from '../helpers/redis.js';
import { bearer } from '../helpers/tokens.js';

const limits = (overrides: Partial<RateLimitConfig> = {}): RateLimitConfig => ({
  perSubject: 3,
  perAddress: 5,
  windowMs: 60_000,
  redisUrl: undefined,
  onStoreFailure: 'open',
  ...overrides,
});
const appWith = (rateLimits: RateLimitConfig) => testApp({ config: testConfig({ overrides: { rateLimits } }) });
// Unique per run: counts in a shared Redis outlive a test run by up to a window.
const subject = (name: string): string => `${name}-${randomBytes(4).toString('hex')}`;

async function download(app: FastifyInstance, sub: string, remoteAddress = '198.51.100.1') {
  return app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a.png'] }, headers: bearer({ sub }), remoteAddress });
}

describe('rate limits on grant routes, in memory', async () => {
  const app = await appWith(limits());
  after(() => app.close());

  test('past its subject limit a caller gets 429 with Retry-After and a problem body; other subjects do not', async () => {
    const alice = subject('alice');
    for (let i = 0; i < 3; i += 1) assert.equal((await download(app, alice, '198.51.100.1')).statusCode, 200);
    const limited = await download(app, alice, '198.51.100.2');
    assert.equal(limited.statusCode, 429, limited.body);
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, String(limited.headers['retry-after']));
    assert.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8');
    const problem = limited.json<{ code: string; status: number; detail: string }>();
    assert.equal(problem.code, 'BROKER_RATE_LIMITED');
    assert.equal(problem.status, 429);
    assert.match(problem.detail, /^too many grant requests for this subject; retry in \d+ s$/u);
    assert.equal((await download(app, subject('bob'), '198.51.100.3')).statusCode, 200);
  });

  test('past its address limit every subject from that address gets 429, whatever its own count', async () => {
    const address = '203.0.113.7';
    for (let i = 0; i < 5; i += 1) assert.equal((await download(app, subject('many'), address)).statusCode, 200);
    const limited = await download(app, subject('fresh'), address);
    assert.equal(limited.statusCode, 429);
    assert.match(limited.json<{ detail: string }>().detail, /for this address/u);
    assert.equal((await download(app, subject('fresh'), '203.0.113.8')).statusCode, 200);
  });

  test('IPv6 addresses count per /64: rotating the host part does not escape the limit', async () => {
    for (let i = 0; i < 5; i += 1) assert.equal((await download(app, subject('v6'), `2001:db8:1:2::${i + 1}`)).statusCode, 200);
    assert.equal((await download(app, subject('v6'), '2001:db8:1:2::ffff')).statusCode, 429);
    assert.equal((await download(app, subject('v6'), '2001:db8:1:3::1')).statusCode, 200);
  });

  test('only grant routes count: reading what one may do, and health, are never limited', async () => {
    const carol = subject('carol');
    for (let i = 0; i < 3; i += 1) await download(app, carol, '192.0.2.50');
    assert.equal((await download(app, carol, '192.0.2.50')).statusCode, 429);
    for (let i = 0; i < 10; i += 1) {
      const mine = await app.inject({
        method: 'GET',
        url: '/v1/me/entitlements',
        headers: bearer({ sub: carol }),
        remoteAddress: '192.0.2.50',
      });
      assert.equal(mine.statusCode, 200);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.50' })).statusCode, 200);
  });

  test('unauthenticated requests are refused before they are counted against anyone', async () => {
    for (let i = 0; i < 10; i += 1) {
      const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['a'] }, remoteAddress: '192.0.2.99' });
      assert.equal(response.statusCode, 401);
    }
    assert.equal((await download(app, subject('after'), '192.0.2.99')).statusCode, 200);
  });
});

describe('rate limits in Redis, shared by replicas', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => redis?.stop());

  test('two brokers on one Redis count one subject together', async () => {
    const [one, two] = [await appWith(limits({ redisUrl: redis.url })), await appWith(limits({ redisUrl: redis.url }))];
    try {
      const dana = subject('dana');
      assert.equal((await download(one, dana, '198.51.100.21')).statusCode, 200);
      assert.equal((await download(two, dana, '198.51.100.22')).statusCode, 200);
      assert.equal((await download(one, dana, '198.51.100.23')).statusCode, 200);
      const limited = await download(two, dana, '198.51.100.24');
      assert.equal(limited.statusCode, 429, limited.body);
      assert.ok(Number(limited.headers['retry-after']) >= 1);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('Redis unreachable: "open" still grants, "closed" answers 503 at once', async () => {
    const unreachable = 'redis://127.0.0.1:1';
    const open = await appWith(limits({ redisUrl: unreachable, onStoreFailure: 'open' }));
    const closed = await appWith(limits({ redisUrl: unreachable, onStoreFailure: 'closed' }));
    try {
      for (let i = 0; i < 5; i += 1) assert.equal((await download(open, subject('erin'))).statusCode, 200);
      const started = Date.now();
      const refused = await download(closed, subject('erin'));
      assert.equal(refused.statusCode, 503, refused.body);
      assert.equal(refused.json<{ code: string }>().code, 'BROKER_RATE_LIMIT_UNAVAILABLE');
      assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
      assert.equal((await closed.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'closed: not ready without Redis');
      assert.equal((await open.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'open: ready, grants go on');
    } finally {
      await open.close();
      await closed.close();
    }
  });
});
