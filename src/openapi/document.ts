import { buildApp } from '../app.js';
import type { Config } from '../config/config.js';
import { DEVELOPMENT_S3 } from '../config/load.js';
import { developmentPolicy } from '../policy/development-policy.js';
import { validatePolicyDocument } from '../policy/load.js';
import { openSqliteStore } from '../store/sqlite-store.js';

/** The document depends only on the route schemas, so any valid configuration yields the same one. */
const documentConfig: Config = {
  mode: 'test',
  host: '127.0.0.1',
  port: 0,
  logLevel: 'silent',
  trustProxy: false,
  dataDir: '/nonexistent',
  policy: validatePolicyDocument(developmentPolicy, 'development policy'),
  s3: { ...DEVELOPMENT_S3, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
  cloudfront: undefined,
  jwt: { verification: { kind: 'secret', secret: 'openapi-document-generation-only-secret' }, issuer: undefined, audience: undefined, clockToleranceSeconds: 0 },
  grants: { defaultTtlSeconds: 900, maxTtlSeconds: 86_400, maxBytes: 1 },
  cookies: { domain: undefined, sameSite: 'lax', secure: true },
  corsOrigins: [],
  developmentDefaults: [],
};

export async function openApiYaml(): Promise<string> {
  const app = await buildApp({ config: documentConfig, store: await openSqliteStore(':memory:'), logger: false });
  try {
    await app.ready();
    return app.swagger({ yaml: true });
  } finally {
    await app.close();
  }
}
