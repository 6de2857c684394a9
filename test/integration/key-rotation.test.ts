import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import type { CloudFrontConfig } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load.js';
import { startEdge } from '../../src/edge/start.js';
import { createS3Client } from '../../src/signing/s3-signer.js';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { startSecretsManager, type SecretsManager } from '../helpers/secrets-manager.js';
import { bearer } from '../helpers/tokens.js';

const pkcs8 = (key: { export(options: { type: 'pkcs8'; format: 'pem' }): string | Buffer }): string =>
  key.export({ type: 'pkcs8', format: 'pem' }).toString();

/** Two keys of different kinds, as a move from RSA to ECDSA would have them. */
const KEYS = {
  old: { id: 'KOLDRSAKEY001', algorithm: 'RSA-SHA1', privateKey: pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey) },
  new: {
    id: 'KNEWECDSAKEY1',
    algorithm: 'ECDSA-SHA256',
    privateKey: pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey),
  },
};
const DISTRIBUTION = 'cdn.example.com';
const ringDocument = (signing: keyof typeof KEYS, trusted: readonly (keyof typeof KEYS)[]): string =>
  JSON.stringify({ signingKeyId: KEYS[signing].id, keys: trusted.map((name) => KEYS[name]) });

/**
 * Key rotation as an operator runs it, with the ring read from Secrets Manager (LocalStack's) and every grant
 * judged by the local edge trusting the ring: grants of the retiring key keep working until they expire, new
 * grants use the new key, the same holds rolling back, and a key taken out of the ring stops opening anything.
 */
