import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bytesToRead,
  CONTENT_SNIFF_BYTES,
  SVG_MAX_BYTES,
  verifyUpload,
  type FoundObject,
  type GrantedUpload,
  type Verdict,
} from '../../../src/lifecycle/verify-content.js';
import { solidPng } from '../../helpers/png.js';

const grant = (contentType: string, more: Partial<GrantedUpload> = {}): GrantedUpload => ({
  contentType,
  maxBytes: 1_000_000,
  exactSize: false,
  checksum: null,
  ...more,
});

/** The object as uploaded under the grant, its first bytesToRead bytes passed as the broker reads them. */
function verify(
  contentType: string,
  body: Uint8Array,
  more: Partial<FoundObject> = {},
  granted: Partial<GrantedUpload> = {},
): Promise<Verdict> {
  const upload = grant(contentType, granted);
  return verifyUpload(upload, { size: body.length, contentType, checksums: {}, ...more }, body.subarray(0, bytesToRead(upload)));
}

const bytes = (...parts: (string | readonly number[] | Uint8Array)[]): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));
const le16 = (value: number): Buffer => Buffer.from([value & 0xff, value >> 8]);
const le32 = (value: number): Buffer => Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, value >>> 24]);
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** One stored entry of a ZIP archive: what a ZIP (and a DOCX, a JAR) starts with. */
const zipEntry = (name: string, data: Buffer): Buffer =>
  bytes(
    'PK\x03\x04',
    le16(20),
    le16(0),
    le16(0),
    le16(0),
    le16(0),
    le32(0),
    le32(data.length),
    le32(data.length),
    le16(name.length),
    le16(0),
    name,
    data,
  );

const PNG = solidPng(2, 2, [200, 30, 30]);
const JPEG = bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF\0', [1, 1, 0, 0, 1, 0, 1, 0, 0]);
const GIF = bytes('GIF89a', [1, 0, 1, 0, 0x80, 0, 0]);
const PDF = bytes('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n');
const ZIP = zipEntry('hello.txt', utf8('hello'));
const ELF = bytes([0x7f], 'ELF', [2, 1, 1, 0], Buffer.alloc(8), [2, 0, 0x3e, 0]);
const EXE = bytes('MZ', [0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0]);
const WAV = bytes('RIFF', le32(36), 'WAVEfmt ', le32(16), le16(1), le16(1), le32(8000), le32(8000), le16(1), le16(8), 'data', le32(0));
const M4A = bytes([0, 0, 0, 0x18], 'ftypM4A ', [0, 0, 0, 0], 'M4A isom');
const CONTENT_TYPES = utf8(
  '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
);
const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const DOCX = zipEntry('[Content_Types].xml', CONTENT_TYPES);

const accepted = (detectedType?: string): Verdict => ({ ok: true, detectedType });

describe('size', () => {
  const sized = (size: number, granted: Partial<GrantedUpload>): Promise<Verdict> =>
    verifyUpload(
      grant('application/octet-stream', granted),
      { size, contentType: 'application/octet-stream', checksums: {} },
      new Uint8Array(Math.min(size, 4100)),
    );

  test('a range: 0 through maxBytes pass, one byte more does not', async () => {
    const range = { maxBytes: 10_000, exactSize: false };
    assert.equal((await sized(0, range)).ok, true);
    assert.equal((await sized(10_000, range)).ok, true);
    assert.deepEqual(await sized(10_001, range), {
      ok: false,
      code: 'size',
      reason: 'the object is 10,001 bytes; the grant allowed at most 10,000',
    });
  });

  test('an exact size: maxBytes passes, a byte either side does not', async () => {
    const exact = { maxBytes: 12_345, exactSize: true };
    assert.equal((await sized(12_345, exact)).ok, true);
    assert.deepEqual(await sized(12_344, exact), {
      ok: false,
      code: 'size',
      reason: 'the object is 12,344 bytes; the grant allowed exactly 12,345',
    });
    assert.deepEqual(await sized(12_346, exact), {
      ok: false,
      code: 'size',
      reason: 'the object is 12,346 bytes; the grant allowed exactly 12,345',
    });
    assert.equal((await sized(0, exact)).ok, false);
    assert.deepEqual(await sized(1, { maxBytes: 2, exactSize: true }), {
      ok: false,
      code: 'size',
      reason: 'the object is 1 byte; the grant allowed exactly 2',
    });
  });

  test('sizes read with their thousands grouped, from three digits to S3 object sizes', async () => {
    assert.deepEqual(await sized(1_000, { maxBytes: 999, exactSize: false }), {
      ok: false,
      code: 'size',
      reason: 'the object is 1,000 bytes; the grant allowed at most 999',
    });
    assert.deepEqual(await sized(5_368_709_121, { maxBytes: 5_368_709_120, exactSize: false }), {
      ok: false,
      code: 'size',
      reason: 'the object is 5,368,709,121 bytes; the grant allowed at most 5,368,709,120',
    });
  });
});

