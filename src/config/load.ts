import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type * as Tldts from 'tldts';
import { PolicyError, type Policy } from '../policy/compile.js';
import { developmentPolicy } from '../policy/development-policy.js';
import { loadPolicyFile, validatePolicyDocument } from '../policy/load.js';
import { verificationKeyVerdict } from '../auth/key-rules.js';
import { DEFAULT_MAX_TOKEN_AGE_SECONDS } from '../auth/token-rules.js';
import { GRANT_DEFAULTS } from '../policy/defaults.js';
import { parseKeyRing, validateKey } from './cloudfront-keys.js';
import type { CloudFrontConfig, CloudFrontKey, Config, JwtVerification, Mode, S3Config, StoreConfig } from './config.js';
import { loadDevelopmentSecrets, type DevelopmentSecrets } from './development-secrets.js';
import { EnvSchema, type Env, type EnvName } from './env-schema.js';
import { DEVELOPMENT_BUCKET, productionProblems } from './production.js';
import { readSecretString } from './secrets-manager.js';
import { receiverAddress, validateWebhookSecret, type WebhookConfig } from '../webhooks/delivery.js';
import { quarantineOverlaps } from '../lifecycle/quarantine.js';

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

/** Where `npm start` runs the local CloudFront edge on the embedded defaults, and `npm run edge` listens. */
export const DEFAULT_EDGE_PORT = 8787;

/** The embedded edge as a distribution: `localhost`, so the cookies the broker sets on localhost reach it; plain http. */
export const localEdgeDistribution = (port: number): { domain: string; origin: string } => ({
  domain: `localhost:${port}`,
  origin: `http://localhost:${port}`,
});

export const DEVELOPMENT_S3 = { endpoint: 'http://localhost:4566', bucket: DEVELOPMENT_BUCKET, region: 'us-east-1' } as const;

const example = (name: EnvName): string => {
  const [value] = (EnvSchema.properties[name] as { examples?: (string | number | boolean)[] }).examples ?? [];
  return value === undefined ? '' : `; for example ${name}=${String(value)}`;
};

/** Variables whose values never appear in an error: secrets, or documents that may hold them. */
const HIDDEN = new Set<EnvName>([
  'JWT_SECRET',
  'CLOUDFRONT_PRIVATE_KEY',
  'CLOUDFRONT_KEY_RING',
  'DATABASE_URL',
  'REDIS_URL',
  'WEBHOOK_SECRET',
]);

/** Turns the raw environment into typed values, collecting every problem instead of stopping at the first. */
export function parseEnv(raw: Readonly<Record<string, string | undefined>>): { env: Env; errors: string[] } {
  const picked: Record<string, unknown> = {};
  for (const name of Object.keys(EnvSchema.properties)) {
    const value = raw[name];
    if (value !== undefined && value.trim() !== '') picked[name] = value.trim();
  }
  const converted = Value.Convert(EnvSchema, picked);
  const errors = [...Value.Errors(EnvSchema, converted)].map((error) => {
    const name = error.path.split('/')[1] as EnvName;
    const shown = HIDDEN.has(name) ? '(value hidden)' : JSON.stringify(picked[name]);
    return `${name}: ${error.message.toLowerCase()}, got ${shown}${example(name)}`;
  });
  return { env: converted as Env, errors: [...new Set(errors)] };
}

async function readKeyFile(name: EnvName, path: string, errors: string[]): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    errors.push(`${name}: cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? 'error'})${example(name)}`);
    return undefined;
  }
}

