import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSigner } from 'fast-jwt';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRedis } from '../helpers/redis.js';

const root = new URL('../..', import.meta.url).pathname;
const JWT_SECRET = randomBytes(32).toString('base64');
const sign = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 600_000 });
const bearer = (claims: Record<string, unknown>) => ({ authorization: `Bearer ${sign(claims)}` });
const admin = bearer({ sub: 'billing', scope: 'broker:admin' });

interface Replica {
  readonly origin: string;
  stop(): Promise<void>;
}

/** One broker process, as a deployment runs it: its own port, the shared PostgreSQL and Redis. */
async function startReplica(env: Record<string, string>): Promise<Replica> {
  const dataDir = await mkdtemp(join(tmpdir(), 'replica-'));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DOTENV_CONFIG_PATH: '/dev/null',
      DATA_DIR: dataDir,
      PORT: '0',
      CLOUDFRONT_DOMAIN: '', // S3 presigned URLs: no edge to start, no S3 call to make
      JWT_SECRET,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a replica did not start:\n${output}`)), 30_000);
    child.stdout?.on('data', () => {
      const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/u.exec(output)?.[1];
      if (address) {
        clearTimeout(timer);
        resolve(address);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`a replica exited with ${code}:\n${output}`));
    });
  });
  return {
    origin,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function call(replica: Replica, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(`${replica.origin}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: () => JSON.parse(text) as Record<string, unknown>, text };
}

describe('two broker processes sharing PostgreSQL and Redis', () => {
  let postgres: PostgresServer;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let one: Replica;
  let two: Replica;

  before(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    const database = await postgres.freshDatabase();
    // The cache's own bound is a minute: a revocation can only reach the other replica in time by NOTIFY.
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      REVOCATION_MAX_DELAY_SECONDS: '60',
      RATE_LIMIT_PER_SUBJECT: '6',
      RATE_LIMIT_PER_ADDRESS: '1000',
    };
    [one, two] = await Promise.all([startReplica(env), startReplica(env)]);
  });
  after(async () => {
    await one?.stop();
    await two?.stop();
    await postgres?.stop();
    await redis?.stop();
  });

  test('an entitlement granted through one is honoured by the other; its revocation through one stops grants on the other within a second', async () => {
    const sub = `alice-${randomBytes(4).toString('hex')}`;
    const alice = bearer({ sub });
    const download = async (replica: Replica) => {
      const response = await call(replica, 'POST', '/v1/downloads', alice, { keys: ['courses/rust/01.mp4'] });
      assert.equal(response.status, 200, response.text);
      const [result] = response.json().results as { url?: string; error?: { code: string } }[];
      return result?.url === undefined ? result?.error?.code : 'granted';
    };
    assert.equal(await download(two), 'BROKER_FORBIDDEN', 'nothing yet (and now cached as nothing on two)');
    const created = await call(one, 'POST', '/v1/admin/entitlements', admin, {
      subject: sub,
      resources: ['courses/rust/*'],
      actions: ['read'],
      reason: 'order 7',
    });
    assert.equal(created.status, 201, created.text);
    const within = async (replica: Replica, wanted: string, ms: number): Promise<number> => {
      const started = Date.now();
      while ((await download(replica)) !== wanted) {
        assert.ok(Date.now() - started < ms, `not ${wanted} on the other replica within ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return Date.now() - started;
    };
    await within(two, 'granted', 1000);
    assert.equal(await download(one), 'granted', 'one has the grant cached now: only a NOTIFY can tell it of the revocation');
    const revoked = await call(two, 'DELETE', `/v1/admin/entitlements/${String(created.json().id)}`, admin);
    assert.equal(revoked.status, 204, revoked.text);
    await within(one, 'BROKER_FORBIDDEN', 1000);
  });

  test("a rate limit counts one subject's requests to both", async () => {
    const sub = `bob-${randomBytes(4).toString('hex')}`;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const replica = i % 2 === 0 ? one : two;
      statuses.push((await call(replica, 'POST', '/v1/downloads', bearer({ sub }), { keys: ['public/a.png'] })).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
  });
});
