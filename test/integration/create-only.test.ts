import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { EntitlementStore } from '../../src/store/entitlement-store.js';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { downloadBytes } from '../helpers/download.js';
import { startS3Endpoint, type S3Endpoint } from '../helpers/s3-endpoint.js';
import { bearer } from '../helpers/tokens.js';

const MIB = 1024 * 1024;
const alice = bearer({ sub: 'alice' });

interface PutGrant {
  url: string;
  headers: Record<string, string>;
  key: string;
}

/**
 * Create-only grants against both strict S3 servers. Probed by hand first (LocalStack 4.14.0 and
 * versitygw v1.7.0): both answer a presigned PUT with If-None-Match: * on an existing key, and a
 * CompleteMultipartUpload with IfNoneMatch, with 412 PreconditionFailed, so neither is skipped.
 */
describe('create-only grants against a real S3 endpoint', () => {
  let endpoint: S3Endpoint;
  let app: FastifyInstance;
  let store: EntitlementStore;

  before(async () => {
    endpoint = await startS3Endpoint();
    store = await openSqliteStore(':memory:');
    const policy = {
      version: 1 as const,
      rules: [
        { id: 'inbox', actions: ['read' as const, 'write' as const], resources: ['inbox/{sub}/*'], createOnly: true },
        { id: 'scratch', actions: ['read' as const, 'write' as const], resources: ['scratch/{sub}/*'] },
      ],
    };
    app = await testApp({ config: { ...testConfig({ policy }), s3: endpoint.config }, store });
  });
  after(async () => {
    await app?.close();
    await endpoint?.stop();
  });

  async function putGrant(key: string, body: Buffer | string): Promise<PutGrant> {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'application/octet-stream', contentLength: Buffer.byteLength(body), key },
      headers: alice,
    });
    assert.equal(response.statusCode, 201, response.body);
    return response.json<PutGrant>();
  }
  const put = async (grant: PutGrant, body: Buffer | string, headers = grant.headers) => fetch(grant.url, { method: 'PUT', headers, body });
  const read = (key: string): Promise<Buffer> => downloadBytes(app, alice, key);

  test('a PUT creates the key; a second grant for it is refused by S3 (412), and the first bytes stay', async () => {
    const key = `inbox/alice/${randomUUID()}.bin`;
    const first = await putGrant(key, 'first');
    assert.equal(first.headers['if-none-match'], '*');
    assert.equal((await put(first, 'first')).status, 200);
    const second = await putGrant(key, 'other');
    const refused = await put(second, 'other');
    assert.equal(refused.status, 412, await refused.text());
    assert.equal((await read(key)).toString(), 'first');
  });

  test('a create-only URL used without its If-None-Match header is refused (the header is signed)', async () => {
    const key = `inbox/alice/${randomUUID()}.bin`;
    const grant = await putGrant(key, 'abc');
    const withoutCondition = Object.fromEntries(Object.entries(grant.headers).filter(([name]) => name !== 'if-none-match'));
    assert.equal(Object.keys(withoutCondition).length, Object.keys(grant.headers).length - 1);
    const response = await put(grant, 'abc', withoutCondition);
    assert.equal(response.status, 403, await response.text());
  });

  test('sibling: a rule without createOnly still replaces its keys', async () => {
    const key = `scratch/alice/${randomUUID()}.bin`;
    for (const body of ['one', 'two']) {
      const grant = await putGrant(key, body);
      assert.equal(grant.headers['if-none-match'], undefined);
      assert.equal((await put(grant, body)).status, 200);
    }
    assert.equal((await read(key)).toString(), 'two');
  });

  test('a POST form, which cannot carry the condition, is refused with a message naming the rule', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { method: 'POST', contentType: 'text/plain', contentLength: 3, key: `inbox/alice/${randomUUID()}` },
      headers: alice,
    });
    assert.equal(response.statusCode, 400, response.body);
    assert.match(response.json<{ detail: string }>().detail, /rule "inbox" is create-only/u);
  });

  test('multipart onto an existing key is refused at start (412), before any part is sent', async () => {
    const key = `inbox/alice/${randomUUID()}.bin`;
    const grant = await putGrant(key, 'taken');
    assert.equal((await put(grant, 'taken')).status, 200);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads/multipart',
      payload: { contentType: 'application/octet-stream', contentLength: 6 * MIB, key },
      headers: alice,
    });
    assert.equal(response.statusCode, 412, response.body);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_OBJECT_EXISTS');
  });

  test('multipart that loses the race: the key is taken meanwhile, completion is refused, the upload is aborted, the winner stays', async () => {
    const key = `inbox/alice/${randomUUID()}.bin`;
    const bytes = randomBytes(1024);
    const started = await app.inject({
      method: 'POST',
      url: '/v1/uploads/multipart',
      payload: { contentType: 'application/octet-stream', contentLength: bytes.length, key },
      headers: alice,
    });
    assert.equal(started.statusCode, 201, started.body);
    const { uploadId } = started.json<{ uploadId: string }>();
    const at = `/v1/uploads/multipart/${encodeURIComponent(uploadId)}`;
    const parts = await app.inject({ method: 'POST', url: `${at}/parts`, payload: { partNumbers: [1] }, headers: alice });
    const [part] = parts.json<{ parts: PutGrant[] }>().parts;
    assert.ok(part);
    const uploaded = await fetch(part.url, { method: 'PUT', headers: part.headers, body: bytes });
    assert.equal(uploaded.status, 200);
    const winner = await putGrant(key, 'winner');
    assert.equal((await put(winner, 'winner')).status, 200);

    const completed = await app.inject({
      method: 'POST',
      url: `${at}/complete`,
      payload: { parts: [{ partNumber: 1, etag: uploaded.headers.get('etag') }] },
      headers: alice,
    });
    assert.equal(completed.statusCode, 412, completed.body);
    assert.equal(completed.json<{ code: string }>().code, 'BROKER_OBJECT_EXISTS');
    assert.equal((await read(key)).toString(), 'winner');
    const listed = await app.inject({ method: 'GET', url: `${at}/parts`, headers: alice });
    assert.equal(listed.statusCode, 409, 'the upload is closed');
  });

  test('an entitlement with createOnly signs the condition too; S3 refuses the overwrite', async () => {
    await store.create(
      {
        subject: 'alice',
        resources: ['shared/drop/*'],
        actions: ['read', 'write'],
        createOnly: true,
        grantedBy: 'test',
        reason: 'create-only entitlement',
      },
      new Date(),
    );
    const key = `shared/drop/${randomUUID()}.txt`;
    const first = await putGrant(key, 'one');
    assert.equal((await put(first, 'one')).status, 200);
    const second = await putGrant(key, 'two');
    assert.equal((await put(second, 'two')).status, 412);
    assert.equal((await read(key)).toString(), 'one');
  });
});
