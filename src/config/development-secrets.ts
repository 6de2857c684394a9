import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Development CloudFront key ids start with this, so production can recognise and refuse them. */
export const DEVELOPMENT_KEY_ID_PREFIX = 'KDEV';

export interface DevelopmentSecrets {
  readonly jwtSecret: string;
  readonly cloudfrontKeyPairId: string;
  readonly cloudfrontPrivateKey: string;
  readonly cloudfrontPublicKey: string;
}

async function readOrCreate(path: string, create: () => string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const value = create();
    // 'wx' so two processes starting at once cannot overwrite each other's secret.
    await writeFile(path, value, { mode: 0o600, flag: 'wx' }).catch(async (writeError: NodeJS.ErrnoException) => {
      if (writeError.code !== 'EEXIST') throw writeError;
    });
    return readFile(path, 'utf8');
  }
}

/** Made on first start in DATA_DIR and kept there, so dev tokens and cookies survive restarts. */
export async function loadDevelopmentSecrets(dataDir: string): Promise<DevelopmentSecrets> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const jwtSecret = (await readOrCreate(join(dataDir, 'dev-jwt-secret'), () => randomBytes(32).toString('base64url'))).trim();
  const cloudfrontPrivateKey = await readOrCreate(join(dataDir, 'dev-cloudfront-private.pem'), () =>
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
  const cloudfrontPublicKey = createPublicKey(cloudfrontPrivateKey).export({ type: 'spki', format: 'pem' }).toString();
  // Written beside the private key for uploading to a CloudFront key group when trying a real distribution.
  await writeFile(join(dataDir, 'dev-cloudfront-public.pem'), cloudfrontPublicKey);
  const fingerprint = createHash('sha256').update(cloudfrontPublicKey).digest('hex').slice(0, 12).toUpperCase();
  return { jwtSecret, cloudfrontKeyPairId: `${DEVELOPMENT_KEY_ID_PREFIX}${fingerprint}`, cloudfrontPrivateKey, cloudfrontPublicKey };
}

/** The development secrets already in DATA_DIR, without making any: production refuses to run on them. */
export async function existingDevelopmentSecrets(dataDir: string): Promise<{ jwtSecret?: string; cloudfrontPrivateKey?: string }> {
  const read = (name: string): Promise<string | undefined> => readFile(join(dataDir, name), 'utf8').catch(() => undefined);
  const [jwtSecret, cloudfrontPrivateKey] = await Promise.all([read('dev-jwt-secret'), read('dev-cloudfront-private.pem')]);
  return {
    ...(jwtSecret === undefined ? {} : { jwtSecret: jwtSecret.trim() }),
    ...(cloudfrontPrivateKey === undefined ? {} : { cloudfrontPrivateKey }),
  };
}
