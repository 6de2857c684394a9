import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Config } from '../../../src/config/config.js';
import { createS3Client, createS3Signer } from '../../../src/signing/s3-signer.js';

// Made-up credentials: presigning is offline, and the test compares two signers on the same inputs.
const credentials = { accessKeyId: 'test-access-key-id', secretAccessKey: 'test-secret-access-key' };
const configs: [string, S3Config][] = [
  [
    'LocalStack, path style',
    { region: 'us-east-1', bucket: 'access-broker-dev', endpoint: 'http://localhost:4566', forcePathStyle: true, credentials },
  ],
  ['AWS, virtual-hosted', { region: 'eu-west-1', bucket: 'my-uploads', endpoint: undefined, forcePathStyle: false, credentials }],
  [
    'AWS, a bucket with dots',
    { region: 'ap-southeast-2', bucket: 'media.example.com', endpoint: undefined, forcePathStyle: false, credentials },
  ],
  [
    'AWS, role credentials with a session token',
    {
      region: 'us-east-2',
      bucket: 'role-bucket',
      endpoint: undefined,
      forcePathStyle: false,
      credentials: { ...credentials, sessionToken: 'test-session-token/with+odd=characters' },
    },
  ],
  [
    'an S3-compatible server on https with a port',
    { region: 'us-west-2', bucket: 'b1', endpoint: 'https://s3.internal.example:9443', forcePathStyle: true, credentials },
  ],
];
const keys = [
  'uploads/alice/report.pdf',
  'uploads/alice/with space/ünïcode 文件.txt',
  "uploads/alice/it's (1)!*.jpg",
  'uploads/alice/a+b=c&d?e#f.txt',
  'uploads/alice/100%~tilde.txt',
  'uploads/alice/back\\slash.txt',
];
const signingDate = new Date('2026-06-01T12:34:56Z');