describe('Content-Type as signed', () => {
  const stored = (signed: string, contentType: string | undefined): Promise<Verdict> =>
    verifyUpload(grant(signed), { size: 5, contentType, checksums: {} }, utf8('hello'));

  test('the value signed passes, with the spacing SigV4 canonicalises away', async () => {
    assert.deepEqual(await stored('text/plain; charset=utf-8', 'text/plain; charset=utf-8'), accepted());
    assert.equal((await stored('text/plain; charset=utf-8', ' text/plain;  charset=utf-8 ')).ok, true);
  });

  test('none is refused', async () => {
    assert.deepEqual(await stored('text/plain', undefined), {
      ok: false,
      code: 'content-type',
      reason: 'the object has no Content-Type; the grant signed "text/plain"',
    });
  });

  test('a value differing in case, parameters or their order is refused', async () => {
    assert.deepEqual(await stored('text/plain', 'TEXT/plain'), {
      ok: false,
      code: 'content-type',
      reason: `the object's Content-Type is "TEXT/plain"; the grant signed "text/plain"`,
    });
    for (const [signed, contentType] of [
      ['text/plain', 'text/plain; charset=utf-8'],
      ['text/plain; charset=utf-8', 'text/plain'],
      ['text/plain; charset=utf-8', 'text/plain; charset=UTF-8'],
      ['text/plain; charset=utf-8; format=flowed', 'text/plain; format=flowed; charset=utf-8'],
      ['text/plain;charset=utf-8', 'text/plain; charset=utf-8'],
      ['text/plain', 'text/csv'],
    ] as const) {
      const verdict = await stored(signed, contentType);
      assert.equal(verdict.ok === false && verdict.code, 'content-type', `${signed} vs ${contentType}`);
    }
  });
});

describe('checksum', () => {
  const SHA256 = createHash('sha256').update('the bytes').digest('base64');
  const OTHER = createHash('sha256').update('other bytes').digest('base64');
  const checked = (checksums: FoundObject['checksums'], checksum: GrantedUpload['checksum'] = { algorithm: 'SHA256', value: SHA256 }) =>
    verifyUpload(grant('text/plain', { checksum }), { size: 5, contentType: 'text/plain', checksums }, utf8('hello'));

  test('without one in the grant, whatever the object carries passes', async () => {
    assert.equal((await checked({}, null)).ok, true);
    assert.equal((await checked({ SHA256: OTHER }, null)).ok, true);
  });

  test("the grant's, equal, passes", async () => {
    assert.equal((await checked({ SHA256, CRC32: 'AAAAAA==' })).ok, true);
    assert.equal((await checked({ CRC32C: 'mnG7TA==' }, { algorithm: 'CRC32C', value: 'mnG7TA==' })).ok, true);
  });

  test('absent, only under another algorithm, or different: refused', async () => {
    assert.deepEqual(await checked({}), {
      ok: false,
      code: 'checksum',
      reason: `the object has no SHA256 checksum; the grant required ${SHA256}`,
    });
    assert.deepEqual(await checked({ CRC32: 'NhCmhg==' }), {
      ok: false,
      code: 'checksum',
      reason: `the object has no SHA256 checksum; the grant required ${SHA256}`,
    });
    assert.deepEqual(await checked({ SHA256: OTHER }), {
      ok: false,
      code: 'checksum',
      reason: `the object's SHA256 is ${OTHER}; the grant required ${SHA256}`,
    });
  });
});