describe('CloudFront key rotation, the ring from Secrets Manager, judged by the local edge', () => {
  let endpoint: S3Endpoint;
  let secrets: SecretsManager;
  const running: { close(): Promise<void> }[] = [];
  const alice = bearer({ sub: 'alice' });
  const object = { key: 'public/demo/rotation.txt', body: 'signed before and after a rotation' };

  before(async () => {
    [endpoint, secrets] = await Promise.all([startS3Endpoint(), startSecretsManager()]);
    const client = createS3Client(endpoint.config);
    await client.send(
      new PutObjectCommand({ Bucket: endpoint.config.bucket, Key: object.key, Body: object.body, ContentType: 'text/plain' }),
    );
    client.destroy();
  });
  after(async () => {
    for (const service of running.reverse()) await service.close();
    await secrets?.stop();
    await endpoint?.stop();
  });

  /** The keys as the broker loads them at start-up from a secret holding `document`. */
  async function keysFromSecret(document: string): Promise<CloudFrontConfig['keys']> {
    const result = await loadConfig({
      DATA_DIR: await mkdtemp(join(tmpdir(), 'rotation-')),
      CLOUDFRONT_DOMAIN: 'cdn.example.com',
      CLOUDFRONT_KEY_RING_SECRET_ID: await secrets.createSecret(document),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    });
    assert.ok(result.ok, JSON.stringify(result));
    assert.ok(result.config.cloudfront);
    return result.config.cloudfront.keys;
  }

  /**
   * A broker and an edge on one ring. Every deployment answers for the same distribution (https://cdn.example.com),
   * as a real one would across rotations; each edge listens on its own port.
   */
  async function deploy(keys: CloudFrontConfig['keys']): Promise<{ app: FastifyInstance; edge: string }> {
    const cloudfront = { domain: DISTRIBUTION, keys };
    const edge = await startEdge({ cloudfront, s3: endpoint.config, origin: `https://${DISTRIBUTION}`, host: '127.0.0.1', port: 0 });
    running.push(edge);
    const app = await testApp({ config: { ...testConfig(), s3: endpoint.config, cloudfront } });
    running.push(app);
    return { app, edge: `http://127.0.0.1:${edge.port}` };
  }

  async function downloadUrl(app: FastifyInstance): Promise<string> {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [object.key] }, headers: alice });
    const url = response.json<{ results: { url?: string }[] }>().results[0]?.url;
    assert.ok(url, response.body);
    return url;
  }

  async function bundleCookies(app: FastifyInstance): Promise<{ header: string; set: string[] }> {
    const response = await app.inject({ method: 'POST', url: '/v1/bundles/demo/cookies', headers: alice });
    assert.equal(response.statusCode, 200, response.body);
    const set = [response.headers['set-cookie'] ?? []].flat();
    return { header: set.map((cookie) => cookie.split(';')[0]).join('; '), set };
  }

  /** A grant's URL as the edge at `edge` answers it (the distribution's https, spoken as plain http locally). */
  const fetchAt = (edge: string, url: string) => {
    const { pathname, search } = new URL(url);
    return fetch(`${edge}${pathname}${search}`);
  };
  const withCookies = (edge: string, cookies: { header: string }) =>
    fetch(`${edge}/${object.key}`, { headers: { cookie: cookies.header } });
  const keyIdOf = (url: string): string | null => new URL(url).searchParams.get('Key-Pair-Id');

  test('a bad ring in the secret stops the start, naming the key; a missing secret is named too', async () => {
    const bad = await loadConfig({
      DATA_DIR: await mkdtemp(join(tmpdir(), 'rotation-')),
      CLOUDFRONT_DOMAIN: 'cdn.example.com',
      CLOUDFRONT_KEY_RING_SECRET_ID: await secrets.createSecret(JSON.stringify({ keys: [{ ...KEYS.old, algorithm: 'ECDSA-SHA256' }] })),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    });
    assert.ok(!bad.ok);
    assert.match(
      bad.errors.join('\n'),
      /^CLOUDFRONT_KEY_RING_SECRET_ID \(.+\): keys\[0\] \(KOLDRSAKEY001\): its algorithm is ECDSA-SHA256, but it holds an RSA key$/mu,
    );
    const missing = await loadConfig({
      DATA_DIR: await mkdtemp(join(tmpdir(), 'rotation-')),
      CLOUDFRONT_DOMAIN: 'cdn.example.com',
      CLOUDFRONT_KEY_RING_SECRET_ID: 'access-broker-test/no-such-secret',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    });
    assert.ok(!missing.ok);
    assert.match(
      missing.errors.join('\n'),
      /^CLOUDFRONT_KEY_RING_SECRET_ID: cannot read secret "access-broker-test\/no-such-secret" from Secrets Manager \(ResourceNotFoundException/mu,
    );
  });

  test('old to new and back: grants of the retiring key keep opening, new grants use the new key, a removed key opens nothing', async () => {
    // Before: the old key signs; the new one is already in the key group, waiting.
    const before = await deploy(await keysFromSecret(ringDocument('old', ['old', 'new'])));
    const oldUrl = await downloadUrl(before.app);
    const oldCookies = await bundleCookies(before.app);
    assert.equal(keyIdOf(oldUrl), KEYS.old.id);

    // Rotated: the new key signs; the old one stays trusted until its grants expire.
    const rotated = await deploy(await keysFromSecret(ringDocument('new', ['new', 'old'])));
    const newUrl = await downloadUrl(rotated.app);
    assert.equal(keyIdOf(newUrl), KEYS.new.id);
    assert.equal(new URL(newUrl).searchParams.get('Hash-Algorithm'), 'SHA256');
    const newCookies = await bundleCookies(rotated.app);
    assert.match(newCookies.header, new RegExp(`CloudFront-Key-Pair-Id=${KEYS.new.id}`, 'u'));
    for (const url of [oldUrl, newUrl]) {
      const response = await fetchAt(rotated.edge, url);
      assert.equal(response.status, 200, `${keyIdOf(url)}: ${await response.clone().text()}`);
      assert.equal(await response.text(), object.body);
    }
    for (const cookies of [oldCookies, newCookies]) {
      const response = await withCookies(rotated.edge, cookies);
      assert.equal(response.status, 200, await response.clone().text());
    }

    // Clearing works whichever key set the cookies (RSA-SHA1 sets three, ECDSA-SHA256 four): the same names and paths, expired.
    const cleared = await rotated.app.inject({ method: 'DELETE', url: '/v1/bundles/demo/cookies', headers: alice });
    assert.equal(cleared.statusCode, 204);
    const clearing = [cleared.headers['set-cookie'] ?? []].flat();
    const nameAndPath = (cookie: string) => `${cookie.split('=')[0]} ${/Path=([^;]+)/u.exec(cookie)?.[1]}`;
    for (const cookies of [oldCookies, newCookies]) {
      const missed = cookies.set.map(nameAndPath).filter((cookie) => !clearing.map(nameAndPath).includes(cookie));
      assert.deepEqual(missed, []);
    }
    for (const cookie of clearing) assert.match(cookie, /Expires=Thu, 01 Jan 1970/u);

    // Rolled back: the old key signs again, and what the new key signed in between still opens.
    const rolledBack = await deploy(await keysFromSecret(ringDocument('old', ['old', 'new'])));
    assert.equal(keyIdOf(await downloadUrl(rolledBack.app)), KEYS.old.id);
    for (const url of [oldUrl, newUrl]) assert.equal((await fetchAt(rolledBack.edge, url)).status, 200, keyIdOf(url) ?? '');

    // Retired: the old key leaves the ring (and the key group); its grants stop opening, the new key's do not.
    const retired = await deploy(await keysFromSecret(ringDocument('new', ['new'])));
    const refused = await fetchAt(retired.edge, oldUrl);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /<Code>AccessDenied<\/Code>/u);
    assert.equal((await withCookies(retired.edge, oldCookies)).status, 403);
    assert.equal((await fetchAt(retired.edge, newUrl)).status, 200);
    assert.equal((await withCookies(retired.edge, newCookies)).status, 200);
  });
});