async function jwtVerification(
  env: Env,
  mode: Mode,
  dev: () => Promise<DevelopmentSecrets>,
  errors: string[],
  defaults: string[],
): Promise<JwtVerification | undefined> {
  const publicKeyText =
    env.JWT_PUBLIC_KEY ?? (env.JWT_PUBLIC_KEY_FILE ? await readKeyFile('JWT_PUBLIC_KEY_FILE', env.JWT_PUBLIC_KEY_FILE, errors) : undefined);
  const sources = [
    env.JWT_SECRET && 'JWT_SECRET',
    (env.JWT_PUBLIC_KEY || env.JWT_PUBLIC_KEY_FILE) && 'JWT_PUBLIC_KEY',
    env.JWKS_URL && 'JWKS_URL',
  ].filter(Boolean);
  if (sources.length > 1) {
    // Accepting both HMAC and public-key tokens is how algorithm-confusion attacks start.
    errors.push(`JWT_SECRET, JWT_PUBLIC_KEY(_FILE) and JWKS_URL are exclusive; set exactly one, got ${sources.join(' and ')}`);
    return undefined;
  }
  if (env.JWT_SECRET) return { kind: 'secret', secret: env.JWT_SECRET };
  if (env.JWKS_URL) return { kind: 'jwks', url: env.JWKS_URL };
  if (publicKeyText !== undefined) {
    if (publicKeyText.includes('PRIVATE KEY')) {
      errors.push('JWT_PUBLIC_KEY: holds a private key; give the broker only the public key (the value is not shown)');
      return undefined;
    }
    try {
      const verdict = verificationKeyVerdict(createPublicKey(publicKeyText));
      if (verdict.ok) return { kind: 'public-key', publicKey: publicKeyText, algorithm: verdict.algorithm };
      errors.push(`JWT_PUBLIC_KEY: ${verdict.reason}`);
    } catch {
      errors.push('JWT_PUBLIC_KEY: not a PEM public key; for example JWT_PUBLIC_KEY_FILE=/run/secrets/jwt-public.pem');
    }
    return undefined;
  }
  if (mode === 'production') {
    errors.push('JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL: one must be set in production (the development secret is refused)');
    return undefined;
  }
  defaults.push(`JWT: HS256 with the development secret in DATA_DIR (npm run -s dev-token -- --sub alice)`);
  return { kind: 'secret', secret: (await dev()).jwtSecret };
}

function s3Config(env: Env, hasAwsKeys: boolean, mode: Mode, errors: string[], defaults: string[]): S3Config {
  const region = env.AWS_REGION ?? DEVELOPMENT_S3.region;
  if (env.S3_BUCKET) {
    return {
      region,
      bucket: env.S3_BUCKET,
      endpoint: env.S3_ENDPOINT,
      forcePathStyle: env.S3_FORCE_PATH_STYLE ?? env.S3_ENDPOINT !== undefined,
      credentials: undefined,
    };
  }
  if (mode === 'production') errors.push(`S3_BUCKET: must be set in production (the development bucket is refused)${example('S3_BUCKET')}`);
  const endpoint = env.S3_ENDPOINT ?? DEVELOPMENT_S3.endpoint;
  defaults.push(`S3: bucket ${DEVELOPMENT_S3.bucket} at ${endpoint}`);
  // LocalStack accepts any access key with the secret "test"; real AWS credentials, if set, still win.
  const credentials = hasAwsKeys ? undefined : { accessKeyId: 'test', secretAccessKey: 'test' };
  return { region, bucket: DEVELOPMENT_S3.bucket, endpoint, forcePathStyle: env.S3_FORCE_PATH_STYLE ?? true, credentials };
}

/** The embedded default: a local edge (src/edge) on localhost, trusting the development key pair the broker signs with. */
async function localEdgeConfig(env: Env, dev: () => Promise<DevelopmentSecrets>, defaults: string[]): Promise<CloudFrontConfig> {
  const port = env.EDGE_PORT ?? DEFAULT_EDGE_PORT;
  const distribution = localEdgeDistribution(port);
  const key = await developmentKey(env, dev);
  defaults.push(
    `CloudFront: a local edge at ${distribution.origin}, run beside the broker, trusting development key pair ${key.id} (CLOUDFRONT_DOMAIN= empty: S3 presigned GETs instead)`,
  );
  return { ...distribution, keys: [key], localEdge: { host: env.EDGE_HOST ?? '127.0.0.1', port } };
}

