/**
 * Grant throughput and latency, per grant kind, against an authenticated no-op
 * route measured in the same run: `npm run bench -- [--duration 5] [--connections 10]`.
 *
 * The broker is built in-process with a hand-made Config (HS256 tokens, the
 * development policy, a dummy S3 endpoint that is never contacted, and a
 * CloudFront key pair generated at start) and listens on loopback only.
 * autocannon runs in the same process, so the load generator and the server
 * share one event loop: absolute numbers are lower than a dedicated server
 * would reach, and the ratios are compressed towards 1 by the client's own cost.
 * The "+µs/req" column (1/rps − 1/rps_noop) removes that shared cost: it is the
 * extra CPU time per request that a grant costs over token verification alone.
 *
 * After the HTTP scenarios, the signers (and the store and policy decision)
 * are timed on their own, without HTTP, to show where a grant's time goes.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createSigner } from 'fast-jwt';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { principalFromClaims } from '../src/auth/principal.js';
import type { CloudFrontConfig, Config, S3Config } from '../src/config/config.js';
import { fixedConfig } from '../src/config/fixed-config.js';
import { decide } from '../src/policy/decide.js';
import { createCloudFrontSigner } from '../src/signing/cloudfront-signer.js';
import { createS3Signer } from '../src/signing/s3-signer.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';

// ---------------------------------------------------------------- arguments

const usage = `usage: npm run bench -- [--duration seconds] [--connections n] [--warmup seconds] [--micro seconds]
  --duration     measured seconds per HTTP scenario (default 5)
  --connections  concurrent keep-alive connections (default 10)
  --warmup       unmeasured seconds per HTTP scenario before measuring (default 1; 0 disables)
  --micro        seconds per in-process micro-benchmark (default 1; 0 skips them)`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${usage}\n`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseOptions>;
function parseOptions() {
  return parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      connections: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '1' },
      micro: { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
}
try {
  parsed = parseOptions();
} catch (error) {
  fail((error as Error).message);
}
if (parsed.values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

function numberFlag(name: string, raw: string, { min, integer }: { min: number; integer: boolean }): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    fail(`--${name} must be ${integer ? 'a whole number' : 'a number'} >= ${min}, got "${raw}"`);
  }
  return value;
}

const durationSeconds = numberFlag('duration', parsed.values.duration, { min: 1, integer: true });
const connections = numberFlag('connections', parsed.values.connections, { min: 1, integer: true });
const warmupSeconds = numberFlag('warmup', parsed.values.warmup, { min: 0, integer: true });
const microSeconds = numberFlag('micro', parsed.values.micro, { min: 0, integer: false });

// ---------------------------------------------------------------- configuration

const JWT_SECRET = 'bench-only-hs256-secret-not-used-anywhere-else';
const CLOUDFRONT_DOMAIN = 'd111111abcdef8.cloudfront.net';
const S3_ENDPOINT = 'http://127.0.0.1:9'; // discard port: presigning is offline, nothing is ever sent here
const BUCKET = 'bench-bucket';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const cloudfrontConfig: CloudFrontConfig = {
  domain: CLOUDFRONT_DOMAIN,
  keyPairId: 'KBENCHKEYPAIRID',
  privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  hashAlgorithm: 'SHA1', // the broker's default (CLOUDFRONT_HASH_ALGORITHM unset)
};
const s3Config: S3Config = {
  region: 'us-east-1',
  bucket: BUCKET,
  endpoint: S3_ENDPOINT,
  forcePathStyle: true,
  credentials: { accessKeyId: 'bench-access-key-id', secretAccessKey: 'bench-secret-access-key-never-sent-anywhere' },
};

// The dev policy on fixed values; the store is passed in, so nothing is written.
const baseConfig: Config = fixedConfig({
  s3: s3Config,
  cloudfront: cloudfrontConfig,
  jwt: { ...fixedConfig().jwt, verification: { kind: 'secret', secret: JWT_SECRET }, clockToleranceSeconds: 0 },
});
const s3OnlyConfig: Config = { ...baseConfig, cloudfront: undefined };

const token = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 3_600_000 })({ sub: 'bench' });

async function startApp(config: Config): Promise<{ app: FastifyInstance; origin: string }> {
  const app = await buildApp({ config, store: await openSqliteStore(':memory:'), logger: false });
  // Same token verification as the grant routes, nothing else: the baseline.
  app.post('/bench/noop', { onRequest: (request) => app.authenticate(request) }, async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, origin: `http://127.0.0.1:${port}` };
}

// ---------------------------------------------------------------- scenarios

interface Preflight {
  readonly status: number;
  readonly body: unknown;
  readonly setCookies: readonly string[];
}

interface Scenario {
  readonly name: string;
  readonly target: 'cloudfront' | 's3';
  readonly path: string;
  readonly body: unknown;
  /** A fresh body per request (new keys), so no signature can be reused. */
  readonly bodyFor?: (n: number) => unknown;
  readonly expectStatus: number;
  /** Returns why the first response is not a real grant, or undefined when it is. */
  readonly check: (response: Preflight) => string | undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const uploadBody = { contentType: 'image/png', contentLength: 1024 };
