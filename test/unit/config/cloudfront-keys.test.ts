import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { parseKeyRing, parsePrivateKey } from '../../../src/config/cloudfront-keys.js';
import { loadConfig } from '../../../src/config/load.js';

const pkcs8 = (key: { export(options: { type: 'pkcs8'; format: 'pem' }): string | Buffer }): string =>
  key.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsa = pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
const ec = pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
const base64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

const ring = (document: unknown) => parseKeyRing(JSON.stringify(document), 'CLOUDFRONT_KEY_RING');

async function errorsOf(document: unknown): Promise<string[]> {
  const result = await ring(document);
  assert.ok(!result.ok, 'the ring was accepted');
  return result.errors;
}

function assertOneError(errors: readonly string[], pattern: RegExp): void {
  assert.ok(
    errors.some((error) => pattern.test(error)),
    `no error matches ${String(pattern)}:\n${errors.join('\n')}`,
  );
  for (const error of errors) assert.ok(!error.includes('PRIVATE KEY') && !error.includes(base64(rsa).slice(0, 40)), error);
}

describe('CloudFront key ring', () => {
  test('the signing key comes first, whatever its place; each key keeps its own algorithm', async () => {
    const result = await ring({
      signingKeyId: 'KNEWECDSA0001',
      keys: [
        { id: 'KOLDRSA000001', algorithm: 'RSA-SHA1', privateKey: rsa },
        { id: 'KNEWECDSA0001', algorithm: 'ECDSA-SHA256', privateKey: ec },
      ],
    });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(
      result.keys.map(({ id, hashAlgorithm }) => ({ id, hashAlgorithm })),
      [
        { id: 'KNEWECDSA0001', hashAlgorithm: 'SHA256' },
        { id: 'KOLDRSA000001', hashAlgorithm: 'SHA1' },
      ],
    );
    assert.equal(createPrivateKey(result.keys[0].privateKey).asymmetricKeyType, 'ec');
  });

  test('without signingKeyId the first key signs', async () => {
    const result = await ring({
      keys: [
        { id: 'KFIRST0000001', algorithm: 'RSA-SHA256', privateKey: rsa },
        { id: 'KSECOND000001', algorithm: 'ECDSA-SHA1', privateKey: ec },
      ],
    });
    assert.ok(result.ok);
    assert.deepEqual(
      result.keys.map(({ id, hashAlgorithm }) => [id, hashAlgorithm]),
      [
        ['KFIRST0000001', 'SHA256'],
        ['KSECOND000001', 'SHA1'],
      ],
    );
  });

  test('YAML, a key file, and keys as base64 of the PEM or of PKCS#8 DER all load to the same PEM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'key-ring-'));
    await writeFile(join(dir, 'old.pem'), rsa, { mode: 0o600 });
    const der = createPrivateKey(ec).export({ type: 'pkcs8', format: 'der' });
    const yaml = stringify({
      keys: [
        { id: 'KFILE00000001', algorithm: 'RSA-SHA1', privateKeyFile: join(dir, 'old.pem') },
        { id: 'KBASE64PEM001', algorithm: 'RSA-SHA1', privateKey: base64(rsa) },
        { id: 'KBASE64DER001', algorithm: 'ECDSA-SHA256', privateKey: base64(der) },
      ],
    });
    const result = await parseKeyRing(yaml, 'CLOUDFRONT_KEY_RING_FILE');
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(
      result.keys.map((key) => key.privateKey),
      [rsa, rsa, ec],
    );
  });

  test('every bad key is named by its place and id, and the key itself is never shown', async () => {
    const weak = pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
    const p384 = pkcs8(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey);
    const ed25519 = pkcs8(generateKeyPairSync('ed25519').privateKey);
    const publicOnly = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const errors = await errorsOf({
      keys: [
        { id: 'KGOOD00000001', algorithm: 'RSA-SHA1', privateKey: rsa },
        { id: 'KWRONGALG0001', algorithm: 'ECDSA-SHA256', privateKey: rsa },
        { id: 'KWEAK00000001', algorithm: 'RSA-SHA1', privateKey: weak },
        { id: 'KP384KEY00001', algorithm: 'ECDSA-SHA256', privateKey: p384 },
        { id: 'KNOTAKEY00001', algorithm: 'RSA-SHA1', privateKey: `${rsa.slice(0, 120)}garbage` },
      ],
    });
    assertOneError(errors, /^CLOUDFRONT_KEY_RING: keys\[1\] \(KWRONGALG0001\): its algorithm is ECDSA-SHA256, but it holds an RSA key$/u);
    assertOneError(errors, /^CLOUDFRONT_KEY_RING: keys\[2\] \(KWEAK00000001\): an RSA key in a key group must have 2048 bits$/u);
    assertOneError(errors, /^CLOUDFRONT_KEY_RING: keys\[3\] \(KP384KEY00001\): an ECDSA key in a key group must be on P-256$/u);
    assertOneError(
      errors,
      /^CLOUDFRONT_KEY_RING: keys\[4\] \(KNOTAKEY00001\): not a PEM or base64 private key \(the value is not shown\)$/u,
    );
    assert.equal(errors.length, 4, errors.join('\n'));

    assertOneError(
      await errorsOf({ keys: [{ id: 'KED2551900001', algorithm: 'ECDSA-SHA1', privateKey: ed25519 }] }),
      /keys\[0\] \(KED2551900001\): a key in a key group must be RSA 2048 or ECDSA P-256$/u,
    );
    assertOneError(
      await errorsOf({ keys: [{ id: 'KPUBLIC000001', algorithm: 'RSA-SHA1', privateKey: publicOnly }] }),
      /keys\[0\] \(KPUBLIC000001\): not a PEM or base64 private key/u,
    );
  });

  test('the ring itself: ids, the signing key, the sources of each key, its size and its fields', async () => {
    const key = (id: string) => ({ id, algorithm: 'RSA-SHA1', privateKey: rsa });
    assertOneError(
      await errorsOf({ keys: [key('KSAME00000001'), key('KSAME00000001')] }),
      /keys\[1\] \(KSAME00000001\): the id appears twice/u,
    );
    assertOneError(
      await errorsOf({ keys: [key('kLowerCase001')] }),
      /^CLOUDFRONT_KEY_RING: \/keys\/0\/id: expected string to match '\^\[A-Z0-9\]\{8,64\}\$'$/u,
    );
    assertOneError(await errorsOf({ keys: [key('KSHORT')] }), /\/keys\/0\/id: expected string to match/u);
    assertOneError(
      await errorsOf({ signingKeyId: 'KNOTINRING001', keys: [key('KINRING000001')] }),
      /^CLOUDFRONT_KEY_RING: signingKeyId KNOTINRING001 is not one of the ring's keys$/u,
    );
    assertOneError(await errorsOf({ keys: [] }), /\/keys: expected array length to be greater or equal to 1/u);
    assertOneError(
      await errorsOf({ keys: ['K1', 'K2', 'K3', 'K4', 'K5', 'K6'].map((id) => key(`${id}ABCDEFGH`)) }),
      /\/keys: expected array length to be less or equal to 5/u,
    );
    assertOneError(
      await errorsOf({ keys: [{ ...key('KBOTH00000001'), privateKeyFile: '/run/secrets/k.pem' }] }),
      /keys\[0\] \(KBOTH00000001\): give exactly one of privateKey and privateKeyFile/u,
    );
    assertOneError(
      await errorsOf({ keys: [{ id: 'KNEITHER00001', algorithm: 'RSA-SHA1' }] }),
      /keys\[0\] \(KNEITHER00001\): give exactly one of privateKey and privateKeyFile/u,
    );
    assertOneError(
      await errorsOf({ keys: [{ id: 'KMISSING00001', algorithm: 'RSA-SHA1', privateKeyFile: '/nonexistent/k.pem' }] }),
      /keys\[0\] \(KMISSING00001\): cannot read privateKeyFile "\/nonexistent\/k.pem" \(ENOENT\)/u,
    );
    assertOneError(await errorsOf({ keys: [{ ...key('KALGO00000001'), algorithm: 'RSA-MD5' }] }), /\/keys\/0\/algorithm/u);
    assertOneError(await errorsOf({ keys: [{ ...key('KEXTRA0000001'), hash: 'SHA1' }] }), /\/keys\/0\/hash: unexpected property/u);
    const notYaml = await parseKeyRing(`keys: [${rsa}`, 'CLOUDFRONT_KEY_RING');
    assert.ok(!notYaml.ok);
    assert.deepEqual(notYaml.errors, ['CLOUDFRONT_KEY_RING: not JSON or YAML (the value is not shown)']);
  });

  test('regression: YAML that only warns (an unknown tag on a key) is refused, and nothing reaches stderr or process warnings', async () => {
    const written: string[] = [];
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    const write = process.stderr.write.bind(process.stderr);
    process.on('warning', onWarning);
    process.stderr.write = (chunk: string | Uint8Array) => written.push(String(chunk)) > 0;
    try {
      const result = await parseKeyRing(
        `keys:\n  - id: KTAGGED000001\n    algorithm: RSA-SHA1\n    privateKey: !b64 ${base64(rsa)}\n`,
        'CLOUDFRONT_KEY_RING',
      );
      assert.deepEqual(result, { ok: false, errors: ['CLOUDFRONT_KEY_RING: not JSON or YAML (the value is not shown)'] });
      await new Promise((resolve) => setImmediate(resolve)); // process warnings are emitted on a later tick
    } finally {
      process.stderr.write = write;
      process.off('warning', onWarning);
    }
    assert.deepEqual(written, []);
    assert.deepEqual(warnings, []);
  });

  test('a private key is PEM or base64; anything else is refused', () => {
    assert.equal(parsePrivateKey(` \n${rsa}\n`).asymmetricKeyType, 'rsa');
    // openssl pkcs12 -nodes writes attributes before the armour.
    assert.equal(parsePrivateKey(`Bag Attributes\n    localKeyID: 01 02\nKey Attributes: <No Attributes>\n${ec}`).asymmetricKeyType, 'ec');
    const rsaKey = createPrivateKey(rsa);
    const ecKey = createPrivateKey(ec);
    assert.equal(parsePrivateKey(base64(rsaKey.export({ type: 'pkcs1', format: 'der' }))).asymmetricKeyType, 'rsa');
    assert.equal(parsePrivateKey(base64(ecKey.export({ type: 'sec1', format: 'der' }))).asymmetricKeyType, 'ec');
    assert.equal(parsePrivateKey(base64(rsa)).asymmetricKeyType, 'rsa');
    assert.throws(() => parsePrivateKey('not a key at all!'));
    assert.throws(() => parsePrivateKey(base64('neither PEM nor DER')));
  });
});