for (const [name, config] of configs) {
  describe(`presigned URLs equal the SDK's getSignedUrl: ${name}`, () => {
    const client = createS3Client(config);
    const signer = createS3Signer(config, createS3Client(config));
    after(() => {
      client.destroy();
      signer.close();
    });

    for (const key of keys) {
      test(`PUT ${JSON.stringify(key)}`, async () => {
        const ours = await signer.presignPut({ key, contentType: 'image/png', contentLength: 1234, signingDate, expiresInSeconds: 600 });
        const sdk = await getSignedUrl(
          client,
          new PutObjectCommand({ Bucket: config.bucket, Key: key, ContentType: 'image/png', ContentLength: 1234 }),
          {
            expiresIn: 600,
            signingDate,
            signableHeaders: new Set(['content-type', 'content-length']),
          },
        );
        assert.equal(ours.url, sdk);
      });

      test(`GET ${JSON.stringify(key)}`, async () => {
        const ours = await signer.presignGet({ key, signingDate, expiresInSeconds: 600 });
        const sdk = await getSignedUrl(client, new GetObjectCommand({ Bucket: config.bucket, Key: key }), { expiresIn: 600, signingDate });
        assert.equal(ours, sdk);
      });

      /** A PNG PUT of 1,234 bytes, ours and the SDK's, with what each variant adds: the SDK's command fields and the headers it must sign. */
      const bothPuts = async (
        ours: Partial<Parameters<typeof signer.presignPut>[0]>,
        sdkFields: Partial<ConstructorParameters<typeof PutObjectCommand>[0]>,
        signed: readonly string[],
        unhoistable: readonly string[] = [],
      ) => {
        const put = await signer.presignPut({
          key,
          contentType: 'image/png',
          contentLength: 1234,
          signingDate,
          expiresInSeconds: 600,
          ...ours,
        });
        const command = new PutObjectCommand({
          Bucket: config.bucket,
          Key: key,
          ContentType: 'image/png',
          ContentLength: 1234,
          ...sdkFields,
        });
        const sdk = await getSignedUrl(client, command, {
          expiresIn: 600,
          signingDate,
          signableHeaders: new Set(['content-type', 'content-length', ...signed]),
          unhoistableHeaders: new Set(unhoistable),
        });
        return { put, sdk };
      };

      test(`PUT with a checksum ${JSON.stringify(key)}`, async () => {
        const checksum = { algorithm: 'SHA256', value: createHash('sha256').update('').digest('base64') };
        const { put, sdk } = await bothPuts(
          { checksum },
          { ChecksumSHA256: checksum.value },
          ['x-amz-checksum-sha256'],
          ['x-amz-checksum-sha256'],
        );
        assert.equal(put.url, sdk);
        assert.equal(put.headers['x-amz-checksum-sha256'], checksum.value);
      });

      test(`create-only PUT ${JSON.stringify(key)}`, async () => {
        const { put, sdk } = await bothPuts({ createOnly: true }, { IfNoneMatch: '*' }, ['if-none-match']);
        assert.equal(put.url, sdk);
        assert.equal(new URL(put.url).searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host;if-none-match');
        assert.equal(put.headers['if-none-match'], '*');
      });

      test(`UploadPart ${JSON.stringify(key)}`, async () => {
        const ours = await signer.presignPart({
          key,
          uploadId: 'upload/id+with=odd~chars',
          partNumber: 3,
          contentLength: 5_242_880,
          signingDate,
          expiresInSeconds: 600,
        });
        const command = new UploadPartCommand({
          Bucket: config.bucket,
          Key: key,
          UploadId: 'upload/id+with=odd~chars',
          PartNumber: 3,
          ContentLength: 5_242_880,
        });
        const sdk = await getSignedUrl(client, command, { expiresIn: 600, signingDate, signableHeaders: new Set(['content-length']) });
        assert.equal(ours.url, sdk);
        assert.deepEqual(ours.headers, { 'content-length': '5242880' });
      });

      test(`POST form ${JSON.stringify(key)}`, async (t) => {
        const input = { key, contentType: 'image/png', maxBytes: 1234, signingDate, expiresInSeconds: 600 };
        const ours = await signer.presignPost(input);
        t.mock.timers.enable({ apis: ['Date'], now: signingDate.getTime() }); // the SDK signs at its own clock
        const sdk = await createPresignedPost(client, {
          Bucket: config.bucket,
          Key: key,
          Expires: 600,
          Fields: { 'Content-Type': 'image/png' },
          Conditions: [
            ['content-length-range', 0, 1234],
            ['eq', '$Content-Type', 'image/png'],
          ],
        });
        assert.deepEqual(ours, sdk);
      });

      test(`GET with a filename in its Content-Disposition ${JSON.stringify(key)}`, async () => {
        const disposition = `attachment; filename="caf_ (1).pdf"; filename*=UTF-8''caf%C3%A9%20%281%29.pdf`;
        const ours = await signer.presignGet({ key, signingDate, expiresInSeconds: 600, disposition });
        const command = new GetObjectCommand({ Bucket: config.bucket, Key: key, ResponseContentDisposition: disposition });
        assert.equal(ours, await getSignedUrl(client, command, { expiresIn: 600, signingDate }));
      });

      test(`GET as an attachment ${JSON.stringify(key)}`, async () => {
        const ours = await signer.presignGet({ key, signingDate, expiresInSeconds: 600, disposition: 'attachment' });
        const command = new GetObjectCommand({ Bucket: config.bucket, Key: key, ResponseContentDisposition: 'attachment' });
        assert.equal(ours, await getSignedUrl(client, command, { expiresIn: 600, signingDate }));
      });
    }
  });
}

describe('presigned PUT URLs', () => {
  const config = configs[0]![1];
  const signer = createS3Signer(config);
  after(() => signer.close());

  test('sign Content-Type and Content-Length, and carry no checksum of an empty body', async () => {
    const { url, headers } = await signer.presignPut({
      key: 'k',
      contentType: 'text/plain',
      contentLength: 5,
      signingDate,
      expiresInSeconds: 60,
    });
    const params = new URL(url).searchParams;
    assert.equal(params.get('X-Amz-SignedHeaders'), 'content-length;content-type;host');
    assert.ok(![...params.keys()].some((param) => param.toLowerCase().includes('checksum')), url);
    assert.deepEqual(headers, { 'content-type': 'text/plain', 'content-length': '5' });
  });

  test("refuse a lifetime beyond SigV4's 7 days", async () => {
    await assert.rejects(signer.presignGet({ key: 'k', signingDate, expiresInSeconds: 604_801 }), /expir/i);
  });
});