const downloadKeys = (count: number): string[] => Array.from({ length: count }, (_, i) => `public/bench/file-${i}.png`);

function checkDownloads(count: number, urlPrefix: string): (response: Preflight) => string | undefined {
  return ({ body }) => {
    if (!isRecord(body) || !Array.isArray(body.results)) return 'body has no results array';
    if (body.results.length !== count) return `expected ${count} results, got ${body.results.length}`;
    for (const result of body.results as unknown[]) {
      if (!isRecord(result) || typeof result.url !== 'string') return `a key was not granted: ${JSON.stringify(result)}`;
      if (!result.url.startsWith(urlPrefix)) return `url does not start with ${urlPrefix}: ${result.url.slice(0, 80)}`;
    }
    return undefined;
  };
}

const scenarios: readonly Scenario[] = [
  {
    name: 'noop (auth only)',
    target: 'cloudfront',
    path: '/bench/noop',
    body: uploadBody, // same JSON parse as an upload; no schema on this route
    expectStatus: 200,
    check: ({ body }) => (isRecord(body) && body.ok === true ? undefined : 'expected {"ok":true}'),
  },
  {
    name: 'upload PUT',
    target: 'cloudfront',
    path: '/v1/uploads',
    body: uploadBody,
    expectStatus: 201,
    check: ({ body }) =>
      isRecord(body) &&
      body.method === 'PUT' &&
      typeof body.url === 'string' &&
      body.url.startsWith(`${S3_ENDPOINT}/${BUCKET}/uploads/bench/`) &&
      isRecord(body.headers)
        ? undefined
        : `not a PUT grant under uploads/bench/: ${JSON.stringify(body).slice(0, 200)}`,
  },
  {
    name: 'upload POST form',
    target: 'cloudfront',
    path: '/v1/uploads',
    body: { ...uploadBody, method: 'POST' },
    expectStatus: 201,
    check: ({ body }) =>
      isRecord(body) && body.method === 'POST' && isRecord(body.fields) && typeof body.fields.Policy === 'string'
        ? undefined
        : `not a POST form grant: ${JSON.stringify(body).slice(0, 200)}`,
  },
  {
    name: 'download 1 key CloudFront, same key',
    target: 'cloudfront',
    path: '/v1/downloads',
    body: { keys: downloadKeys(1) },
    expectStatus: 200,
    check: checkDownloads(1, `https://${CLOUDFRONT_DOMAIN}/public/bench/`),
  },
  {
    name: 'download 1 key CloudFront, new key',
    target: 'cloudfront',
    path: '/v1/downloads',
    body: { keys: downloadKeys(1) },
    bodyFor: (n) => ({ keys: [`public/bench/new-${n}.png`] }),
    expectStatus: 200,
    check: checkDownloads(1, `https://${CLOUDFRONT_DOMAIN}/public/bench/`),
  },
  {
    name: 'download 10 keys CloudFront, new keys',
    target: 'cloudfront',
    path: '/v1/downloads',
    body: { keys: downloadKeys(10) },
    bodyFor: (n) => ({ keys: Array.from({ length: 10 }, (_, i) => `public/bench/new-${n}-${i}.png`) }),
    expectStatus: 200,
    check: checkDownloads(10, `https://${CLOUDFRONT_DOMAIN}/public/bench/`),
  },
  {
    name: 'download 1 key S3 presign',
    target: 's3',
    path: '/v1/downloads',
    body: { keys: downloadKeys(1) },
    expectStatus: 200,
    check: checkDownloads(1, `${S3_ENDPOINT}/${BUCKET}/public/bench/`),
  },
  {
    name: 'bundle cookies',
    target: 'cloudfront',
    path: '/v1/bundles/demo/cookies',
    body: undefined, // no body and no content-type, as a browser's credentialed POST
    expectStatus: 200,
    check: ({ setCookies }) => {
      const names = setCookies.map((cookie) => cookie.slice(0, cookie.indexOf('=')));
      const wanted = ['CloudFront-Policy', 'CloudFront-Signature', 'CloudFront-Key-Pair-Id'];
      const missing = wanted.filter((name) => !names.includes(name));
      return missing.length === 0 ? undefined : `missing Set-Cookie ${missing.join(', ')} (got ${names.join(', ') || 'none'})`;
    },
  },
];