describe('the magic number of a type file-type recognises', () => {
  test('each format passes as itself, named as file-type names it', async () => {
    assert.deepEqual(await verify('image/png', PNG), accepted('image/png'));
    assert.deepEqual(await verify('image/jpeg', JPEG), accepted('image/jpeg'));
    assert.deepEqual(await verify('image/gif', GIF), accepted('image/gif'));
    assert.deepEqual(await verify('application/pdf', PDF), accepted('application/pdf'));
    assert.deepEqual(await verify('application/zip', ZIP), accepted('application/zip'));
    assert.deepEqual(await verify('application/x-elf', ELF), accepted('application/x-elf'));
    assert.deepEqual(await verify('image/png; name="a.png"', PNG), accepted('image/png'), 'parameters are not part of the type');
    assert.deepEqual(await verify('Image/PNG', PNG), accepted('image/png'), 'types are case-insensitive');
  });

  test('another format is refused, naming what the bytes are', async () => {
    assert.deepEqual(await verify('image/png', JPEG), { ok: false, code: 'content', reason: 'the bytes are image/jpeg, not image/png' });
    assert.deepEqual(await verify('image/jpeg', PNG), { ok: false, code: 'content', reason: 'the bytes are image/png, not image/jpeg' });
    assert.deepEqual(await verify('application/pdf', ELF), {
      ok: false,
      code: 'content',
      reason: 'the bytes are application/x-elf, not application/pdf',
    });
    assert.deepEqual(await verify('application/zip', EXE), {
      ok: false,
      code: 'content',
      reason: 'the bytes are application/x-msdownload, not application/zip',
    });
    assert.deepEqual(await verify('image/gif', PDF), {
      ok: false,
      code: 'content',
      reason: 'the bytes are application/pdf, not image/gif',
    });
  });

  test('bytes of no format file-type knows are refused, and so is an empty object', async () => {
    assert.deepEqual(await verify('image/png', utf8('just some text')), {
      ok: false,
      code: 'content',
      reason: 'the bytes are not a recognisable image/png',
    });
    assert.deepEqual(await verify('image/png', PNG.subarray(4)), {
      ok: false,
      code: 'content',
      reason: 'the bytes are not a recognisable image/png',
    });
    assert.deepEqual(await verify('image/png', new Uint8Array()), {
      ok: false,
      code: 'content',
      reason: 'the object is empty, so it is not a recognisable image/png',
    });
  });

  test('other names for a format pass, and only for that format', async () => {
    assert.deepEqual(await verify('image/jpg', JPEG), accepted('image/jpeg'));
    assert.deepEqual(await verify('image/pjpeg', JPEG), accepted('image/jpeg'));
    assert.deepEqual(await verify('audio/x-wav', WAV), accepted('audio/wav'));
    assert.deepEqual(await verify('audio/wav', WAV), accepted('audio/wav'));
    assert.deepEqual(await verify('audio/mp4', M4A), accepted('audio/x-m4a'));
    assert.deepEqual(await verify('video/mp4', M4A), accepted('audio/x-m4a'), 'one container, named by its brand');
    assert.deepEqual(await verify('image/jpg', PNG), { ok: false, code: 'content', reason: 'the bytes are image/png, not image/jpg' });
    assert.deepEqual(await verify('audio/x-wav', M4A), {
      ok: false,
      code: 'content',
      reason: 'the bytes are audio/x-m4a, not audio/x-wav',
    });
    assert.equal((await verify('image/jpg', utf8('plain text'))).ok, false, 'an alias is recognisable too');
  });

  test('a ZIP-based format and a ZIP: either may stand for the other, nothing else may', async () => {
    assert.deepEqual(await verify(DOCX_TYPE, DOCX), accepted(DOCX_TYPE));
    assert.deepEqual(await verify('application/zip', DOCX), accepted(DOCX_TYPE));
    // The entry naming a DOCX may lie past the bytes read.
    assert.deepEqual(await verify(DOCX_TYPE, zipEntry('_rels/.rels', utf8('<Relationships/>'))), accepted('application/zip'));
    assert.deepEqual(await verify('application/java-archive', ZIP), accepted('application/zip'));
    assert.deepEqual(await verify(DOCX_TYPE, PNG), { ok: false, code: 'content', reason: `the bytes are image/png, not ${DOCX_TYPE}` });
    assert.equal((await verify('application/epub+zip', PDF)).ok, false);
  });

  test("XML's declaration is optional: XML without one passes, another format does not", async () => {
    assert.deepEqual(await verify('application/xml', utf8('<?xml version="1.0"?><a/>')), accepted('application/xml'));
    assert.deepEqual(await verify('application/xml', utf8('<a/>')), accepted());
    assert.deepEqual(await verify('application/xml', PNG), {
      ok: false,
      code: 'content',
      reason: 'the bytes are image/png, not application/xml',
    });
  });

  test('a type file-type does not recognise, not text, takes any bytes, naming them when known', async () => {
    assert.deepEqual(await verify('application/octet-stream', ELF), accepted('application/x-elf'));
    assert.deepEqual(await verify('application/octet-stream', utf8('text')), accepted());
    assert.deepEqual(await verify('application/octet-stream', new Uint8Array()), accepted());
    assert.deepEqual(await verify('application/vnd.example.thing', EXE), accepted('application/x-msdownload'));
  });

  test('the first CONTENT_SNIFF_BYTES bytes are what is read; fewer is a caller error', async () => {
    const large = Buffer.concat([PNG, Buffer.alloc(10_000)]);
    assert.equal(bytesToRead(grant('image/png')), CONTENT_SNIFF_BYTES);
    assert.deepEqual(await verify('image/png', large), accepted('image/png'));
    await assert.rejects(
      verifyUpload(
        grant('image/png'),
        { size: large.length, contentType: 'image/png', checksums: {} },
        large.subarray(0, CONTENT_SNIFF_BYTES - 1),
      ),
      RangeError,
    );
    await assert.rejects(
      verifyUpload(grant('image/png'), { size: PNG.length, contentType: 'image/png', checksums: {} }, PNG.subarray(1)),
      RangeError,
    );
  });
});

