import { generateKeyPairSync } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import type { CloudFrontConfig, Config, S3Config } from '../src/config/config.js';
import { fixedConfig } from '../src/config/fixed-config.js';
import { DEFAULT_REVOCATION_MAX_DELAY_SECONDS } from '../src/config/load.js';

/** What the server and the load generator, two processes, agree on. */
export const JWT_SECRET = 'bench-only-hs256-secret-not-used-anywhere-else';
export const CLOUDFRONT_DOMAIN = 'd111111abcdef8.cloudfront.net';
export const S3_ENDPOINT = 'http://127.0.0.1:9'; // discard port: presigning is offline, nothing is ever sent here
export const BUCKET = 'bench-bucket';

const s3Config: S3Config = {
  region: 'us-east-1',
  bucket: BUCKET,
  endpoint: S3_ENDPOINT,
  forcePathStyle: true,
  credentials: { accessKeyId: 'bench-access-key-id', secretAccessKey: 'bench-secret-access-key-never-sent-anywhere' },
};

/** A broker per CloudFront signing algorithm (RSA-2048 with SHA-1 is the default one), and one without a CDN. */
export type Target = 'cloudfront' | 'cloudfront-rsa-sha256' | 'cloudfront-ecdsa' | 's3';

/** The CloudFront targets: which key each signs with, and its hash. */
export const SIGNING: Readonly<
  Record<Exclude<Target, 's3'>, { readonly key: 'rsa' | 'ecdsa'; readonly hash: 'SHA1' | 'SHA256'; readonly label: string }>
> = {
  cloudfront: { key: 'rsa', hash: 'SHA1', label: 'RSA-2048 SHA-1' },
  'cloudfront-rsa-sha256': { key: 'rsa', hash: 'SHA256', label: 'RSA-2048 SHA-256' },
  'cloudfront-ecdsa': { key: 'ecdsa', hash: 'SHA256', label: 'ECDSA P-256 SHA-256' },
};

/**
 * Where the server keeps entitlements: SQLite in memory (every other scenario), or PostgreSQL at BENCH_DATABASE_URL;
 * with the decision cache as production runs it (REVOCATION_MAX_DELAY_SECONDS=5), or without it, to show what it saves.
 */
export type Store = 'sqlite' | 'sqlite-uncached' | 'postgres' | 'postgres-uncached';

/** The development policy on fixed values, production's log level, a CloudFront key made per run (or none). */
export function benchConfig(
  target: Target,
  privateKeyPem?: string,
  store: Store = 'sqlite',
  databaseUrl?: string,
  sqliteFile = ':memory:',
): Config {
  const cloudfront: CloudFrontConfig | undefined =
    target !== 's3' && privateKeyPem !== undefined
      ? { domain: CLOUDFRONT_DOMAIN, keys: [{ id: 'KBENCHKEYPAIRID', privateKey: privateKeyPem, hashAlgorithm: SIGNING[target].hash }] }
      : undefined;
  if (store.startsWith('postgres') && databaseUrl === undefined) throw new Error(`the ${store} store needs BENCH_DATABASE_URL`);
  return fixedConfig({
    logLevel: 'info',
    s3: s3Config,
    cloudfront,
    // SQLite in a file, as DATA_DIR holds it in production: upload records go to disk, not to the heap.
    store:
      store.startsWith('postgres') && databaseUrl !== undefined
        ? { kind: 'postgres', url: databaseUrl, migrateOnStart: true, timeoutMs: 2000, poolSize: 10 }
        : { kind: 'sqlite', filename: sqliteFile },
    decisionCache: { maxAgeMs: store.endsWith('-uncached') ? 0 : DEFAULT_REVOCATION_MAX_DELAY_SECONDS * 1000, maxSubjects: 10_000 },
    jwt: { ...fixedConfig().jwt, verification: { kind: 'secret', secret: JWT_SECRET } },
  });
}