async function developmentKey(env: Env, dev: () => Promise<DevelopmentSecrets>): Promise<CloudFrontKey> {
  const secrets = await dev();
  return {
    id: secrets.cloudfrontKeyPairId,
    privateKey: secrets.cloudfrontPrivateKey,
    hashAlgorithm: env.CLOUDFRONT_HASH_ALGORITHM ?? 'SHA1',
  };
}

/** Where a key ring secret is read from, and in which mode (production reads over https only). */
interface SecretsSource {
  readonly mode: Mode;
  readonly endpoint: string | undefined;
}

/** The CloudFront key sources the environment sets: one key (CLOUDFRONT_KEY_PAIR_ID and its private key) or a ring. */
function keySources(env: Env): string[] {
  return [
    (env.CLOUDFRONT_KEY_PAIR_ID || env.CLOUDFRONT_PRIVATE_KEY || env.CLOUDFRONT_PRIVATE_KEY_FILE) && 'CLOUDFRONT_KEY_PAIR_ID',
    env.CLOUDFRONT_KEY_RING && 'CLOUDFRONT_KEY_RING',
    env.CLOUDFRONT_KEY_RING_FILE && 'CLOUDFRONT_KEY_RING_FILE',
    env.CLOUDFRONT_KEY_RING_SECRET_ID && 'CLOUDFRONT_KEY_RING_SECRET_ID',
  ].filter((source): source is string => Boolean(source));
}

/** The configured CloudFront keys, from the one source set; undefined after a problem (then it is in `errors`). */
async function configuredKeys(
  env: Env,
  sources: readonly string[],
  secrets: SecretsSource,
  errors: string[],
): Promise<CloudFrontConfig['keys'] | undefined> {
  if (sources.length > 1) {
    errors.push(
      `CloudFront keys: set one of CLOUDFRONT_KEY_PAIR_ID (one key), CLOUDFRONT_KEY_RING, _FILE or _SECRET_ID; got ${sources.join(' and ')}`,
    );
    return undefined;
  }
  if (sources[0] === 'CLOUDFRONT_KEY_PAIR_ID') return singleKey(env, errors);
  if (env.CLOUDFRONT_HASH_ALGORITHM) {
    errors.push("CLOUDFRONT_HASH_ALGORITHM: a key ring names each key's algorithm; remove it");
    return undefined;
  }
  const ring = await keyRingText(env, secrets, errors);
  if (ring === undefined) return undefined;
  const parsed = await parseKeyRing(ring.text, ring.source);
  if (!parsed.ok) errors.push(...parsed.errors);
  return parsed.ok ? parsed.keys : undefined;
}

async function singleKey(env: Env, errors: string[]): Promise<CloudFrontConfig['keys'] | undefined> {
  if (env.CLOUDFRONT_PRIVATE_KEY && env.CLOUDFRONT_PRIVATE_KEY_FILE) {
    errors.push('CLOUDFRONT_PRIVATE_KEY and CLOUDFRONT_PRIVATE_KEY_FILE: set one, not both');
    return undefined;
  }
  if (!env.CLOUDFRONT_KEY_PAIR_ID || !(env.CLOUDFRONT_PRIVATE_KEY || env.CLOUDFRONT_PRIVATE_KEY_FILE)) {
    errors.push('CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_PRIVATE_KEY(_FILE): set both or neither');
    return undefined;
  }
  const [name, text]: [EnvName, string | undefined] = env.CLOUDFRONT_PRIVATE_KEY_FILE
    ? ['CLOUDFRONT_PRIVATE_KEY_FILE', await readKeyFile('CLOUDFRONT_PRIVATE_KEY_FILE', env.CLOUDFRONT_PRIVATE_KEY_FILE, errors)]
    : ['CLOUDFRONT_PRIVATE_KEY', env.CLOUDFRONT_PRIVATE_KEY];
  if (text === undefined) return undefined; // unreadable, already reported
  const verdict = validateKey(env.CLOUDFRONT_KEY_PAIR_ID, text, undefined, env.CLOUDFRONT_HASH_ALGORITHM ?? 'SHA1');
  if (verdict.ok) return [verdict.key];
  errors.push(`${name}: ${verdict.problem}`);
  return undefined;
}