describe('loadConfig: CloudFront key sources', () => {
  const inline = JSON.stringify({
    signingKeyId: 'KNEWKEY000001',
    keys: [
      { id: 'KNEWKEY000001', algorithm: 'ECDSA-SHA256', privateKey: ec },
      { id: 'KOLDKEY000001', algorithm: 'RSA-SHA1', privateKey: base64(rsa) },
    ],
  });
  const load = async (env: Record<string, string>) =>
    loadConfig({ DATA_DIR: await mkdtemp(join(tmpdir(), 'key-ring-config-')), CLOUDFRONT_DOMAIN: 'cdn.example.com', ...env });

  test('CLOUDFRONT_KEY_RING gives every key to the config, the signing one first', async () => {
    const result = await load({ CLOUDFRONT_KEY_RING: inline });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(
      result.config.cloudfront?.keys.map((key) => key.id),
      ['KNEWKEY000001', 'KOLDKEY000001'],
    );
  });

  test('CLOUDFRONT_KEY_RING_FILE reads the same document from a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'key-ring-file-'));
    await writeFile(join(dir, 'ring.json'), inline);
    const result = await load({ CLOUDFRONT_KEY_RING_FILE: join(dir, 'ring.json') });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.config.cloudfront?.keys.length, 2);
    const missing = await load({ CLOUDFRONT_KEY_RING_FILE: join(dir, 'missing.yaml') });
    assert.ok(!missing.ok);
    assertOneError(missing.errors, /^CLOUDFRONT_KEY_RING_FILE: cannot read .*ENOENT/u);
  });

  test('CLOUDFRONT_PRIVATE_KEY may be base64', async () => {
    const result = await load({ CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F', CLOUDFRONT_PRIVATE_KEY: base64(ec) });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.config.cloudfront?.keys, [{ id: 'K2JCJMDEHXQW5F', privateKey: ec, hashAlgorithm: 'SHA1' }]);
  });

  test('CLOUDFRONT_PRIVATE_KEY or _FILE, not both; a bad key in the file is named by the file variable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'key-file-'));
    await writeFile(join(dir, 'weak.pem'), pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey));
    const both = await load({
      CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
      CLOUDFRONT_PRIVATE_KEY: rsa,
      CLOUDFRONT_PRIVATE_KEY_FILE: join(dir, 'weak.pem'),
    });
    assert.ok(!both.ok);
    assertOneError(both.errors, /^CLOUDFRONT_PRIVATE_KEY and CLOUDFRONT_PRIVATE_KEY_FILE: set one, not both$/u);
    const weak = await load({ CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F', CLOUDFRONT_PRIVATE_KEY_FILE: join(dir, 'weak.pem') });
    assert.ok(!weak.ok);
    assertOneError(weak.errors, /^CLOUDFRONT_PRIVATE_KEY_FILE: an RSA key in a key group must have 2048 bits$/u);
  });

  test('a ring without a distribution is refused before any secret is read', async () => {
    const result = await load({
      CLOUDFRONT_DOMAIN: '',
      CLOUDFRONT_KEY_RING_SECRET_ID: 'access-broker/keys',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9', // nothing listens: a read would fail differently
    });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.filter((error) => error.startsWith('CLOUD')),
      ['CLOUDFRONT_DOMAIN: must be set when a CloudFront key is configured; for example CLOUDFRONT_DOMAIN=d111111abcdef8.cloudfront.net'],
    );
  });

  test('one source only; the hash algorithm belongs to each key of a ring; a ring needs its domain', async () => {
    const both = await load({ CLOUDFRONT_KEY_RING: inline, CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F', CLOUDFRONT_PRIVATE_KEY: rsa });
    assert.ok(!both.ok);
    assertOneError(both.errors, /^CloudFront keys: set one of .*; got CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_KEY_RING$/u);
    const hash = await load({ CLOUDFRONT_KEY_RING: inline, CLOUDFRONT_HASH_ALGORITHM: 'SHA256' });
    assert.ok(!hash.ok);
    assertOneError(hash.errors, /^CLOUDFRONT_HASH_ALGORITHM: a key ring names each key's algorithm/u);
    const noDomain = await load({ CLOUDFRONT_KEY_RING: inline, CLOUDFRONT_DOMAIN: '' });
    assert.ok(!noDomain.ok);
    assertOneError(noDomain.errors, /^CLOUDFRONT_DOMAIN: must be set when a CloudFront key is configured/u);
  });

  test('production refuses to read the ring from Secrets Manager over plain http, before sending anything', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests += 1;
      response.statusCode = 500;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const variable of ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ENDPOINT_URL']) {
        const result = await load({ NODE_ENV: 'production', CLOUDFRONT_KEY_RING_SECRET_ID: 'access-broker/keys', [variable]: endpoint });
        assert.ok(!result.ok);
        assertOneError(
          result.errors,
          /^CLOUDFRONT_KEY_RING_SECRET_ID: the Secrets Manager endpoint http:\/\/127\.0\.0\.1:\d+ is plain http/u,
        );
      }
      assert.equal(requests, 0);
    } finally {
      server.close();
    }
  });

  test('a malformed ring in the environment is never echoed', async () => {
    const result = await load({ CLOUDFRONT_KEY_RING: `{"keys": [{"id": "KX", "privateKey": ${JSON.stringify(rsa)}` });
    assert.ok(!result.ok);
    assertOneError(result.errors, /^CLOUDFRONT_KEY_RING: not JSON or YAML/u);
  });

  test('production refuses a development key anywhere in the ring, retiring keys included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'key-ring-production-'));
    const development = await loadConfig({ DATA_DIR: dir, CLOUDFRONT_DOMAIN: 'cdn.example.com' });
    assert.ok(development.ok);
    const [devKey] = development.config.cloudfront?.keys ?? [];
    assert.ok(devKey);
    const result = await loadConfig({
      NODE_ENV: 'production',
      DATA_DIR: dir,
      CLOUDFRONT_DOMAIN: 'cdn.example.com',
      CLOUDFRONT_KEY_RING: JSON.stringify({
        keys: [
          { id: 'KNEWKEY000001', algorithm: 'ECDSA-SHA256', privateKey: ec },
          { id: 'KRETIRING0001', algorithm: 'RSA-SHA1', privateKey: devKey.privateKey },
        ],
      }),
    });
    assert.ok(!result.ok);
    assertOneError(result.errors, /^CloudFront key KRETIRING0001: is the development key pair from DATA_DIR/u);
  });
});
