/**
 * Behaviour that mutation testing (npm run test:mutation) found unpinned by object-key.test.ts:
 * each test names what a caller sees, so that a change to the rule or to its message shows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkObjectKey, safeFilename } from '../../../src/keys/object-key.js';

const reasonFor = (key: string): string => {
  const check = checkObjectKey(key);
  assert.equal(check.ok, false, `expected ${JSON.stringify(key)} to be refused`);
  return check.ok ? '' : check.reason;
};

describe('checkObjectKey: what the caller is told', () => {
  test('an empty key is refused as empty (not as an empty segment)', () => {
    assert.equal(reasonFor(''), 'key is empty');
  });

  test('a look-alike or invisible character is named by its code point: "U+" and at least four upper-case hex digits', () => {
    for (const [char, named] of [
      ['\u00a0', 'U+00A0'], // no-break space
      ['\u200b', 'U+200B'], // zero-width space
      ['\u202e', 'U+202E'], // right-to-left override
      ['\u2028', 'U+2028'], // line separator
      ['\u3000', 'U+3000'], // ideographic space
      ['\ue000', 'U+E000'], // private use
      ['\u{e0041}', 'U+E0041'], // tag latin capital A, outside the BMP
    ] as const) {
      assert.equal(reasonFor(`uploads/a${char}b.txt`), `key contains ${named}, an invisible or look-alike character`, named);
    }
  });

  test('a plain U+0020 space is not a look-alike', () => {
    assert.deepEqual(checkObjectKey('uploads/a b.txt'), { ok: true });
  });

  test('U+FFFD is refused as the trace of bytes that were not UTF-8', () => {
    assert.equal(reasonFor('uploads/caf\ufffd.txt'), 'key contains U+FFFD (the bytes sent were probably not UTF-8)');
  });

  test('"${" is refused, because S3 expands ${filename} in a POST form key', () => {
    assert.equal(reasonFor('uploads/${filename}'), 'key must not contain "${" (S3 expands ${filename} in POST form keys)');
    assert.deepEqual(checkObjectKey('uploads/$ and {braces}.txt'), { ok: true });
  });
});

describe('safeFilename: invisible and look-alike characters', () => {
  test('format characters, private-use characters and U+FFFD are dropped, not replaced', () => {
    assert.equal(safeFilename('re\u200bport\u202e\ue000\ufffd.pdf'), 'report.pdf');
  });

  test('other spaces and separators become plain spaces', () => {
    assert.equal(safeFilename('my\u00a0holiday\u3000photo\u2028.jpg'), 'my holiday photo .jpg');
  });
});