async function keyRingText(env: Env, secrets: SecretsSource, errors: string[]): Promise<{ text: string; source: string } | undefined> {
  if (env.CLOUDFRONT_KEY_RING) return { text: env.CLOUDFRONT_KEY_RING, source: 'CLOUDFRONT_KEY_RING' };
  if (env.CLOUDFRONT_KEY_RING_FILE) {
    const text = await readKeyFile('CLOUDFRONT_KEY_RING_FILE', env.CLOUDFRONT_KEY_RING_FILE, errors);
    return text === undefined ? undefined : { text, source: `CLOUDFRONT_KEY_RING_FILE (${env.CLOUDFRONT_KEY_RING_FILE})` };
  }
  const secretId = env.CLOUDFRONT_KEY_RING_SECRET_ID ?? '';
  if (secrets.mode === 'production' && secrets.endpoint?.startsWith('http://')) {
    // Refused before the request: the keys would already have crossed the network in clear text.
    errors.push(
      `CLOUDFRONT_KEY_RING_SECRET_ID: the Secrets Manager endpoint ${secrets.endpoint} is plain http; production reads keys over https only`,
    );
    return undefined;
  }
  try {
    const text = await readSecretString(secretId, { region: env.AWS_REGION ?? DEVELOPMENT_S3.region, endpoint: secrets.endpoint });
    return { text, source: `CLOUDFRONT_KEY_RING_SECRET_ID (${secretId})` };
  } catch (error) {
    errors.push(
      `CLOUDFRONT_KEY_RING_SECRET_ID: cannot read secret "${secretId}" from Secrets Manager (${(error as Error).name}: ${(error as Error).message})`,
    );
    return undefined;
  }
}

async function cloudfrontConfig(
  env: Env,
  mode: Mode,
  secrets: SecretsSource,
  dev: () => Promise<DevelopmentSecrets>,
  errors: string[],
  defaults: string[],
  domainGiven: boolean,
): Promise<CloudFrontConfig | undefined> {
  const sources = keySources(env);
  const given = sources.length > 0;
  if (!env.CLOUDFRONT_DOMAIN) {
    if (given) {
      errors.push(`CLOUDFRONT_DOMAIN: must be set when a CloudFront key is configured${example('CLOUDFRONT_DOMAIN')}`);
      return undefined;
    }
    // Unset in development: the broker runs the local edge beside itself. Set but empty: no CDN, S3 presigned GETs.
    return mode === 'development' && !domainGiven ? localEdgeConfig(env, dev, defaults) : undefined;
  }
  if (given) {
    const keys = await configuredKeys(env, sources, secrets, errors);
    return keys === undefined ? undefined : { domain: env.CLOUDFRONT_DOMAIN, keys };
  }
  if (mode === 'production') {
    errors.push(
      'CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_PRIVATE_KEY(_FILE), or CLOUDFRONT_KEY_RING(_FILE, _SECRET_ID): must be set in production when CLOUDFRONT_DOMAIN is (the development key pair is refused)',
    );
    return undefined;
  }
  const key = await developmentKey(env, dev);
  defaults.push(`CloudFront: development key pair ${key.id} (public key in DATA_DIR/dev-cloudfront-public.pem)`);
  return { domain: env.CLOUDFRONT_DOMAIN, keys: [key] };
}