describe('text', () => {
  test('UTF-8 text passes, and so does an empty object', async () => {
    assert.deepEqual(await verify('text/plain', utf8('héllo, wörld ✓\n')), accepted());
    assert.deepEqual(await verify('text/csv; charset=utf-8', utf8('a,b\n1,2\n')), accepted());
    assert.deepEqual(await verify('application/json', utf8('{"a":"ü"}')), accepted());
    assert.deepEqual(await verify('text/plain', new Uint8Array()), accepted());
  });

  test('a binary format in a text type is refused, naming it', async () => {
    assert.deepEqual(await verify('text/plain', ZIP), {
      ok: false,
      code: 'content',
      reason: 'the bytes are application/zip, not text/plain',
    });
    assert.deepEqual(await verify('text/plain', ELF), {
      ok: false,
      code: 'content',
      reason: 'the bytes are application/x-elf, not text/plain',
    });
    assert.deepEqual(await verify('text/csv', EXE), {
      ok: false,
      code: 'content',
      reason: 'the bytes are application/x-msdownload, not text/csv',
    });
    assert.deepEqual(await verify('application/json', PNG), {
      ok: false,
      code: 'content',
      reason: 'the bytes are image/png, not application/json',
    });
    assert.deepEqual(await verify('text/html', PDF), {
      ok: false,
      code: 'content',
      reason: 'the bytes are application/pdf, not text/html',
    });
  });

  test('clean text outweighs a printable signature: a CSV row starting BM is not a bitmap, nor one starting MZ a program', async () => {
    assert.deepEqual(await verify('text/csv', utf8('BMW,320i,2019\nAudi,A4,2020\n')), accepted());
    assert.deepEqual(await verify('text/plain', utf8('MZ Corp annual report\n')), accepted());
    assert.deepEqual(await verify('text/plain', utf8('<?xml version="1.0"?><a/>')), accepted('application/xml'));
  });

  test('NUL bytes are refused', async () => {
    assert.deepEqual(await verify('text/plain', utf8('hello\0world')), {
      ok: false,
      code: 'content',
      reason: 'the bytes contain NUL bytes, which text/plain does not',
    });
    assert.equal((await verify('application/json', utf8('{"a":"\0"}'))).ok, false);
    assert.equal(
      (await verify('text/plain; charset=iso-8859-1', utf8('a\0'))).ok,
      false,
      'a single-byte charset has no NUL in text either',
    );
  });

  test('bytes that are not UTF-8 are refused, unless the Content-Type names another charset', async () => {
    const latin1 = bytes('caf\xe9\n');
    assert.deepEqual(await verify('text/plain', latin1), {
      ok: false,
      code: 'content',
      reason: 'the bytes are not valid UTF-8, and text/plain names no other charset',
    });
    assert.deepEqual(await verify('text/plain; charset=UTF-8', latin1), {
      ok: false,
      code: 'content',
      reason: 'the bytes are not valid UTF-8, the charset the Content-Type names',
    });
    assert.equal((await verify('application/ld+json', latin1)).ok, false);
    assert.equal((await verify('text/plain', bytes('\xed\xa0\x80'))).ok, false, 'an encoded surrogate');
    assert.equal((await verify('text/plain', bytes('\xc0\xaf'))).ok, false, 'an overlong encoding');
    assert.deepEqual(await verify('text/plain; charset=iso-8859-1', latin1), accepted());
    assert.deepEqual(await verify('text/plain; charset="windows-1252"', latin1), accepted());
  });

  test('UTF-16 named passes with its NUL bytes; unnamed it is refused', async () => {
    const utf16 = Buffer.from('\ufeffhello', 'utf16le');
    assert.deepEqual(await verify('text/plain; charset=utf-16', utf16), accepted());
    assert.deepEqual(await verify('text/plain; charset=UTF-16LE', utf16), accepted());
    assert.equal((await verify('text/plain', utf16)).ok, false);
  });

  test('a character cut by the end of the bytes read passes only when the object goes on', async () => {
    const text = utf8(`${'a'.repeat(CONTENT_SNIFF_BYTES - 1)}€ and more`);
    assert.equal(text[CONTENT_SNIFF_BYTES - 1], 0xe2, 'the prefix ends inside the euro sign');
    assert.deepEqual(await verify('text/plain', text), accepted());
    const cut = text.subarray(0, CONTENT_SNIFF_BYTES);
    assert.equal((await verify('text/plain', cut)).ok, false, 'the whole object ends mid-character');
    const bad = Buffer.from(text);
    bad[CONTENT_SNIFF_BYTES - 1] = 0xff;
    assert.equal((await verify('text/plain', bad)).ok, false, 'a byte no character starts with is invalid anywhere');
    const early = Buffer.from(text);
    early[10] = 0xe2;
    assert.equal((await verify('text/plain', early)).ok, false, 'a cut character before the end is invalid');
  });

  test('a text type file-type recognises must have its signature, and be text', async () => {
    assert.deepEqual(await verify('text/vtt', utf8('WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n')), accepted('text/vtt'));
    assert.deepEqual(await verify('text/vtt', utf8('00:00.000 --> 00:01.000\nhi\n')), {
      ok: false,
      code: 'content',
      reason: 'the bytes are not a recognisable text/vtt',
    });
    assert.equal((await verify('text/vtt', utf8('WEBVTT\n\0'))).ok, false);
  });
});

