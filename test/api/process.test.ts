import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const tsx = ['--import', 'tsx'];
// A clean environment: the test runner's own variables (S3_ENDPOINT in CI) must not leak in.
const baseEnv = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  DOTENV_CONFIG_PATH: '/dev/null', // a developer's .env must not change what these tests see
};

describe('the broker as a process, on its embedded defaults', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'broker-process-'));
  const server = spawn(process.execPath, [...tsx, 'src/server.ts'], {
    cwd: root,
    // EDGE_PORT=0: the local edge this starts must not collide with a developer's own on 8787.
    // A one-second revocation bound: the CLI writes behind the broker's cache, which may answer from memory that long.
    env: { ...baseEnv, DATA_DIR: dataDir, PORT: '0', EDGE_PORT: '0', LOG_LEVEL: 'info', REVOCATION_MAX_DELAY_SECONDS: '1' },
  });
  let stderr = '';
  let stdout = '';
  server.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const origin = await new Promise<string>((resolve, reject) => {
    server.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/u.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 20_000).unref();
  });
  after(async () => {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  test('starts with a loud development banner listing its defaults', () => {
    assert.match(stderr, /ACCESS BROKER IN DEVELOPMENT MODE/);
    assert.match(stderr, /development secret in DATA_DIR/);
  });

  test('prints no warning on start (Node version, deprecations, experimental features)', () => {
    assert.doesNotMatch(stderr, /warn/iu);
  });

  test('npm run dev-token prints a token on stdout that the running broker accepts', async () => {
    const { stdout } = await run(
      process.execPath,
      [...tsx, 'src/cli/dev-token.ts', '--sub', 'alice', '--role', 'editor', '--claim', 'plan=pro'],
      { cwd: root, env: { ...baseEnv, DATA_DIR: dataDir } },
    );
    const tokenText = stdout.trim();
    assert.match(tokenText, /^[\w-]+\.[\w-]+\.[\w-]+$/u, 'stdout holds only the token');
    const claims = JSON.parse(Buffer.from(tokenText.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual({ sub: claims.sub, roles: claims.roles, plan: claims.plan }, { sub: 'alice', roles: ['editor'], plan: 'pro' });
    const response = await fetch(`${origin}/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenText}`, 'content-type': 'application/json' },
      body: JSON.stringify({ contentType: 'image/png', contentLength: 10 }),
    });
    assert.equal(response.status, 201);
    assert.match(((await response.json()) as { key: string }).key, /^uploads\/alice\//u);
  });

  test('npm run entitlements grants and revokes while the broker runs, taking effect within REVOCATION_MAX_DELAY_SECONDS', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, [...tsx, 'src/cli/entitlements.ts', ...args], { cwd: root, env: { ...baseEnv, DATA_DIR: dataDir } });
    const { stdout: tokenText } = await run(process.execPath, [...tsx, 'src/cli/dev-token.ts', '--sub', 'carol'], {
      cwd: root,
      env: { ...baseEnv, DATA_DIR: dataDir },
    });
    const download = async () => {
      const response = await fetch(`${origin}/v1/downloads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokenText.trim()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ keys: ['courses/rust/01.mp4'] }),
      });
      return ((await response.json()) as { results: { url?: string; error?: { code: string } }[] }).results[0];
    };
    /** Polls until the download's outcome is `wanted`; fails past the bound (1 s) and a margin. */
    const until = async (wanted: 'granted' | 'BROKER_FORBIDDEN'): Promise<void> => {
      const started = Date.now();
      for (;;) {
        const result = await download();
        if ((result?.url === undefined ? result?.error?.code : 'granted') === wanted) return;
        assert.ok(Date.now() - started < 1500, `still not ${wanted} after ${Date.now() - started} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    assert.equal((await download())?.error?.code, 'BROKER_FORBIDDEN');
    const { stdout } = await cli('grant', '--sub', 'carol', '--resource', 'courses/rust/*', '--by', 'shop', '--reason', 'order 42');
    const { id } = JSON.parse(stdout) as { id: string };
    await until('granted');
    await cli('revoke', id);
    await until('BROKER_FORBIDDEN');
    await assert.rejects(cli('grant', '--sub', 'carol', '--resource', 'x/*'), /--by and --reason are required/);
  });

  test('runs the local CloudFront edge beside it: bundle cookies work out of the box, and the edge checks them', async () => {
    assert.match(stderr, /CloudFront: a local edge at http:\/\/localhost:0, run beside the broker/u);
    const edge = /"address":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"edge ready"/u.exec(stdout)?.[1];
    assert.ok(edge, stdout);
    const port = new URL(edge).port;
    const { stdout: token } = await run(process.execPath, [...tsx, 'src/cli/dev-token.ts', '--sub', 'dora'], {
      cwd: root,
      env: { ...baseEnv, DATA_DIR: dataDir },
    });
    const granted = await fetch(`${origin}/v1/bundles/demo/cookies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.trim()}` },
    });
    assert.equal(granted.status, 200);
    const { resource } = (await granted.json()) as { resource: string };
    assert.equal(resource, `http://localhost:${port}/public/demo/*`, 'signed for the edge on the port it got');
    const cookie = granted.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    const refused = await fetch(`${edge}/public/demo/intro.txt`);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /<Code>AccessDenied<\/Code>/u);
    // Past the signature check the edge asks S3, which may not run here: anything but the edge's 403.
    const allowed = await fetch(`${edge}/public/demo/intro.txt`, { headers: { cookie } });
    assert.notEqual(allowed.status, 403, await allowed.text());
  });

  test('serves health, readiness and docs', async () => {
    for (const path of ['/healthz', '/readyz', '/docs/json']) assert.equal((await fetch(`${origin}${path}`)).status, 200, path);
  });
});