/** POLICY_FILE, or the development policy outside production; problems go into `errors`. The CLI checks bundles against it. */
export async function policyFrom(env: Env, mode: Mode, errors: string[], defaults: string[]): Promise<Policy | undefined> {
  try {
    if (env.POLICY_FILE) return await loadPolicyFile(resolve(env.POLICY_FILE));
  } catch (error) {
    if (error instanceof PolicyError) errors.push(...error.problems.map((problem) => `POLICY_FILE: ${problem}`));
    else errors.push(`POLICY_FILE: cannot read "${env.POLICY_FILE}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  if (mode === 'production') {
    errors.push(`POLICY_FILE: must be set in production (the development policy is refused)${example('POLICY_FILE')}`);
    return undefined;
  }
  defaults.push('policy: the development policy (uploads/{sub}/*, public/*, bundle "demo")');
  return validatePolicyDocument(developmentPolicy, 'development policy');
}

/** A cookie on a public suffix (`.com`, `.co.uk`, `.cloudfront.net`) would go to every site under it; browsers refuse it anyway. */
function publicSuffixProblem(domain: string): string | undefined {
  const host = domain.replace(/^\./u, '');
  // Required here, only when COOKIE_DOMAIN is set: the public suffix list is 1.2 MB of heap that every other broker would keep.
  const { parse } = createRequire(import.meta.url)('tldts') as typeof Tldts;
  const parsed = parse(host, { allowPrivateDomains: true });
  const known = parsed.isIcann === true || parsed.isPrivate === true;
  return known && parsed.publicSuffix === host ? `"${domain}" is a public suffix; name your own domain` : undefined;
}

const dataDirOf = (env: Env): string => resolve(env.DATA_DIR ?? './data');

/** The store the environment names (PostgreSQL with DATABASE_URL, else SQLite in DATA_DIR); the CLI opens the same one as the broker. */
export const storeConfigOf = (env: Env): StoreConfig =>
  env.DATABASE_URL
    ? {
        kind: 'postgres',
        url: env.DATABASE_URL,
        migrateOnStart: env.MIGRATE_ON_START ?? true,
        timeoutMs: env.DATABASE_TIMEOUT_MS ?? DEFAULT_DATABASE_TIMEOUT_MS,
        poolSize: env.DATABASE_POOL_SIZE ?? 10,
      }
    : { kind: 'sqlite', filename: join(dataDirOf(env), 'entitlements.sqlite') };

/** The longest a revocation made elsewhere (another replica, the CLI) may take to stop grants here. */
export const DEFAULT_REVOCATION_MAX_DELAY_SECONDS = 5;

/** Grant requests per minute: far above what one user's app makes, low enough to stop a script signing the bucket away. */
const DEFAULT_RATE_LIMITS = { perSubject: 600, perAddress: 1200 } as const;

/** Tokens for the admin API carry this scope (`scope` or `scp`). */
export const DEFAULT_ADMIN_SCOPE = 'broker:admin';

/** A grant waits at most this long on the database, then fails with 503 rather than hang. */
export const DEFAULT_DATABASE_TIMEOUT_MS = 2000;

/** Webhook receivers and the secret that signs for them; the secret is never shown, only what is wrong with it. */
function webhookConfig(env: Env, mode: Mode, errors: string[]): WebhookConfig | undefined {
  const urls = [...new Set((env.WEBHOOK_URLS ?? '').split(',').map((url) => url.trim()))].filter((url) => url !== '');
  for (const url of urls) {
    const parsed = URL.parse(url);
    const shown = parsed === null ? url : receiverAddress(url);
    if (parsed === null || !['http:', 'https:'].includes(parsed.protocol) || parsed.username !== '' || parsed.password !== '') {
      errors.push(`WEBHOOK_URLS: "${shown}" is not an http(s) URL without credentials${example('WEBHOOK_URLS')}`);
    } else if (mode === 'production' && parsed.protocol !== 'https:') {
      errors.push(`WEBHOOK_URLS: "${shown}" is not https; production sends events over https only`);
    }
  }
  if (urls.length === 0) {
    if (env.WEBHOOK_SECRET !== undefined) errors.push('WEBHOOK_SECRET: set, but WEBHOOK_URLS names no receiver');
    return undefined;
  }
  if (env.WEBHOOK_SECRET === undefined) {
    errors.push(`WEBHOOK_SECRET: required with WEBHOOK_URLS; make one with \`echo whsec_$(openssl rand -base64 32)\``);
    return undefined;
  }
  const problem = validateWebhookSecret(env.WEBHOOK_SECRET);
  if (problem !== undefined) errors.push(`WEBHOOK_SECRET: ${problem} (the value is not shown)`);
  const retryBaseMs = env.WEBHOOK_RETRY_BASE_MS ?? 2000;
  const retryMaxMs = env.WEBHOOK_RETRY_MAX_MS ?? 3_600_000;
  if (retryBaseMs > retryMaxMs) errors.push(`WEBHOOK_RETRY_BASE_MS: ${retryBaseMs} exceeds WEBHOOK_RETRY_MAX_MS (${retryMaxMs})`);
  return {
    urls,
    secret: env.WEBHOOK_SECRET,
    maxAttempts: env.WEBHOOK_MAX_ATTEMPTS ?? 12,
    retryBaseMs,
    retryMaxMs,
    timeoutMs: env.WEBHOOK_TIMEOUT_MS ?? 5000,
    pollMs: Math.min(1000, retryBaseMs),
  };
}

