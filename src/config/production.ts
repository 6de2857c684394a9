import { createPublicKey } from 'node:crypto';
import type { CloudFrontConfig, JwtVerification } from './config.js';
import { DEVELOPMENT_KEY_ID_PREFIX, existingDevelopmentSecrets } from './development-secrets.js';
import { EnvSchema, type Env } from './env-schema.js';
import { secretWeakness } from './secret-strength.js';

/** The development bucket's name and the LocalStack credentials: never a production value. */
export const DEVELOPMENT_BUCKET = 'access-broker-dev';
const DEVELOPMENT_CREDENTIAL = 'test';

export interface ProductionInput {
  readonly env: Env;
  readonly raw: Readonly<Record<string, string | undefined>>;
  readonly verification: JwtVerification | undefined;
  readonly cloudfront: CloudFrontConfig | undefined;
  readonly corsOrigins: readonly string[];
  readonly dataDir: string;
}

const samePublicKey = (a: string, b: string): boolean => {
  try {
    return createPublicKey(a)
      .export({ type: 'spki', format: 'der' })
      .equals(createPublicKey(b).export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
};

/**
 * What production refuses beyond development defaults: settings that work, but
 * that anyone could know or guess, or that weaken authentication, transport or
 * logs in ways nobody should ship.
 */
export async function productionProblems({ env, raw, verification, cloudfront, corsOrigins, dataDir }: ProductionInput): Promise<string[]> {
  const problems: string[] = [];
  const development = await existingDevelopmentSecrets(dataDir);

  if (verification?.kind === 'secret') {
    const known = new Set([
      ...(EnvSchema.properties.JWT_SECRET.examples as string[]),
      ...(development.jwtSecret ? [development.jwtSecret] : []),
    ]);
    const weakness = secretWeakness(verification.secret, known);
    if (weakness) problems.push(`JWT_SECRET: ${weakness}; make one with \`openssl rand -base64 32\` (the value is not shown)`);
  }
  if (verification?.kind === 'jwks' && !verification.url.startsWith('https://')) {
    problems.push('JWKS_URL: must use https in production (anyone on the path could swap the keys and forge tokens)');
  }
  if ((verification?.kind === 'jwks' || verification?.kind === 'public-key') && !env.JWT_AUDIENCE) {
    problems.push(
      'JWT_AUDIENCE: must be set in production with a shared identity provider, or its tokens for other applications are accepted; for example JWT_AUDIENCE=access-broker',
    );
  }
  if (verification?.kind === 'jwks' && !env.JWT_ISSUER) {
    problems.push('JWT_ISSUER: must be set in production with JWKS_URL; for example JWT_ISSUER=https://auth.example.com/');
  }

  if (env.S3_ENDPOINT?.startsWith('http://')) {
    problems.push('S3_ENDPOINT: must use https in production (presigned URLs and the objects would travel in clear text)');
  }
  if (env.S3_BUCKET === DEVELOPMENT_BUCKET) problems.push(`S3_BUCKET: "${DEVELOPMENT_BUCKET}" is the development bucket; name your own`);
  if (raw.AWS_ACCESS_KEY_ID === DEVELOPMENT_CREDENTIAL || raw.AWS_SECRET_ACCESS_KEY === DEVELOPMENT_CREDENTIAL) {
    problems.push('AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: "test" is LocalStack\'s credential; use a role or real keys');
  }

  // Every key of the ring, not only the signing one: a trusted development key is as good as a signing one to a forger.
  for (const key of cloudfront?.keys ?? []) {
    if (key.id.startsWith(DEVELOPMENT_KEY_ID_PREFIX)) {
      problems.push(`CloudFront key ${key.id}: ids starting with ${DEVELOPMENT_KEY_ID_PREFIX} belong to development key pairs`);
    }
    if (development.cloudfrontPrivateKey && samePublicKey(key.privateKey, development.cloudfrontPrivateKey)) {
      problems.push(`CloudFront key ${key.id}: is the development key pair from DATA_DIR; make a key pair for production`);
    }
  }

  if (env.WEBHOOK_SECRET !== undefined && (EnvSchema.properties.WEBHOOK_SECRET.examples as string[]).includes(env.WEBHOOK_SECRET))
    problems.push(
      'WEBHOOK_SECRET: is the documented example; make one with `echo whsec_$(openssl rand -base64 32)` (the value is not shown)',
    );
  if (env.COOKIE_SECURE === false)
    problems.push('COOKIE_SECURE: must not be false in production (signed cookies would travel in clear text)');
  for (const origin of corsOrigins) {
    if (origin.startsWith('http://')) problems.push(`CORS_ORIGINS: "${origin}" is not https; production only allows https origins`);
  }
  if (env.LOG_LEVEL === 'trace')
    problems.push('LOG_LEVEL: trace is for debugging on a development machine; use debug at most in production');
  return problems;
}