describe('the broker in production on development defaults', () => {
  test('refuses to start and names every problem', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'broker-production-'));
    try {
      const failure = await run(process.execPath, [...tsx, 'src/server.ts'], {
        cwd: root,
        env: { ...baseEnv, NODE_ENV: 'production', DATA_DIR: dataDir, PORT: '0' },
      }).then(
        () => assert.fail('the server started'),
        (error: { code?: number; stderr?: string }) => error,
      );
      assert.equal(failure.code, 1);
      assert.match(failure.stderr ?? '', /configuration is not valid \(3 problems\)/);
      for (const name of ['JWKS_URL', 'S3_BUCKET', 'POLICY_FILE']) assert.match(failure.stderr ?? '', new RegExp(name));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the broker in production, configured', () => {
  async function productionEnv(dataDir: string): Promise<Record<string, string>> {
    const dir = await mkdtemp(join(tmpdir(), 'broker-policy-'));
    made.push(dir);
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(policyFile, 'version: 1\nrules: []\n');
    return {
      ...baseEnv,
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      PORT: '0',
      S3_BUCKET: 'my-app-uploads',
      POLICY_FILE: policyFile,
      JWT_SECRET: randomBytes(32).toString('base64'),
    };
  }
  const made: string[] = [];
  after(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

  test('regression: a DATA_DIR that cannot be made is one clear line, not a stack trace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'broker-file-'));
    made.push(dir);
    const file = join(dir, 'not-a-directory');
    await writeFile(file, '');
    const failure = await run(process.execPath, [...tsx, 'src/server.ts'], {
      cwd: root,
      env: await productionEnv(join(file, 'data')),
    }).then(
      () => assert.fail('the server started'),
      (error: { code?: number; stderr?: string }) => error,
    );
    assert.equal(failure.code, 1);
    assert.match(failure.stderr ?? '', /^access-broker: cannot start: .*ENOTDIR/mu);
    assert.doesNotMatch(failure.stderr ?? '', /^\s+at /mu, 'a stack trace was printed');
  });

  test('regression: a missing DATA_DIR is made owner-only, and the database files are 0600', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'broker-data-'));
    made.push(parent);
    const dataDir = join(parent, 'new', 'data');
    const server = spawn(process.execPath, [...tsx, 'src/server.ts'], { cwd: root, env: await productionEnv(dataDir) });
    try {
      await new Promise<void>((resolve, reject) => {
        let output = '';
        server.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Server listening')) resolve();
        });
        server.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        server.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
      });
      assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
      for (const name of await readdir(dataDir)) {
        if (name.startsWith('entitlements.sqlite')) assert.equal((await stat(join(dataDir, name))).mode & 0o777, 0o600, name);
      }
      assert.ok((await readdir(dataDir)).includes('entitlements.sqlite'));
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
  });
});