describe('SVG', () => {
  const svg = (body: string, attributes = ''): string =>
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"${attributes}>${body}</svg>`;
  const verifySvg = (text: string | Uint8Array, contentType = 'image/svg+xml'): Promise<Verdict> =>
    verify(contentType, typeof text === 'string' ? utf8(text) : text, {}, { maxBytes: 10 * SVG_MAX_BYTES });
  const CLEAN = [
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
    '<!-- Generator: an editor -->',
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">',
    svg(
      [
        '<title>Objects and scripts: a description, not code</title>',
        '<style>.a { fill: #c33; font-family: Montserrat, sans-serif; }</style>',
        '<defs><path id="p" d="M0 0h10v10z"/></defs>',
        '<use xlink:href="#p" class="a"/><use href="#p" opacity="0.5"/>',
        '<image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>',
        '<a href="https://example.com/javascript/guide"><text x="1" y="5">turn on the light &#60;script&#62;</text></a>',
        '<g id="objects" data-on="x"><rect width="1" height="1" fill="none"/></g>',
      ].join('\n'),
    ),
  ].join('\n');

  test('SVG is read whole, up to SVG_MAX_BYTES', () => {
    assert.equal(SVG_MAX_BYTES, 262_144);
    assert.equal(bytesToRead(grant('image/svg+xml')), SVG_MAX_BYTES);
    assert.equal(bytesToRead(grant('Image/SVG+XML; charset=utf-8')), SVG_MAX_BYTES);
  });

  test('a clean SVG passes, with a prolog or none and a namespace prefix on the root', async () => {
    assert.deepEqual(await verifySvg(CLEAN), accepted('image/svg+xml'));
    assert.deepEqual(await verifySvg(`\ufeff${CLEAN}`), accepted('image/svg+xml'));
    assert.deepEqual(await verifySvg('<svg xmlns="http://www.w3.org/2000/svg"/>'), accepted('image/svg+xml'));
    assert.deepEqual(
      await verifySvg('<svg:svg xmlns:svg="http://www.w3.org/2000/svg"><svg:rect width="1"/></svg:svg>'),
      accepted('image/svg+xml'),
    );
    assert.deepEqual(await verifySvg(svg('<circle r="1"/>'), 'image/svg+xml; charset=utf-8'), accepted('image/svg+xml'));
    assert.deepEqual(await verifySvg(`<?xml version="1.0" encoding='us-ascii'?>${svg('')}`), accepted('image/svg+xml'));
  });

  test('exactly SVG_MAX_BYTES passes; one byte more is refused, as it cannot be checked whole', async () => {
    const padded = (size: number): Buffer => {
      const start = utf8('<svg xmlns="http://www.w3.org/2000/svg"><!-- ');
      const end = utf8(' --></svg>');
      return Buffer.concat([start, Buffer.alloc(size - start.length - end.length, 'x'), end]);
    };
    assert.deepEqual(await verifySvg(padded(SVG_MAX_BYTES)), accepted('image/svg+xml'));
    assert.deepEqual(await verifySvg(padded(SVG_MAX_BYTES + 1)), {
      ok: false,
      code: 'content',
      reason: 'the object is 262,145 bytes; an SVG is checked whole, and at most 262,144 bytes of one can be',
    });
    await assert.rejects(
      verifyUpload(
        grant('image/svg+xml'),
        { size: 10_000, contentType: 'image/svg+xml', checksums: {} },
        padded(10_000).subarray(0, CONTENT_SNIFF_BYTES),
      ),
      RangeError,
    );
  });

  test('what is not an SVG document is refused', async () => {
    const notSvg = { ok: false, code: 'content', reason: 'the bytes are not an SVG document: its root element is not <svg>' };
    assert.deepEqual(await verifySvg('<html><body>hi</body></html>'), notSvg);
    assert.deepEqual(await verifySvg('<?xml version="1.0"?><svgs xmlns="http://www.w3.org/2000/svg"/>'), notSvg);
    assert.deepEqual(await verifySvg('<SVG xmlns="http://www.w3.org/2000/svg"/>'), notSvg, 'XML names are case-sensitive');
    assert.deepEqual(await verifySvg('hello <svg/>'), notSvg);
    assert.deepEqual(await verifySvg(''), notSvg);
    assert.deepEqual(await verifySvg(PNG), { ok: false, code: 'content', reason: 'the SVG is not valid UTF-8 text' });
  });

  test('only UTF-8 is checked: another charset or declared encoding is refused', async () => {
    assert.deepEqual(await verifySvg(svg(''), 'image/svg+xml; charset=iso-2022-jp'), {
      ok: false,
      code: 'content',
      reason: "an SVG is checked as UTF-8, and the grant's Content-Type names charset iso-2022-jp",
    });
    assert.deepEqual(await verifySvg(`<?xml version="1.0" encoding="ISO-2022-JP"?>${svg('')}`), {
      ok: false,
      code: 'content',
      reason: 'the SVG declares an encoding other than UTF-8, and an SVG is checked as UTF-8',
    });
    assert.equal((await verifySvg(Buffer.from(svg(''), 'utf16le'))).ok, false);
  });

  const vectors: readonly (readonly [string, string, RegExp])[] = [
    ['a script element', svg('<script>alert(1)</script>'), /^the SVG has a <script> element; an SVG with script in it is not an image$/],
    ['uppercase', svg('<SCRIPT>alert(1)</SCRIPT>'), /<script> element/],
    ['mixed case and a space before >', svg('<ScRiPt >alert(1)</ScRiPt >'), /<script> element/],
    ['self-closing with a source', svg('<script href="https://evil.example/x.js"/>'), /<script> element/],
    ['namespaced', svg('<svg:script xmlns:svg="http://www.w3.org/2000/svg">alert(1)</svg:script>'), /<script> element/],
    ['a non-ASCII prefix', svg('<é:script xmlns:é="http://www.w3.org/2000/svg">alert(1)</é:script>'), /<script> element/],
    ['CDATA inside script', svg('<script type="text/ecmascript"><![CDATA[ alert(1) ]]></script>'), /<script> element/],
    ['script inside CDATA', svg('<text><![CDATA[<script>alert(1)</script>]]></text>'), /<script> element/],
    [
      'on the root',
      svg('', ' onload="alert(1)"'),
      /^the SVG has an event handler attribute \(on…=\); an SVG with script in it is not an image$/,
    ],
    ['uppercase handler', svg('', ' ONLOAD="alert(1)"'), /event handler/],
    ['unquoted', svg('', ' onload=alert(1)'), /event handler/],
    ['spaces around =', svg('<rect onclick = "alert(1)"/>'), /event handler/],
    ['after a newline', svg('<rect\nonmouseover="alert(1)"/>'), /event handler/],
    ['after a slash', '<svg/onload=alert(1) xmlns="http://www.w3.org/2000/svg"/>', /event handler/],
    ['after a quote, no space', svg('<rect x="1"onfocus="alert(1)"/>'), /event handler/],
    [
      'an animated handler',
      svg('<rect><set attributeName="onmouseover" to="alert(1)"/></rect>'),
      /^the SVG animates an event handler attribute; /,
    ],
    [
      'a javascript: link',
      svg('<a href="javascript:alert(1)"><text>x</text></a>'),
      /^the SVG has a javascript: URL; an SVG with script in it is not an image$/,
    ],
    ['xlink:href', svg('<a xlink:href="javascript:alert(1)"><text>x</text></a>'), /javascript: URL/],
    ['mixed case, leading space', svg('<a href=" JavaScript:alert(1)"><text>x</text></a>'), /javascript: URL/],
    ['a hex reference', svg('<a href="java&#x73;cript:alert(1)"><text>x</text></a>'), /javascript: URL/],
    ['decimal with zeros', svg('<a href="&#0000106;avascript:alert(1)"><text>x</text></a>'), /javascript: URL/],
    ['references without semicolons', svg('<a href="&#x6A&#x61vascript:alert(1)"><text>x</text></a>'), /javascript: URL/],
    ['an encoded colon', svg('<a href="javascript&#58;alert(1)"><text>x</text></a>'), /javascript: URL/],
    ['named references', svg('<a href="java&Tab;script&colon;alert(1)"><text>x</text></a>'), /javascript: URL/],
    ['an encoded tab', svg('<a href="java&#x09;script:alert(1)"><text>x</text></a>'), /javascript: URL/],
    ['a raw newline', svg('<a href="java\nscript:alert(1)"><text>x</text></a>'), /javascript: URL/],
    ['an animated href', svg('<a><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a>'), /javascript: URL/],
    ['animation values', svg('<a><animate attributeName="href" values="&#106;avascript:alert(1)"/></a>'), /javascript: URL/],
    [
      'data: HTML',
      svg('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="><text>x</text></a>'),
      /^the SVG has a data: URL of HTML/,
    ],
    ['data: HTML, cased and spaced', svg('<a href="DATA: Text/HTML,hi"><text>x</text></a>'), /data: URL/],
    ['data: HTML, encoded', svg('<a href="data&colon;text&sol;html,hi"><text>x</text></a>'), /data: URL/],
    ['data: SVG in use', svg('<use href="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=#x"/>'), /data: URL/],
    ['data: XHTML', svg('<a href="data:application/xhtml&plus;xml,hi"><text>x</text></a>'), /data: URL/],
    [
      'foreignObject',
      svg('<foreignObject width="10" height="10"><p>hi</p></foreignObject>'),
      /^the SVG has a <foreignObject> element, which can hold HTML/,
    ],
    ['foreignobject, lowercase', svg('<foreignobject/>'), /<foreignObject> element/],
    ['iframe', svg('<iframe src="https://evil.example/"/>'), /^the SVG has an <iframe> element, which can load a page with script$/],
    ['embed', svg('<embed src="https://evil.example/"/>'), /<embed> element/],
    ['object', svg('<object data="https://evil.example/"/>'), /<object> element/],
    ['an entity', `<!DOCTYPE svg [<!ENTITY x "y">]>${svg('<text>&x;</text>')}`, /^the SVG declares XML entities \(<!ENTITY\)/],
    ['lowercase entity', `<!DOCTYPE svg [<!entity x SYSTEM "file:///etc/passwd">]>${svg('')}`, /<!ENTITY/],
    ['an attribute default', `<!DOCTYPE svg [<!ATTLIST svg onload CDATA "alert(1)">]>${svg('')}`, /^the SVG has a DTD internal subset/],
    [
      'an XSLT stylesheet',
      `<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="x.xsl"?>${svg('')}`,
      /^the SVG has an <\?xml-stylesheet\?> instruction/,
    ],
    ['the XHTML namespace', svg('<h:a xmlns:h="http://www.w3.org/1999/xhtml" href="#">x</h:a>'), /^the SVG declares the XHTML namespace/],
    ['the XHTML namespace, encoded', svg('<h:p xmlns:h="http&#58;//www.w3.org/1999/xhtml">x</h:p>'), /XHTML namespace/],
  ];
  for (const [name, text, reason] of vectors) {
    test(`refused: ${name}`, async () => {
      const verdict = await verifySvg(text);
      assert.equal(verdict.ok, false);
      assert.ok(verdict.ok === false && verdict.code === 'active-content', JSON.stringify(verdict));
      assert.match(verdict.reason, reason);
    });
  }

  test('near misses pass: words, not markup or URLs', async () => {
    for (const body of [
      '<text>no script here, javascript is a language</text>',
      '<scripted/>',
      '<objective/>',
      '<text>&#60;script&#62;alert(1)&#60;/script&#62;</text>',
      '<a href="https://example.com/?q=javascript"><text>x</text></a>',
      '<g data-onload="1" aria-label="on"/>',
      '<image href="data:image/jpeg;base64,/9j/4AAQ"/>',
      '<text>&#x110000; &#99999999999; are no characters</text>',
    ]) {
      assert.deepEqual(await verifySvg(svg(body)), accepted('image/svg+xml'), body);
    }
  });
});