export const newCloudFrontKey = (kind: 'rsa' | 'ecdsa'): string =>
  (kind === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  ).privateKey
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();

export const benchToken = (): string => createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 3_600_000 })({ sub: 'bench' });

export interface Scenario {
  readonly name: string;
  readonly target: Target;
  /** Default: SQLite in memory, with the decision cache as production runs it. */
  readonly store?: Store;
  readonly path: string;
  readonly body: unknown;
  /**
   * A fresh body per request (new keys), so no signature can be reused: `n` counts requests, and `run` is unique
   * to each load run, so a warm-up or an earlier repeat never leaves signatures behind for the measured run.
   */
  readonly bodyFor?: (n: number, run: string) => unknown;
  readonly expectStatus: number;
  /** Returns why the first response is not a real grant, or undefined when it is. */
  readonly check: (response: { body: unknown; setCookies: readonly string[] }) => string | undefined;
  /** Targets from the hot-path issue, as ratios to the no-op route. */
  readonly minRatio?: number;
  /** Runs once before the scenario and returns the path to load (a multipart upload to ask parts of). */
  readonly setup?: (origin: string, token: string) => Promise<string>;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const uploadBody = { contentType: 'image/png', contentLength: 1024 };
const downloadKeys = (count: number): string[] => Array.from({ length: count }, (_, i) => `public/bench/file-${i}.png`);

function checkDownloads(count: number, urlPrefix: string): Scenario['check'] {
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

export const NOOP = 'noop (token check only)';

/** The name of a target's floor scenario: the no-op route plus one fresh signature with the target's key. */
export const signatureFloorName = (target: Exclude<Target, 's3'>): string => `noop + one fresh signature, ${SIGNING[target].label}`;

/**
 * The floor under any grant for a new key: the no-op's token check and JSON parse, plus one signature of a policy
 * never signed before, in the broker's process under the same load. What a new-key grant costs above it is the
 * grant's own work; what it costs above the raw signature, in a loop, is the signature's cost in a busy server.
 */
const signatureFloor = (target: Exclude<Target, 's3'>): Scenario => ({
  name: signatureFloorName(target),
  target,
  path: '/bench/sign',
  body: uploadBody,
  expectStatus: 200,
  check: ({ body }) => (isRecord(body) && body.ok === true ? undefined : 'expected {"ok":true}'),
});

export const scenarios: readonly Scenario[] = [
  {
    name: NOOP,
    target: 'cloudfront',
    path: '/bench/noop',
    body: uploadBody, // the same JSON parse as an upload
    expectStatus: 200,
    check: ({ body }) => (isRecord(body) && body.ok === true ? undefined : 'expected {"ok":true}'),
  },
  {
    name: 'upload PUT',
    target: 'cloudfront',
    path: '/v1/uploads',
    body: uploadBody,
    expectStatus: 201,
    minRatio: 0.6,
    check: ({ body }) =>
      isRecord(body) &&
      body.method === 'PUT' &&
      typeof body.url === 'string' &&
      body.url.startsWith(`${S3_ENDPOINT}/${BUCKET}/uploads/bench/`)
        ? undefined
        : `not a PUT grant under uploads/bench/: ${JSON.stringify(body).slice(0, 200)}`,
  },
  {
    name: 'upload POST form',
    target: 'cloudfront',
    path: '/v1/uploads',
    body: { ...uploadBody, method: 'POST' },
    expectStatus: 201,
    minRatio: 0.6,
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
    minRatio: 0.6,
    check: checkDownloads(1, `https://${CLOUDFRONT_DOMAIN}/public/bench/`),
  },
  {
    name: 'download 10 keys CloudFront, same keys',
    target: 'cloudfront',
    path: '/v1/downloads',
    body: { keys: downloadKeys(10) },
    expectStatus: 200,
    minRatio: 0.4,
    check: checkDownloads(10, `https://${CLOUDFRONT_DOMAIN}/public/bench/`),
  },
  ...(['sqlite-uncached', 'postgres', 'postgres-uncached'] as const).map((store): Scenario => ({
    name: `download 1 key CloudFront, same key, ${{ 'sqlite-uncached': 'SQLite, no cache', postgres: 'PostgreSQL', 'postgres-uncached': 'PostgreSQL, no cache' }[store]}`,
    target: 'cloudfront',
    store,
    path: '/v1/downloads',
    body: { keys: downloadKeys(1) },
    expectStatus: 200,
    check: checkDownloads(1, `https://${CLOUDFRONT_DOMAIN}/public/bench/`),
  })),
  {
    name: 'download 1 key CloudFront, new key',
    target: 'cloudfront',
    path: '/v1/downloads',
    body: { keys: downloadKeys(1) },
    bodyFor: (n, run) => ({ keys: [`public/bench/new-${run}-${n}.png`] }),
    expectStatus: 200,
    check: checkDownloads(1, `https://${CLOUDFRONT_DOMAIN}/public/bench/`),
  },
  signatureFloor('cloudfront'),
  {
    name: 'download 1 key S3 presign',
    target: 's3',
    path: '/v1/downloads',
    body: { keys: downloadKeys(1) },
    expectStatus: 200,
    check: checkDownloads(1, `${S3_ENDPOINT}/${BUCKET}/public/bench/`),
  },
  ...(['cloudfront-rsa-sha256', 'cloudfront-ecdsa'] as const).flatMap((target): Scenario[] => [
    {
      name: `download 1 key ${SIGNING[target].label}, same key`,
      target,
      path: '/v1/downloads',
      body: { keys: downloadKeys(1) },
      expectStatus: 200,
      check: checkDownloads(1, `https://${CLOUDFRONT_DOMAIN}/public/bench/`),
    },
    {
      name: `download 1 key ${SIGNING[target].label}, new key`,
      target,
      path: '/v1/downloads',
      body: { keys: downloadKeys(1) },
      bodyFor: (n, run) => ({ keys: [`public/bench/new-${run}-${n}.png`] }),
      expectStatus: 200,
      check: checkDownloads(1, `https://${CLOUDFRONT_DOMAIN}/public/bench/`),
    },
    signatureFloor(target),
  ]),
  {
    name: 'multipart: presign 10 parts',
    target: 'cloudfront',
    path: '/v1/uploads/multipart/:uploadId/parts',
    body: { partNumbers: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    expectStatus: 200,
    setup: async (origin, token) => {
      const response = await fetch(`${origin}/v1/uploads/multipart`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ contentType: 'video/mp4', contentLength: 80 * 1024 * 1024 }),
      });
      const { uploadId } = (await response.json()) as { uploadId: string };
      return `/v1/uploads/multipart/${encodeURIComponent(uploadId)}/parts`;
    },
    check: ({ body }) =>
      isRecord(body) && Array.isArray(body.parts) && body.parts.length === 10
        ? undefined
        : `expected 10 part URLs: ${JSON.stringify(body).slice(0, 200)}`,
  },
  {
    name: 'bundle cookies',
    target: 'cloudfront',
    path: '/v1/bundles/demo/cookies',
    body: undefined, // no body and no content-type, as a browser's credentialed POST
    expectStatus: 200,
    minRatio: 0.6,
    check: ({ setCookies }) => {
      const names = setCookies.map((cookie) => cookie.slice(0, cookie.indexOf('=')));
      const missing = ['CloudFront-Policy', 'CloudFront-Signature', 'CloudFront-Key-Pair-Id'].filter((name) => !names.includes(name));
      return missing.length === 0 ? undefined : `missing Set-Cookie ${missing.join(', ')} (got ${names.join(', ') || 'none'})`;
    },
  },
];

export const scenarioNamed = (name: string): Scenario => {
  const scenario = scenarios.find((item) => item.name === name);
  if (!scenario) throw new Error(`no scenario "${name}"`);
  return scenario;
};