/** Validates the whole environment at once; every problem names its variable and shows a right value. */
export async function loadConfig(raw: Readonly<Record<string, string | undefined>>): Promise<ConfigResult> {
  const { env, errors } = parseEnv(raw);
  const mode: Mode = env.NODE_ENV ?? 'development';
  const dataDir = dataDirOf(env);
  let secrets: Promise<DevelopmentSecrets> | undefined;
  const dev = (): Promise<DevelopmentSecrets> => (secrets ??= loadDevelopmentSecrets(dataDir));
  const defaults: string[] = [];

  const verification = await jwtVerification(env, mode, dev, errors, defaults);
  const s3 = s3Config(env, Boolean(raw.AWS_ACCESS_KEY_ID), mode, errors, defaults);
  // The SDK would also take AWS_ENDPOINT_URL (every service's endpoint) from the environment; named here, it is checked too.
  const secretsSource = { mode, endpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? (raw.AWS_ENDPOINT_URL?.trim() || undefined) };
  const cloudfront = await cloudfrontConfig(env, mode, secretsSource, dev, errors, defaults, raw.CLOUDFRONT_DOMAIN !== undefined);
  const policy = await policyFrom(env, mode, errors, defaults);
  if (mode !== 'production') await dev(); // made on first start so the key pair is ready to upload to a key group

  const defaultTtlSeconds = env.GRANT_DEFAULT_TTL_SECONDS ?? GRANT_DEFAULTS.defaultTtlSeconds;
  const maxTtlSeconds = env.GRANT_MAX_TTL_SECONDS ?? GRANT_DEFAULTS.maxTtlSeconds;
  if (defaultTtlSeconds > maxTtlSeconds)
    errors.push(`GRANT_DEFAULT_TTL_SECONDS: ${defaultTtlSeconds} exceeds GRANT_MAX_TTL_SECONDS (${maxTtlSeconds})`);
  const sameSite = env.COOKIE_SAMESITE ?? 'lax';
  const secure = env.COOKIE_SECURE ?? true;
  const cookieDomainProblem = env.COOKIE_DOMAIN === undefined ? undefined : publicSuffixProblem(env.COOKIE_DOMAIN);
  if (cookieDomainProblem) errors.push(`COOKIE_DOMAIN: ${cookieDomainProblem}${example('COOKIE_DOMAIN')}`);
  if (sameSite === 'none' && !secure)
    errors.push('COOKIE_SAMESITE: "none" requires COOKIE_SECURE=true (browsers drop such cookies otherwise)');
  const corsOrigins = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^\s/]+$/u.test(origin)) errors.push(`CORS_ORIGINS: "${origin}" is not an origin${example('CORS_ORIGINS')}`);
  }

  const webhooks = webhookConfig(env, mode, errors);
  // Rejected bytes must not be grantable: a rule that could reach the quarantine is refused, in every mode.
  if (env.UPLOAD_QUARANTINE_PREFIX !== undefined && policy !== undefined) {
    for (const problem of quarantineOverlaps(policy, env.UPLOAD_QUARANTINE_PREFIX)) errors.push(`UPLOAD_QUARANTINE_PREFIX: ${problem}`);
  }
  if (mode === 'production' && env.S3_EVENTS_QUEUE_URL?.startsWith('http://'))
    errors.push('S3_EVENTS_QUEUE_URL: must use https in production');

  if (mode === 'production') errors.push(...(await productionProblems({ env, raw, verification, cloudfront, corsOrigins, dataDir })));

  if (errors.length > 0 || verification === undefined || policy === undefined) return { ok: false, errors };
  return {
    ok: true,
    config: {
      mode,
      host: env.HOST ?? '127.0.0.1',
      port: env.PORT ?? 8080,
      logLevel: env.LOG_LEVEL ?? 'info',
      logRequestSampleRate: env.LOG_REQUEST_SAMPLE_RATE ?? 1,
      trustProxy: env.TRUST_PROXY ?? false,
      dataDir,
      store: storeConfigOf(env),
      policy,
      s3,
      cloudfront,
      jwt: {
        verification,
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS ?? 30,
        maxTokenAgeSeconds: env.JWT_MAX_TOKEN_AGE_SECONDS ?? DEFAULT_MAX_TOKEN_AGE_SECONDS,
      },
      grants: { defaultTtlSeconds, maxTtlSeconds, maxBytes: env.UPLOAD_MAX_BYTES ?? GRANT_DEFAULTS.maxBytes },
      cookies: { domain: env.COOKIE_DOMAIN, sameSite, secure },
      corsOrigins,
      admin: { scope: env.ADMIN_SCOPE ?? DEFAULT_ADMIN_SCOPE },
      audit: { log: env.AUDIT_LOG ?? true, database: env.AUDIT_DATABASE ?? false, queueMax: env.AUDIT_QUEUE_MAX ?? 10_000 },
      rateLimits: {
        perSubject: env.RATE_LIMIT_PER_SUBJECT ?? DEFAULT_RATE_LIMITS.perSubject,
        perAddress: env.RATE_LIMIT_PER_ADDRESS ?? DEFAULT_RATE_LIMITS.perAddress,
        windowMs: (env.RATE_LIMIT_WINDOW_SECONDS ?? 60) * 1000,
        redisUrl: env.REDIS_URL,
        onStoreFailure: env.RATE_LIMIT_ON_STORE_FAILURE ?? 'open',
      },
      decisionCache: {
        maxAgeMs: Math.round((env.REVOCATION_MAX_DELAY_SECONDS ?? DEFAULT_REVOCATION_MAX_DELAY_SECONDS) * 1000),
        maxSubjects: env.DECISION_CACHE_SUBJECTS ?? 10_000,
      },
      uploads: {
        graceSeconds: env.UPLOAD_GRACE_SECONDS ?? 900,
        sweepIntervalMs: (env.UPLOAD_SWEEP_INTERVAL_SECONDS ?? 60) * 1000,
        quarantinePrefix: env.UPLOAD_QUARANTINE_PREFIX,
        eventsQueue:
          env.S3_EVENTS_QUEUE_URL === undefined
            ? undefined
            : { url: env.S3_EVENTS_QUEUE_URL, endpoint: env.AWS_ENDPOINT_URL_SQS ?? (raw.AWS_ENDPOINT_URL?.trim() || undefined) },
      },
      webhooks,
      developmentDefaults: defaults,
    },
  };
}
