import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { downloadBytes } from '../helpers/download.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { bearer } from '../helpers/tokens.js';

const MIB = 1024 * 1024;

interface Started {
  uploadId: string;
  key: string;
  partSize: number;
  partCount: number;
}
interface PartGrant {
  partNumber: number;
  url: string;
  headers: Record<string, string>;
}

describe('multipart uploads against a real S3 endpoint', () => {
  let endpoint: S3Endpoint;
  let app: FastifyInstance;
  const alice = bearer({ sub: 'alice' });
  const bob = bearer({ sub: 'bob' });

  before(async () => {
    endpoint = await startS3Endpoint();
    app = await testApp({ config: { ...testConfig(), s3: endpoint.config } });
  });
  after(async () => {
    await app?.close();
    await endpoint?.stop();
  });

  async function start(body: Record<string, unknown>): Promise<Started> {
    const response = await app.inject({ method: 'POST', url: '/v1/uploads/multipart', payload: body, headers: alice });
    assert.equal(response.statusCode, 201, response.body);
    return response.json<Started>();
  }
  const path = (started: Started, tail: string): string => `/v1/uploads/multipart/${encodeURIComponent(started.uploadId)}${tail}`;
  async function partGrants(started: Started, partNumbers: number[]): Promise<PartGrant[]> {
    const response = await app.inject({ method: 'POST', url: path(started, '/parts'), payload: { partNumbers }, headers: alice });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<{ parts: PartGrant[] }>().parts;
  }
  async function putPart(grant: PartGrant, bytes: Buffer): Promise<string> {
    const response = await fetch(grant.url, { method: 'PUT', headers: grant.headers, body: bytes });
    assert.equal(response.status, 200, await response.text());
    const etag = response.headers.get('etag');
    assert.ok(etag, 'S3 answers each part with an ETag');
    return etag;
  }
  const download = (key: string): Promise<Buffer> => downloadBytes(app, alice, key);
  const complete = (started: Started, parts: readonly { partNumber: number; etag: string; checksum?: string }[]) =>
    app.inject({ method: 'POST', url: path(started, '/complete'), payload: { parts }, headers: alice });

  test('the mobile path: two parts, the network drops, list, the rest, complete; the same bytes come back', async () => {
    // An MP4's `ftyp` box, then noise: the broker checks the object's first bytes against the type it was granted as.
    const bytes = Buffer.concat([Buffer.from('000000186674797069736f6d0000020069736f6d6d703431', 'hex'), randomBytes(12 * MIB - 24)]);
    const slice = (n: number) => bytes.subarray((n - 1) * 5 * MIB, Math.min(n * 5 * MIB, bytes.length));
    const started = await start({ contentType: 'video/mp4', contentLength: bytes.length, filename: 'clip.mp4', partSize: 5 * MIB });
    assert.equal(started.partCount, 3);
    const [one, two] = await partGrants(started, [1, 2]);
    await putPart(one!, slice(1));
    await putPart(two!, slice(2));
    // The phone loses its connection, and with it its memory of the ETags: S3 still knows them.
    const listed = await app.inject({ method: 'GET', url: path(started, '/parts'), headers: alice });
    const { parts } = listed.json<{ parts: { partNumber: number; etag: string; size: number }[] }>();
    assert.deepEqual(
      parts.map((part) => [part.partNumber, part.size]),
      [
        [1, 5 * MIB],
        [2, 5 * MIB],
      ],
    );
    const [three] = await partGrants(started, [3]);
    const etag3 = await putPart(three!, slice(3));
    const completed = await complete(started, [
      ...parts.map(({ partNumber, etag }) => ({ partNumber, etag })),
      { partNumber: 3, etag: etag3 },
    ]);
    assert.equal(completed.statusCode, 200, completed.body);
    assert.equal(completed.json<{ size: number }>().size, bytes.length);
    assert.ok((await download(started.key)).equals(bytes), 'the object holds the uploaded bytes');
  });

  for (const [name, key] of [
    ['spaces and apostrophes', "uploads/alice/it's my clip (1).bin"],
    ['unicode in NFC', 'uploads/alice/caf\u00e9 \u65e5\u672c.bin'],
    ['unicode in NFD', 'uploads/alice/cafe\u0301.bin'],
    ['+ and %', 'uploads/alice/a+b=c 100%.bin'],
  ] as const) {
    test(`a key with ${name} round-trips`, async () => {
      const bytes = randomBytes(1024);
      const started = await start({ contentType: 'application/octet-stream', contentLength: bytes.length, key });
      assert.equal(started.key, key);
      const [grant] = await partGrants(started, [1]);
      const etag = await putPart(grant!, bytes);
      const completed = await complete(started, [{ partNumber: 1, etag }]);
      assert.equal(completed.statusCode, 200, completed.body);
      assert.ok((await download(key)).equals(bytes));
    });
  }

  test('with a checksumAlgorithm, each part signs its checksum: another body is refused, the right ones complete', async () => {
    const bytes = randomBytes(5 * MIB + 1024);
    const slices = [bytes.subarray(0, 5 * MIB), bytes.subarray(5 * MIB)];
    const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('base64');
    const started = await start({
      contentType: 'application/octet-stream',
      contentLength: bytes.length,
      partSize: 5 * MIB,
      checksumAlgorithm: 'SHA256',
    });
    const missing = await app.inject({ method: 'POST', url: path(started, '/parts'), payload: { partNumbers: [1] }, headers: alice });
    assert.equal(missing.statusCode, 400, 'a part without its checksum is refused');
    const response = await app.inject({
      method: 'POST',
      url: path(started, '/parts'),
      payload: { partNumbers: [1, 2], checksums: { '1': sha256(slices[0]!), '2': sha256(slices[1]!) } },
      headers: alice,
    });
    assert.equal(response.statusCode, 200, response.body);
    const [one, two] = response.json<{ parts: PartGrant[] }>().parts;
    const wrong = await fetch(two!.url, { method: 'PUT', headers: two!.headers, body: randomBytes(1024) }).then(
      (r) => r.status,
      () => 'connection reset',
    );
    assert.ok(wrong === 'connection reset' || (typeof wrong === 'number' && wrong >= 400 && wrong < 500), `another body got ${wrong}`);
    const etags = [await putPart(one!, slices[0]!), await putPart(two!, slices[1]!)];
    const completed = await complete(
      started,
      etags.map((etag, i) => ({ partNumber: i + 1, etag, checksum: sha256(slices[i]!) })),
    );
    assert.equal(completed.statusCode, 200, completed.body);
    assert.ok((await download(started.key)).equals(bytes));
  });

  test('S3 refuses a part longer than signed, and a tampered signature', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 6 * MIB, partSize: 5 * MIB });
    const [one, two] = await partGrants(started, [1, 2]);
    // LocalStack answers 403; versitygw may refuse before reading the body and reset the connection. Either way no part is stored.
    const refusal = (target: string | URL, headers: Record<string, string>, body: Buffer) =>
      fetch(target, { method: 'PUT', headers, body }).then(
        (response) => response.status,
        () => 'connection reset',
      );
    const longer = await refusal(two!.url, { 'content-length': String(MIB + 1) }, randomBytes(MIB + 1));
    assert.ok(longer === 403 || longer === 'connection reset', `a body longer than the signed Content-Length got ${longer}`);
    const url = new URL(one!.url);
    const signature = url.searchParams.get('X-Amz-Signature') ?? '';
    url.searchParams.set('X-Amz-Signature', `${signature[0] === '0' ? '1' : '0'}${signature.slice(1)}`);
    const tampered = await refusal(url, one!.headers, randomBytes(5 * MIB));
    assert.ok(tampered === 403 || tampered === 'connection reset', `a tampered signature got ${tampered}`);
    const listed = await app.inject({ method: 'GET', url: path(started, '/parts'), headers: alice });
    assert.deepEqual(listed.json(), { parts: [] });
    await app.inject({ method: 'DELETE', url: path(started, ''), headers: alice });
  });

  test("another caller cannot complete, list or abort alice's upload; alice still can", async () => {
    const bytes = randomBytes(2048);
    const started = await start({ contentType: 'application/octet-stream', contentLength: bytes.length });
    const [grant] = await partGrants(started, [1]);
    const etag = await putPart(grant!, bytes);
    for (const [method, tail, payload] of [
      ['POST', '/complete', { parts: [{ partNumber: 1, etag }] }],
      ['GET', '/parts', undefined],
      ['DELETE', '', undefined],
    ] as const) {
      const response = await app.inject({ method, url: path(started, tail), headers: bob, ...(payload === undefined ? {} : { payload }) });
      assert.equal(response.statusCode, 404, `${method} ${tail}`);
    }
    const completed = await complete(started, [{ partNumber: 1, etag }]);
    assert.equal(completed.statusCode, 200, completed.body);
  });

  test('abort: S3 forgets the upload', async () => {
    const started = await start({ contentType: 'application/octet-stream', contentLength: 2048 });
    const [grant] = await partGrants(started, [1]);
    assert.equal((await app.inject({ method: 'DELETE', url: path(started, ''), headers: alice })).statusCode, 204);
    const late = await fetch(grant!.url, { method: 'PUT', headers: grant!.headers, body: randomBytes(2048) });
    assert.equal(late.status, 404, 'a part for an aborted upload');
  });
});

