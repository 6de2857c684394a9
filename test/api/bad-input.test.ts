import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { bearer } from '../helpers/tokens.js';

interface Case {
  name: string;
  method: 'POST' | 'DELETE' | 'GET' | 'PUT';
  url: string;
  payload?: string;
  headers?: Record<string, string>;
}

const json = { 'content-type': 'application/json' };
const cases: Case[] = [
  { name: 'null body', method: 'POST', url: '/v1/uploads', payload: 'null', headers: json },
  { name: 'array body', method: 'POST', url: '/v1/uploads', payload: '[]', headers: json },
  { name: 'string body', method: 'POST', url: '/v1/downloads', payload: '"keys"', headers: json },
  { name: 'empty JSON body', method: 'POST', url: '/v1/uploads', payload: '', headers: json },
  {
    name: 'huge contentLength',
    method: 'POST',
    url: '/v1/uploads',
    payload: '{"contentType":"text/plain","contentLength":1e300}',
    headers: json,
  },
  {
    name: 'fractional contentLength',
    method: 'POST',
    url: '/v1/uploads',
    payload: '{"contentType":"text/plain","contentLength":1.5}',
    headers: json,
  },
  {
    name: 'fractional ttl',
    method: 'POST',
    url: '/v1/uploads',
    payload: '{"contentType":"text/plain","contentLength":1,"ttlSeconds":0.5}',
    headers: json,
  },
  {
    name: 'key as a number',
    method: 'POST',
    url: '/v1/uploads',
    payload: '{"contentType":"text/plain","contentLength":1,"key":5}',
    headers: json,
  },
  {
    name: 'empty key',
    method: 'POST',
    url: '/v1/uploads',
    payload: '{"contentType":"text/plain","contentLength":1,"key":""}',
    headers: json,
  },
  {
    name: 'contentType with a newline',
    method: 'POST',
    url: '/v1/uploads',
    payload: '{"contentType":"text/plain\\r\\nx-evil: 1","contentLength":1}',
    headers: json,
  },
  { name: 'keys of numbers', method: 'POST', url: '/v1/downloads', payload: '{"keys":[1,2]}', headers: json },
  {
    name: 'a disposition that is not one',
    method: 'POST',
    url: '/v1/downloads',
    payload: '{"keys":["public/a"],"disposition":"download"}',
    headers: json,
  },
  { name: 'an empty filename', method: 'POST', url: '/v1/downloads', payload: '{"keys":["public/a"],"filename":""}', headers: json },
  {
    name: 'a filename of 300 characters',
    method: 'POST',
    url: '/v1/downloads',
    payload: JSON.stringify({ keys: ['public/a'], filename: 'a'.repeat(300) }),
    headers: json,
  },
  {
    name: 'a notBefore that is not a date',
    method: 'POST',
    url: '/v1/downloads',
    payload: '{"keys":["public/a"],"notBefore":"tomorrow"}',
    headers: json,
  },
  {
    name: 'bindToCallerIp as a string',
    method: 'POST',
    url: '/v1/downloads',
    payload: '{"keys":["public/a"],"bindToCallerIp":"yes"}',
    headers: json,
  },
  {
    name: 'a filename for two keys',
    method: 'POST',
    url: '/v1/downloads',
    payload: '{"keys":["public/a","public/b"],"filename":"a.txt"}',
    headers: json,
  },
  { name: 'keys missing', method: 'POST', url: '/v1/downloads', payload: '{}', headers: json },
  {
    name: 'deeply nested JSON',
    method: 'POST',
    url: '/v1/downloads',
    payload: `{"keys":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    headers: json,
  },
  {
    name: 'prototype pollution attempt',
    method: 'POST',
    url: '/v1/uploads',
    payload: '{"__proto__":{"admin":true},"contentType":"text/plain","contentLength":1}',
    headers: json,
  },
  { name: 'bundle id with unicode', method: 'POST', url: '/v1/bundles/d%C3%A9mo/cookies' },
  { name: 'bundle id with an encoded slash', method: 'POST', url: '/v1/bundles/a%2Fb/cookies' },
  { name: 'bundle id too long', method: 'POST', url: `/v1/bundles/${'a'.repeat(300)}/cookies` },
  { name: 'unknown query parameter on cookies', method: 'POST', url: '/v1/bundles/demo/cookies?admin=1' },
  { name: 'malformed percent-encoding', method: 'POST', url: '/v1/bundles/%E0%A4%A/cookies' },
  { name: 'GET on a POST route', method: 'GET', url: '/v1/uploads' },
  {
    name: 'multipart without contentLength',
    method: 'POST',
    url: '/v1/uploads/multipart',
    payload: '{"contentType":"video/mp4"}',
    headers: json,
  },
  {
    name: 'multipart of 6 TiB',
    method: 'POST',
    url: '/v1/uploads/multipart',
    payload: '{"contentType":"video/mp4","contentLength":6597069766656}',
    headers: json,
  },
  {
    name: 'multipart partSize as a string',
    method: 'POST',
    url: '/v1/uploads/multipart',
    payload: '{"contentType":"video/mp4","contentLength":1,"partSize":"5MiB"}',
    headers: json,
  },
  {
    name: 'multipart partSize too small',
    method: 'POST',
    url: '/v1/uploads/multipart',
    payload: '{"contentType":"video/mp4","contentLength":99,"partSize":1024}',
    headers: json,
  },
  {
    name: 'parts of an unknown upload',
    method: 'POST',
    url: '/v1/uploads/multipart/nope/parts',
    payload: '{"partNumbers":[1]}',
    headers: json,
  },
  { name: 'part number 0', method: 'POST', url: '/v1/uploads/multipart/nope/parts', payload: '{"partNumbers":[0]}', headers: json },
  { name: 'part number 10001', method: 'POST', url: '/v1/uploads/multipart/nope/parts', payload: '{"partNumbers":[10001]}', headers: json },
  {
    name: '101 part numbers at once',
    method: 'POST',
    url: '/v1/uploads/multipart/nope/parts',
    payload: JSON.stringify({ partNumbers: Array.from({ length: 101 }, (_, i) => i + 1) }),
    headers: json,
  },
  { name: 'no part numbers', method: 'POST', url: '/v1/uploads/multipart/nope/parts', payload: '{"partNumbers":[]}', headers: json },
  { name: 'complete without parts', method: 'POST', url: '/v1/uploads/multipart/nope/complete', payload: '{"parts":[]}', headers: json },
  {
    name: 'complete with an etag missing',
    method: 'POST',
    url: '/v1/uploads/multipart/nope/complete',
    payload: '{"parts":[{"partNumber":1}]}',
    headers: json,
  },
  { name: 'an upload id with a space', method: 'GET', url: '/v1/uploads/multipart/a%20b/parts' },
  { name: 'an upload id of 2000 characters', method: 'DELETE', url: `/v1/uploads/multipart/${'a'.repeat(2000)}` },
  { name: 'PUT on a multipart path', method: 'PUT', url: '/v1/uploads/multipart/nope' },
  { name: 'text/plain body', method: 'POST', url: '/v1/downloads', payload: 'keys', headers: { 'content-type': 'text/plain' } },
  { name: 'uppy-sign without a method', method: 'POST', url: '/v1/uploads/uppy-sign', payload: '{"key":"a.png","size":1}', headers: json },
  {
    name: 'uppy-sign with HEAD',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: '{"method":"HEAD","key":"a","size":1}',
    headers: json,
  },
  {
    name: 'uppy-sign with an empty key',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: '{"method":"PUT","key":"","size":1}',
    headers: json,
  },
  {
    name: 'uppy-sign with a negative size',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: '{"method":"PUT","key":"a","size":-1}',
    headers: json,
  },
  {
    name: 'uppy-sign with a size as a string',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: '{"method":"PUT","key":"a","size":"1"}',
    headers: json,
  },
  {
    name: 'uppy-sign with part number 0',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: '{"method":"PUT","key":"a","uploadId":"u","partNumber":0}',
    headers: json,
  },
  {
    name: 'uppy-sign with part number 10001',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: '{"method":"PUT","key":"a","uploadId":"u","partNumber":10001}',
    headers: json,
  },
  {
    name: 'uppy-sign with an unknown field',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: '{"method":"PUT","key":"a","size":1,"bucket":"other"}',
    headers: json,
  },
  {
    name: 'uppy-sign with a type carrying a newline',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: '{"method":"PUT","key":"a","size":1,"contentType":"text/plain\\r\\nx: 1"}',
    headers: json,
  },
  {
    name: 'uppy-sign of an unknown upload',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: '{"method":"GET","key":"a","uploadId":"nope"}',
    headers: json,
  },
  {
    name: 'uppy-sign with a key of 2000 characters',
    method: 'POST',
    url: '/v1/uploads/uppy-sign',
    payload: JSON.stringify({ method: 'PUT', key: 'a'.repeat(2000), size: 1 }),
    headers: json,
  },
  { name: 'uppy-sign as a GET', method: 'GET', url: '/v1/uploads/uppy-sign' },
  // The upload lifecycle: confirm and status.
  ...['', 'null', '[]', '{}', '{"key":5}', '{"key":""}', '{"key":"a","extra":1}', `{"key":"${'a'.repeat(1100)}"}`].map((payload): Case => ({
    name: `confirm with ${payload.slice(0, 30) || 'an empty body'}`,
    method: 'POST',
    url: '/v1/uploads/confirm',
    payload,
    headers: json,
  })),
  ...['{"key":"../etc/passwd"}', '{"key":"a//b"}', '{"key":"/leading"}', '{"key":"a\\u0000b"}', '{"key":"\\ud800"}'].map(
    (payload): Case => ({
      name: `confirm of the invalid key ${payload}`,
      method: 'POST',
      url: '/v1/uploads/confirm',
      payload,
      headers: json,
    }),
  ),
  {
    name: 'confirm as text/plain',
    method: 'POST',
    url: '/v1/uploads/confirm',
    payload: 'key=a',
    headers: { 'content-type': 'text/plain' },
  },
  {
    name: 'confirm of a key never granted',
    method: 'POST',
    url: '/v1/uploads/confirm',
    payload: '{"key":"uploads/alice/none.png"}',
    headers: json,
  },
  ...['', 'key=', 'key=a&key=b', 'key=..%2Fx', 'key=a%00b', 'key=%E0%A4%A', `key=${'a'.repeat(1100)}`, 'key=a&other=1'].map(
    (query): Case => ({ name: `status with ${query.slice(0, 30) || 'no query'}`, method: 'GET', url: `/v1/uploads/status?${query}` }),
  ),
  { name: 'status as a POST', method: 'POST', url: '/v1/uploads/status', payload: '{}', headers: json },
  { name: 'confirm as a GET', method: 'GET', url: '/v1/uploads/confirm' },
];

/** The admin API's bad input, sent with an admin token (others are refused before the body is read). */
const adminCases: Case[] = [
  ...['null', '[]', '"x"', '', '{}', '{"subject":5,"actions":["read"],"reason":"r","resources":["a/*"]}'].map((payload): Case => ({
    name: `admin create with ${payload || 'an empty body'}`,
    method: 'POST',
    url: '/v1/admin/entitlements',
    payload,
    headers: json,
  })),
  ...[
    { subject: '', actions: ['read'], reason: 'r', resources: ['a/*'] },
    { subject: 'a', actions: ['delete'], reason: 'r', resources: ['a/*'] },
    { subject: 'a', actions: ['read', 'read'], reason: 'r', resources: ['a/*'] },
    { subject: 'a', actions: [], reason: 'r', resources: ['a/*'] },
    { subject: 'a', actions: ['read'], reason: 'r', resources: [] },
    { subject: 'a', actions: ['read'], reason: 'r', resources: [''] },
    { subject: 'a', actions: ['read'], reason: 'r', resources: Array.from({ length: 51 }, (_, i) => `a${i}/*`) },
    { subject: 'a', actions: ['read'], reason: 'r', resources: ['a/*'], notBefore: 'yesterday' },
    { subject: 'a', actions: ['read'], reason: 'r', resources: ['a/*'], expiresAt: 1767225600 },
    { subject: 'a', actions: ['read'], reason: '', resources: ['a/*'] },
    { subject: 'a', actions: ['read'], reason: 'r'.repeat(501), resources: ['a/*'] },
    { subject: 'a', actions: ['read'], reason: 'r', bundleId: 'Not An Id' },
    { subject: 'a', actions: ['read'], reason: 'r', resources: ['a/*'], grantedBy: 'someone else' },
    { subject: 'a'.repeat(257), actions: ['read'], reason: 'r', resources: ['a/*'] },
    { subject: 'a', actions: ['read'], reason: 'r', resources: ['x?'] },
    { subject: 'a', actions: ['read'], reason: 'r', resources: ['*'] },
  ].map((body, i): Case => ({
    name: `admin create, bad field ${i}`,
    method: 'POST',
    url: '/v1/admin/entitlements',
    payload: JSON.stringify(body),
    headers: json,
  })),
  {
    name: 'admin create as text/plain',
    method: 'POST',
    url: '/v1/admin/entitlements',
    payload: 'subject=a',
    headers: { 'content-type': 'text/plain' },
  },
  ...['', ' spaced', 'x'.repeat(256), 'ü'].map((key): Case => ({
    name: `admin create with Idempotency-Key ${JSON.stringify(key.slice(0, 10))}`,
    method: 'POST',
    url: '/v1/admin/entitlements',
    payload: JSON.stringify({ subject: 'a', actions: ['read'], reason: 'r', resources: ['a/*'] }),
    headers: { ...json, 'idempotency-key': key },
  })),
  ...[
    'limit=0',
    'limit=-1',
    'limit=1e3',
    'limit=201',
    'limit=',
    'cursor=!!!',
    'cursor=bm9wZQ',
    'live=1',
    'subject=',
    'bundleId=Bad%20Id',
    'other=1',
  ].map((query): Case => ({ name: `admin list with ${query}`, method: 'GET', url: `/v1/admin/entitlements?${query}` })),
  { name: 'admin get of an id of 2000 characters', method: 'GET', url: `/v1/admin/entitlements/${'a'.repeat(2000)}` },
  { name: 'admin revoke of an id of 2000 characters', method: 'DELETE', url: `/v1/admin/entitlements/${'a'.repeat(2000)}` },
  { name: 'admin revoke of a malformed escape', method: 'DELETE', url: '/v1/admin/entitlements/%E0%A4%A' },
  ...[
    { claims: 'alice', action: 'read', key: 'a' },
    { claims: {}, action: 'read', key: 'a' },
    { claims: { sub: 5 }, action: 'read', key: 'a' },
    { claims: { sub: 'a' }, action: 'admin', key: 'a' },
    { claims: { sub: 'a' }, action: 'read', key: 'a', bundleId: 'demo' },
    { claims: { sub: 'a' }, action: 'read' },
    { claims: { sub: 'a' }, action: 'write', key: 'a', contentLength: -1 },
    { claims: { sub: 'a' }, action: 'read', key: 'k'.repeat(2000) },
  ].map((body, i): Case => ({
    name: `admin explain, bad body ${i}`,
    method: 'POST',
    url: '/v1/admin/explain',
    payload: JSON.stringify(body),
    headers: json,
  })),
  ...['from=yesterday', 'to=1', 'allow=yes', 'limit=0', 'cursor=%00'].map((query): Case => ({
    name: `admin audit with ${query}`,
    method: 'GET',
    url: `/v1/admin/audit?${query}`,
  })),
  { name: '/v1/me/entitlements as a POST', method: 'POST', url: '/v1/me/entitlements', payload: '{}', headers: json },
  ...['state=lost', 'limit=0', 'limit=201', 'limit=1.5', 'cursor=%00', 'cursor=bm90IGEgY3Vyc29y', 'cursor=WzEsMiwzXQ', 'other=1'].map(
    (query): Case => ({ name: `webhook deliveries with ${query}`, method: 'GET', url: `/v1/admin/webhooks/deliveries?${query}` }),
  ),
  ...['evt_1', 'msg_', `msg_${'a'.repeat(2000)}`, 'msg_%00', '%E0%A4%A'].map((id): Case => ({
    name: `webhook replay of the event id ${id.slice(0, 20)}`,
    method: 'POST',
    url: `/v1/admin/webhooks/events/${id}/replay`,
  })),
  { name: 'webhook attempts of a malformed event id', method: 'GET', url: '/v1/admin/webhooks/events/..%2F/attempts' },
];

describe('no bad input gets a 500', async () => {
  const app = await testApp({ config: testConfig({ cloudfront: true }) });
  after(() => app.close());
  const authorization = bearer({ sub: 'alice' });

  const admin = bearer({ sub: 'ops', scope: 'broker:admin' });
  for (const item of [...cases.map((c) => ({ ...c, token: authorization })), ...adminCases.map((c) => ({ ...c, token: admin }))]) {
    test(`${item.name}: a 4xx problem with a message`, async () => {
      const response = await app.inject({
        method: item.method,
        url: item.url,
        payload: item.payload,
        headers: { ...item.token, ...item.headers },
      });
      assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${response.statusCode} ${response.body}`);
      assert.match(String(response.headers['content-type']), /application\/problem\+json/);
      const body = response.json<{ code: string; detail: string }>();
      assert.match(body.code, /^BROKER_/);
      assert.ok(body.detail.length > 0);
    });
  }

  test("a lone surrogate in a download key is that key's error, not the request's", async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: '{"keys":["public/\\ud800","public/ok"]}',
      headers: { ...authorization, ...json },
    });
    assert.equal(response.statusCode, 200);
    const { results } = response.json<{ results: { error?: { code: string } }[] }>();
    assert.equal(results[0]?.error?.code, 'BROKER_INVALID_KEY');
    assert.equal(results[1]?.error, undefined);
  });

  test('a filename that sanitises to nothing leaves just the generated id', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: { contentType: 'text/plain', contentLength: 1, filename: '..' },
      headers: authorization,
    });
    assert.equal(response.statusCode, 201);
    assert.match(response.json<{ key: string }>().key, /^uploads\/alice\/[0-9a-f-]{36}$/u);
  });

  test('an absurdly long Authorization header gets a 4xx', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: { keys: ['public/a'] },
      headers: { authorization: `Bearer ${'a'.repeat(15_000)}` },
    });
    assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${response.statusCode}`);
  });
});
