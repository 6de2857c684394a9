import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { bearer } from '../helpers/tokens.js';

/*
 * The real servers stopped, frozen and brought back under a running broker: PostgreSQL (scripts/local-postgres.sh,
 * a cluster kept in a directory so it can be restarted) and Redis (scripts/local-redis.sh). Grants must fail fast
 * with 503 while a server is away, never hang and never grant, and come back by themselves when it returns.
 */

const root = new URL('../..', import.meta.url).pathname;
const port = (): number => 40_000 + Math.floor(Math.random() * 9_000);

/** Starts one of the local service scripts and waits for its ready line. */
async function startScript(
  script: string,
  args: string[],
  ready: RegExp,
): Promise<{ process: ChildProcess; line: string; stop(): Promise<void> }> {
  const child = spawn('bash', [join(root, 'scripts', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready:\n${output}`)), 60_000);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${output}`)));
  });
  return {
    process: child,
    line,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Every process of a PostgreSQL server (the postmaster and its backends), paused or resumed. */
function signalServer(postmasterPid: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const children = execFileSync('pgrep', ['-P', String(postmasterPid)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);
  for (const pid of [postmasterPid, ...children]) process.kill(pid, signal);
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
}

/** Polls `check` until it holds; fails after `withinMs`. */
async function eventually(check: () => Promise<boolean>, withinMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    assert.ok(Date.now() - started < withinMs, `${what}: not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const which = (command: string): boolean => {
  try {
    execFileSync('bash', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('PostgreSQL stopped or frozen under a running broker', { skip: !which('pgrep') && 'pgrep is not installed' }, () => {
  const dataDir = join(tmpdir(), `broker-outage-${randomBytes(4).toString('hex')}`);
  const pgPort = port();
  const url = `postgres://broker:broker@127.0.0.1:${pgPort}/broker`;
  let server: Awaited<ReturnType<typeof startScript>>;
  let app: FastifyInstance;
  const alice = bearer({ sub: 'alice' });
  const TIMEOUT_MS = 500;

  const startServer = async () =>
    startScript('local-postgres.sh', ['--port', String(pgPort), '--data-dir', dataDir], /postgres ready: .*\(server pid (\d+)\)/u);
  const postmasterPid = (): number => Number(/\(server pid (\d+)\)/u.exec(server.line)?.[1]);
  const download = async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['shared/plan.pdf'] }, headers: alice });
    const [result] = response.statusCode === 200 ? response.json<{ results: { url?: string }[] }>().results : [];
    return {
      status: response.statusCode,
      granted: result?.url !== undefined,
      code: response.statusCode === 200 ? undefined : response.json<{ code: string }>().code,
    };
  };
  const ready = async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode;

  before(async () => {
    server = await startServer();
    // The cache off: every grant asks the database, so an outage shows at once rather than after its bound.
    const store = { kind: 'postgres' as const, url, migrateOnStart: true, timeoutMs: TIMEOUT_MS, poolSize: 4 };
    app = await testApp({ config: testConfig({ overrides: { store } }) });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.end();
    await app.entitlements.create(
      { subject: 'alice', resources: ['shared/*'], actions: ['read'], grantedBy: 'test', reason: 'outage' },
      new Date(),
    );
    assert.deepEqual(await download(), { status: 200, granted: true, code: undefined });
  });
  after(async () => {
    await app?.close();
    await server?.stop();
    // Made by the postgres user when run as root; removed the same way the script made it.
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('frozen (a server that accepts nothing and answers nothing): 503 within the bound, not ready; back by itself', async () => {
    signalServer(postmasterPid(), 'SIGSTOP');
    try {
      const { value, ms } = await timed(download());
      assert.deepEqual(value, { status: 503, granted: false, code: 'BROKER_STORE_UNAVAILABLE' });
      assert.ok(ms < TIMEOUT_MS * 4, `answered in ${ms} ms`);
      const readiness = await timed(ready());
      assert.equal(readiness.value, 503);
      assert.ok(readiness.ms < TIMEOUT_MS * 4, `readyz answered in ${readiness.ms} ms`);
    } finally {
      signalServer(postmasterPid(), 'SIGCONT');
    }
    await eventually(async () => (await download()).granted, 10_000, 'grants after the thaw');
    assert.equal(await ready(), 200);
  });

  test('stopped: 503 at once, not ready; restarted: grants resume with no restart of the broker', async () => {
    await server.stop();
    const { value, ms } = await timed(download());
    assert.deepEqual(value, { status: 503, granted: false, code: 'BROKER_STORE_UNAVAILABLE' });
    assert.ok(ms < TIMEOUT_MS * 4, `answered in ${ms} ms`);
    assert.equal(await ready(), 503);
    server = await startServer();
    await eventually(async () => (await download()).granted, 15_000, 'grants after the restart');
    assert.equal(await ready(), 200);
  });
});

describe('Redis stopped under running brokers', { skip: !which('redis-server') && 'redis-server is not installed' }, () => {
  const redisPort = port();
  let redis: Awaited<ReturnType<typeof startScript>>;
  let open: FastifyInstance;
  let closed: FastifyInstance;
  const sub = (): string => `sub-${randomBytes(4).toString('hex')}`;
  const download = async (app: FastifyInstance, subject: string) =>
    app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a.png'] }, headers: bearer({ sub: subject }) });

  before(async () => {
    redis = await startScript('local-redis.sh', ['--port', String(redisPort)], /redis ready: /u);
    const limits = (onStoreFailure: 'open' | 'closed') => ({
      perSubject: 2,
      perAddress: 0,
      windowMs: 60_000,
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      onStoreFailure,
    });
    open = await testApp({ config: testConfig({ overrides: { rateLimits: limits('open') } }) });
    closed = await testApp({ config: testConfig({ overrides: { rateLimits: limits('closed') } }) });
  });
  after(async () => {
    await open?.close();
    await closed?.close();
    await redis?.stop();
  });

  test('while it is away: "open" grants without limits, "closed" refuses with 503 at once; when it is back, limits count again', async () => {
    const counted = sub();
    assert.deepEqual(
      [
        (await download(closed, counted)).statusCode,
        (await download(closed, counted)).statusCode,
        (await download(closed, counted)).statusCode,
      ],
      [200, 200, 429],
    );
    await redis.stop();

    const subject = sub();
    for (let i = 0; i < 4; i += 1) assert.equal((await download(open, subject)).statusCode, 200, 'open: grants go on, unlimited');
    const { value, ms } = await timed(download(closed, sub()));
    assert.equal(value.statusCode, 503);
    assert.equal(value.json<{ code: string }>().code, 'BROKER_RATE_LIMIT_UNAVAILABLE');
    assert.ok(ms < 2000, `answered in ${ms} ms`);

    redis = await startScript('local-redis.sh', ['--port', String(redisPort)], /redis ready: /u);
    const again = sub();
    await eventually(async () => (await download(closed, again)).statusCode !== 503, 10_000, 'the closed broker after Redis returns');
    assert.equal((await download(closed, again)).statusCode, 200);
    assert.equal((await download(closed, again)).statusCode, 429, 'counting again');
  });
});