// ---------------------------------------------------------------- HTTP runs

interface Request {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  readonly bodyFor?: ((n: number) => unknown) | undefined;
}

function requestFor(scenario: Scenario, origin: string): Request {
  const body = scenario.body === undefined ? undefined : JSON.stringify(scenario.body);
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return { url: `${origin}${scenario.path}`, headers, body, bodyFor: scenario.bodyFor };
}

async function preflight(scenario: Scenario, request: Request): Promise<string | undefined> {
  const response = await fetch(request.url, {
    method: 'POST',
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const text = await response.text();
  if (response.status !== scenario.expectStatus)
    return `first response was ${response.status}, expected ${scenario.expectStatus}: ${text.slice(0, 300)}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `first response is not JSON: ${text.slice(0, 200)}`;
  }
  return scenario.check({ status: response.status, body, setCookies: response.headers.getSetCookie() });
}

interface Measured {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly problems: readonly string[];
}

const percentile = (sorted: Float64Array, p: number): number =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN);

let requestCounter = 0;

async function cannon(request: Request, seconds: number, onLatency?: (ms: number) => void): Promise<autocannon.Result> {
  const { bodyFor } = request;
  return autocannon({
    ...(bodyFor === undefined
      ? {}
      : {
          requests: [
            {
              setupRequest: (next: autocannon.Request) => ({ ...next, body: JSON.stringify(bodyFor((requestCounter += 1))) }),
            },
          ],
        }),
    url: request.url,
    method: 'POST',
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    connections,
    duration: seconds,
    // autocannon's own histogram keeps whole milliseconds; this keeps each response's hrtime duration.
    ...(onLatency === undefined
      ? {}
      : {
          setupClient: (client: autocannon.Client) =>
            void client.on('response', (status, _bytes, ms) => (status >= 200 && status < 300 ? onLatency(ms) : undefined)),
        }),
  });
}

function problemsOf(result: autocannon.Result): string[] {
  const problems: string[] = [];
  if (result.errors > 0) problems.push(`${result.errors} connection errors (${result.timeouts} timeouts)`);
  if (result.non2xx > 0) {
    const codes = Object.entries(result.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, stats]) => `${code}×${stats.count ?? 0}`);
    problems.push(`${result.non2xx} non-2xx responses (${codes.join(', ')})`);
  }
  return problems;
}

async function measure(request: Request): Promise<Measured> {
  if (warmupSeconds > 0) await cannon(request, warmupSeconds);
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const result = await cannon(request, durationSeconds, (ms) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
  });
  const sorted = latencies.subarray(0, count).sort();
  return {
    rps: result.requests.mean,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    requests: result.requests.total,
    problems: problemsOf(result),
  };
}

// ---------------------------------------------------------------- micro-benchmarks

interface Micro {
  readonly name: string;
  readonly opsPerSecond: number;
}

/** Calls `op` back to back (awaiting each) for `seconds`, after a short warm-up. */
async function micro(name: string, op: () => unknown): Promise<Micro> {
  const until = (deadline: number) => async (): Promise<number> => {
    let ops = 0;
    while (performance.now() < deadline) {
      // A batch between clock reads keeps the timer out of the measurement.
      for (let i = 0; i < 16; i++) await op();
      ops += 16;
    }
    return ops;
  };
  await until(performance.now() + Math.min(250, microSeconds * 250))();
  const start = performance.now();
  const ops = await until(start + microSeconds * 1000)();
  return { name, opsPerSecond: ops / ((performance.now() - start) / 1000) };
}

async function microBenchmarks(): Promise<Micro[]> {
  const s3 = createS3Signer(s3Config);
  const cloudfront = createCloudFrontSigner(cloudfrontConfig);
  const store = await openSqliteStore(':memory:');
  const principal = principalFromClaims({ sub: 'bench' });
  if (!principal) throw new Error('bench principal has no subject');
  const expiresAt = () => new Date(Date.now() + 900_000);
  const key = 'uploads/bench/7d1f0a52-5c8e-4a57-9a3e-0f3c2b1d9e84';
  try {
    const results: Micro[] = [];
    const run = async (name: string, op: () => unknown): Promise<void> => {
      process.stderr.write(`  micro: ${name}\n`);
      results.push(await micro(name, op));
    };
    await run('s3.presignPut', () =>
      s3.presignPut({ key, contentType: 'image/png', contentLength: 1024, signingDate: new Date(), expiresInSeconds: 900 }),
    );
    await run('s3.presignPost', () => s3.presignPost({ key, contentType: 'image/png', maxBytes: 1024, expiresInSeconds: 900 }));
    await run('s3.presignGet', () => s3.presignGet({ key: 'public/bench/file-0.png', signingDate: new Date(), expiresInSeconds: 900 }));
    let fresh = 0;
    await run('cloudfront.signUrl, new key', () => cloudfront.signUrl(`public/bench/micro-${(fresh += 1)}.png`, expiresAt()));
    await run('cloudfront.signUrl, same key (reused)', () => cloudfront.signUrl('public/bench/file-0.png', expiresAt()));
    await run('cloudfront.signCookies', () => cloudfront.signCookies(`https://${CLOUDFRONT_DOMAIN}/public/demo/*`, expiresAt()));
    await run('store.liveFor (SQLite :memory:)', () => store.liveFor('bench', new Date()));
    await run('policy decide (read, 1 key)', () =>
      decide({
        principal,
        ask: { action: 'read', target: { kind: 'key', key: 'public/bench/file-0.png' } },
        policy: baseConfig.policy,
        entitlements: [],
        now: new Date(),
        defaults: baseConfig.grants,
      }),
    );
    return results;
  } finally {
    s3.close();
    await store.close();
  }
}

// ---------------------------------------------------------------- output

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const grouped = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');

// ---------------------------------------------------------------- main

const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
process.stdout.write(
  [
    'Access Broker grant benchmark',
    `node ${process.version} on ${process.platform}/${process.arch}, ${availableParallelism()} CPUs (${cpuModel})`,
    `autocannon ${connections} connections, ${warmupSeconds} s warm-up + ${durationSeconds} s measured per scenario, HTTP/1.1 keep-alive on 127.0.0.1`,
    'server and load generator share ONE process and event loop: absolute req/s is a lower bound, and ratios are compressed towards 1;',
    '"+µs/req" = 1/rps - 1/rps_noop is the extra single-thread time a grant costs over token verification (auth + JSON parse) alone.',
    "latency p50/p99 from per-response hrtime (sub-ms), 2xx only; requests/s is autocannon's mean of per-second samples.",
    'tokens HS256; development policy; S3 presigning is offline (endpoint 127.0.0.1:9 is never contacted); CloudFront key RSA-2048, SHA1.',
    '',
  ].join('\n'),
);

const cdn = await startApp(baseConfig);
const s3Only = await startApp(s3OnlyConfig);
let failed = false;
const rows: string[][] = [];
const problems: string[] = [];
let baseline: number | undefined;

try {
  for (const scenario of scenarios) {
    const request = requestFor(scenario, scenario.target === 's3' ? s3Only.origin : cdn.origin);
    const wrong = await preflight(scenario, request);
    if (wrong !== undefined) {
      failed = true;
      problems.push(`${scenario.name}: PREFLIGHT FAILED, not measured: ${wrong}`);
      process.stderr.write(`bench: ${scenario.name}: preflight failed: ${wrong}\n`);
      rows.push([scenario.name, 'FAILED', '-', '-', '-', '-', '-']);
      continue;
    }
    process.stderr.write(`  http: ${scenario.name} ...\n`);
    const measured = await measure(request);
    if (measured.problems.length > 0) {
      failed = true;
      problems.push(`${scenario.name}: ${measured.problems.join('; ')}`);
    }
    baseline ??= scenario.path === '/bench/noop' ? measured.rps : undefined;
    const ratio = baseline === undefined ? Number.NaN : measured.rps / baseline;
    const extra = baseline === undefined ? Number.NaN : (1 / measured.rps - 1 / baseline) * 1e6;
    rows.push([
      scenario.name + (measured.problems.length > 0 ? ' (ERRORS)' : ''),
      grouped(measured.rps),
      fixed(measured.p50, 2),
      fixed(measured.p99, 2),
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '-',
      scenario.path === '/bench/noop' ? '0' : grouped(extra),
      grouped(measured.requests),
    ]);
  }
} finally {
  await cdn.app.close();
  await s3Only.app.close();
}

process.stdout.write(
  `${table(['scenario', 'req/s', 'p50 ms', 'p99 ms', 'vs noop', '+µs/req', 'requests'], rows, new Set([1, 2, 3, 4, 5, 6]))}\n`,
);

if (microSeconds > 0) {
  const results = await microBenchmarks();
  process.stdout.write(`\nIn-process, no HTTP, one call at a time (${microSeconds} s each):\n`);
  process.stdout.write(
    `${table(
      ['operation', 'ops/s', 'µs/op'],
      results.map((result) => [result.name, grouped(result.opsPerSecond), fixed(1e6 / result.opsPerSecond, 1)]),
      new Set([1, 2]),
    )}\n`,
  );
}

if (failed) {
  process.stdout.write(`\nFAILED:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n`);
  process.exitCode = 1;
}
