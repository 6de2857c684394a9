import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { bearer } from '../helpers/tokens.js';

/**
 * The key and content-type corpus: values an attacker (or a careless client)
 * sends, each refused with a reason before anything is signed, whichever route
 * carries it.
 */
const refusedKeys: [string, string, RegExp][] = [
  ['regression: ${filename}, which S3 expands in POST forms (the SDK then signs only the prefix)', 'uploads/alice/${filename}', /\$\{/],
  ['${ anywhere in the key', 'uploads/alice/a${b}c', /\$\{/],
  ['regression: a right-to-left override (U+202E)', 'uploads/alice/invoice\u202Efdp.exe', /U\+202E/],
  ['a left-to-right embedding (U+202A)', 'uploads/alice/\u202Aa', /U\+202A/],
  ['a bidi isolate (U+2066)', 'uploads/alice/\u2066a', /U\+2066/],
  ['a zero-width space (U+200B)', 'uploads/alice/pass\u200Bwd.txt', /U\+200B/],
  ['a zero-width joiner (U+200D)', 'uploads/alice/a\u200Db', /U\+200D/],
  ['a byte-order mark (U+FEFF)', 'uploads/alice/\uFEFFa.txt', /U\+FEFF/],
  ['a soft hyphen (U+00AD)', 'uploads/alice/in\u00ADvoice', /U\+00AD/],
  ['a line separator (U+2028)', 'uploads/alice/a\u2028b', /U\+2028/],
  ['a paragraph separator (U+2029)', 'uploads/alice/a\u2029b', /U\+2029/],
  ['a no-break space (U+00A0)', 'uploads/alice/a\u00A0b', /U\+00A0/],
  ['an ideographic space (U+3000)', 'uploads/alice/a\u3000b', /U\+3000/],
  ['a tag character (U+E0041)', 'uploads/alice/a\u{E0041}', /U\+E0041/],
  ['a private-use character (U+E000)', 'uploads/alice/\uE000', /U\+E000/],
  ['the replacement character (U+FFFD)', 'uploads/alice/r\uFFFDsum\u00E9.pdf', /U\+FFFD/],
  ['a carriage return', 'uploads/alice/a\rb', /control character/],
  ['a NUL', 'uploads/alice/a\u0000b', /control character/],
  ['a C1 control (U+0085)', 'uploads/alice/a\u0085b', /control character/],
];

const refusedContentTypes: [string, string][] = [
  ['regression: a CR LF (header injection)', 'text/plain\r\nx-amz-acl: public-read'],
  ['a lone LF', 'text/plain\n'],
  ['a line separator (U+2028)', 'text/plain;\u2028charset=utf-8'],
  ['a no-break space', 'text/plain;\u00A0charset=utf-8'],
  ['a byte-order mark', '\uFEFFtext/plain'],
  ['a tab between parameters', 'text/plain;\tcharset=utf-8'],
  ['no subtype', 'text'],
  ['an empty subtype', 'text/'],
  ['two slashes', 'text/plain/x'],
  ['a space inside the type', 'text /plain'],
  ['a parameter without a value', 'text/plain; charset'],
  ['an unterminated quoted value', 'text/plain; a="b'],
  ['a quote inside a quoted value', 'text/plain; a="b"c"'],
  ['non-ASCII in the subtype', 'image/pñg'],
  ['a comma (two types)', 'text/plain, text/html'],
];

const acceptedContentTypes = [
  'text/plain',
  'text/plain; charset=utf-8',
  'text/plain;charset=UTF-8',
  'application/vnd.api+json',
  'multipart/form-data; boundary="a b"',
];

describe('keys and content types: the corpus', async () => {
  const app = await testApp({ config: testConfig() });
  after(() => app.close());
  const alice = bearer({ sub: 'alice' });
  const upload = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/uploads', payload, headers: alice });

  for (const [name, key, reason] of refusedKeys) {
    test(`key with ${name}: refused for uploads (400) and downloads (per key)`, async () => {
      for (const method of ['PUT', 'POST']) {
        const response = await upload({ contentType: 'text/plain', contentLength: 1, key, method });
        assert.equal(response.statusCode, 400, `${method}: ${response.body}`);
        const body = response.json<{ code: string; detail: string }>();
        assert.equal(body.code, 'BROKER_INVALID_KEY');
        assert.match(body.detail, reason);
      }
      const download = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [key] }, headers: alice });
      assert.equal(download.statusCode, 200);
      const [result] = download.json<{ results: { error?: { code: string; detail: string } }[] }>().results;
      assert.equal(result?.error?.code, 'BROKER_INVALID_KEY');
      assert.match(result.error.detail, reason);
    });
  }

  for (const [name, contentType] of refusedContentTypes) {
    test(`Content-Type with ${name}: refused (400)`, async () => {
      const response = await upload({ contentType, contentLength: 1 });
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json<{ code: string }>().code, 'BROKER_VALIDATION');
    });
  }

  test('ordinary media types, with parameters, are accepted', async () => {
    for (const contentType of acceptedContentTypes) {
      const response = await upload({ contentType, contentLength: 1 });
      assert.equal(response.statusCode, 201, `${contentType}: ${response.body}`);
    }
  });

  test('regression: a filename with invisible characters is cleaned, not signed as sent', async () => {
    const response = await upload({ contentType: 'text/plain', contentLength: 1, filename: 'in\u202Evoice\u200B\u2028 2.txt' });
    assert.equal(response.statusCode, 201, response.body);
    assert.match(response.json<{ key: string }>().key, /\/invoice {2}2\.txt$/u);
  });

  test('regression: a body that is not valid UTF-8 is refused, not decoded to U+FFFD and signed', async () => {
    const body = Buffer.concat([
      Buffer.from('{"contentType":"text/plain","contentLength":1,"key":"uploads/alice/r'),
      Buffer.from([0xe9]),
      Buffer.from('sum.txt"}'),
    ]);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/uploads',
      payload: body,
      headers: { ...alice, 'content-type': 'application/json' },
    });
    assert.equal(response.statusCode, 400, response.body);
    assert.match(response.json<{ detail: string }>().detail, /not valid UTF-8/);
  });

  test('overlong and surrogate UTF-8 encodings are refused too', async () => {
    for (const bytes of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    ]) {
      const body = Buffer.concat([Buffer.from('{"keys":["public/'), Buffer.from(bytes), Buffer.from('"]}')]);
      const response = await app.inject({
        method: 'POST',
        url: '/v1/downloads',
        payload: body,
        headers: { ...alice, 'content-type': 'application/json' },
      });
      assert.equal(response.statusCode, 400, `${bytes.join(',')}: ${response.body}`);
    }
  });

  test('a text/plain body is 415, not a schema error', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      payload: 'keys',
      headers: { ...alice, 'content-type': 'text/plain' },
    });
    assert.equal(response.statusCode, 415, response.body);
    assert.equal(response.json<{ code: string }>().code, 'BROKER_UNSUPPORTED_MEDIA_TYPE');
  });
});