describe('npm run uploads -- abort-stale, against a real S3 endpoint', () => {
  let endpoint: S3Endpoint;
  let dataDir: string;
  let app: FastifyInstance;
  const alice = bearer({ sub: 'alice' });
  const halfHourAgo = new Date(Date.now() - 1_800_000);

  before(async () => {
    endpoint = await startS3Endpoint();
    dataDir = await mkdtemp(join(tmpdir(), 'broker-stale-'));
    // A broker whose clock is half an hour behind: short grants it makes have already ended.
    const config = testConfig({ overrides: { store: { kind: 'sqlite', filename: join(dataDir, 'entitlements.sqlite') } } });
    app = await testApp({ config: { ...config, s3: endpoint.config }, now: () => halfHourAgo });
  });
  after(async () => {
    await app?.close();
    await endpoint?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('aborts the uploads whose grant ended and that were never completed; leaves the others', async () => {
    const start = async (ttlSeconds: number) => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/uploads/multipart',
        payload: { contentType: 'application/octet-stream', contentLength: 2048, ttlSeconds },
        headers: alice,
      });
      assert.equal(response.statusCode, 201, response.body);
      return response.json<{ uploadId: string; key: string }>();
    };
    const stale = await start(60);
    const live = await start(3600);
    const { config } = endpoint;
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/uploads.ts', 'abort-stale', '--grace-hours', '0'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DOTENV_CONFIG_PATH: '/dev/null',
        DATA_DIR: dataDir,
        S3_BUCKET: config.bucket,
        S3_ENDPOINT: config.endpoint ?? '',
        S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: config.region,
        AWS_ACCESS_KEY_ID: config.credentials?.accessKeyId ?? '',
        AWS_SECRET_ACCESS_KEY: config.credentials?.secretAccessKey ?? '',
      },
    });
    assert.match(stdout, new RegExp(`aborted ${stale.uploadId.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')}`));
    assert.match(stdout, /1 stale upload\n/);
    const closed = await app.inject({
      method: 'GET',
      url: `/v1/uploads/multipart/${encodeURIComponent(stale.uploadId)}/parts`,
      headers: alice,
    });
    assert.equal(closed.statusCode, 409, 'the store says it was aborted');
    const open = await app.inject({
      method: 'GET',
      url: `/v1/uploads/multipart/${encodeURIComponent(live.uploadId)}/parts`,
      headers: alice,
    });
    assert.equal(open.statusCode, 200, open.body);
  });
});
