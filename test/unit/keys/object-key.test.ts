import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_KEY_BYTES, checkObjectKey, safeFilename } from '../../../src/keys/object-key.js';

/** Asserts the key is refused and returns the reason, for further checks. */
function refused(key: string): string {
  const check = checkObjectKey(key);
  assert.equal(check.ok, false, `expected ${JSON.stringify(key)} to be refused`);
  return check.ok ? '' : check.reason;
}

describe('checkObjectKey: accepted keys', () => {
  const accepted: readonly [string, string][] = [
    ['a plain nested key', 'uploads/alice/report.pdf'],
    ['a single-segment key', 'report.pdf'],
    ['unicode letters and emoji', 'uploads/zoë/日本語/📄 résumé.pdf'],
    ['spaces', 'uploads/alice/my holiday photo.jpg'],
    ['apostrophes', "uploads/alice/o'brien's notes.txt"],
    ['a literal * inside a key', 'uploads/alice/star*.txt'],
    ['a literal ? inside a key', 'uploads/alice/why?.txt'],
    ['dots that are not whole segments', 'uploads/alice/..hidden/...three/file..txt'],
    ['a segment that merely starts with a dot', 'uploads/.well-known/x'],
  ];
  for (const [name, key] of accepted) {
    test(`accepts ${name}`, () => {
      assert.deepEqual(checkObjectKey(key), { ok: true });
    });
  }

  test('accepts a key of exactly 1024 UTF-8 bytes', () => {
    assert.equal(MAX_KEY_BYTES, 1024);
    assert.deepEqual(checkObjectKey('a'.repeat(1024)), { ok: true });
  });

  test('accepts 341 × "€" (1023 bytes): the limit counts bytes, not characters, in both directions', () => {
    const key = '€'.repeat(341);
    assert.equal(Buffer.byteLength(key, 'utf8'), 1023);
    assert.deepEqual(checkObjectKey(key), { ok: true });
  });

  test('accepts a well-formed surrogate pair (astral character)', () => {
    assert.deepEqual(checkObjectKey('uploads/\ud83d\udcc4'), { ok: true });
  });
});

describe('checkObjectKey: refused keys and their reasons', () => {
  test('empty key', () => {
    assert.match(refused(''), /empty/);
  });

  test('lone high surrogate "\\ud800"', () => {
    assert.match(refused('\ud800'), /lone surrogate/);
  });

  test('lone low surrogate inside a key', () => {
    assert.match(refused('uploads/a\udc00b'), /lone surrogate/);
  });

  test('1025 ASCII bytes', () => {
    assert.match(refused('a'.repeat(1025)), /1025 bytes; the limit is 1024/);
  });

  test('multi-byte characters count as bytes: 342 × "€" is 1026 bytes though only 342 characters', () => {
    const key = '€'.repeat(342);
    assert.equal(key.length, 342);
    assert.match(refused(key), /1026 bytes; the limit is 1024/);
  });

  for (const [name, char] of [
    ['NUL \\u0000', '\u0000'],
    ['unit separator \\u001f', '\u001f'],
    ['DEL \\u007f', '\u007f'],
    ['NEL \\u0085 (C1 control)', '\u0085'],
    ['newline', '\n'],
    ['tab', '\t'],
  ] as const) {
    test(`control character ${name}`, () => {
      assert.match(refused(`uploads/alice/a${char}b.txt`), /control character/);
    });
  }

  test('leading "/"', () => {
    assert.match(refused('/uploads/alice/x'), /must not start with "\/"/);
  });

  test('"//" in the middle', () => {
    assert.match(refused('uploads//alice/x'), /empty segment/);
  });

  test('trailing "/"', () => {
    assert.match(refused('uploads/alice/'), /empty segment/);
  });

  for (const key of ['.', 'uploads/./x', 'uploads/alice/.']) {
    test(`"." segment in ${JSON.stringify(key)}`, () => {
      assert.match(refused(key), /must not contain a "\." segment/);
    });
  }

  for (const key of ['..', 'uploads/alice/../bob/x', 'uploads/..']) {
    test(`".." segment in ${JSON.stringify(key)}`, () => {
      assert.match(refused(key), /must not contain a "\.\." segment/);
    });
  }
});

describe('safeFilename', () => {
  test('keeps an ordinary filename as it is', () => {
    assert.equal(safeFilename('report.pdf'), 'report.pdf');
  });

  test('keeps unicode, spaces and apostrophes', () => {
    assert.equal(safeFilename("O'Brien résumé 日本.pdf"), "O'Brien résumé 日本.pdf");
  });

  test('strips POSIX directories', () => {
    assert.equal(safeFilename('/home/alice/docs/report.pdf'), 'report.pdf');
  });

  test('strips Windows directories', () => {
    assert.equal(safeFilename('C:\\Users\\alice\\report.pdf'), 'report.pdf');
  });

  test('path traversal cannot escape: "../../etc/passwd" becomes "passwd"', () => {
    assert.equal(safeFilename('../../etc/passwd'), 'passwd');
    assert.equal(safeFilename('..\\..\\boot.ini'), 'boot.ini');
  });

  test('replaces wildcards and reserved URL characters with "_"', () => {
    assert.equal(safeFilename('a*b?c#d%e"f<g>h|i{j}k^l`m[n].txt'), 'a_b_c_d_e_f_g_h_i_j_k_l_m_n_.txt');
  });

  test('removes control characters', () => {
    assert.equal(safeFilename('re\u0000po\u001frt\u007f\u0085.pdf'), 'report.pdf');
  });

  test('trims surrounding whitespace', () => {
    assert.equal(safeFilename('  report.pdf \t'), 'report.pdf');
  });

  test('normalises to NFC', () => {
    const decomposed = 're\u0301sume\u0301.pdf';
    assert.equal(safeFilename(decomposed), 'r\u00e9sum\u00e9.pdf');
  });

  for (const filename of ['', '.', '..', '   ', 'docs/', 'docs\\', 'a/..', 'a\\.', '\u0000\u0001', ' .. ']) {
    test(`returns undefined for ${JSON.stringify(filename)}`, () => {
      assert.equal(safeFilename(filename), undefined);
    });
  }

  test('returns undefined for a lone surrogate', () => {
    assert.equal(safeFilename('a\ud800b.txt'), undefined);
  });

  test('truncates long names to 200 code points', () => {
    const result = safeFilename('x'.repeat(300));
    assert.equal(result, 'x'.repeat(200));
  });

  test('truncates by code points, so an astral character is never split into a lone surrogate', () => {
    // 199 ASCII characters, then emoji (2 UTF-16 units each): a UTF-16 cut at 200 would leave a lone high surrogate.
    const name = `${'a'.repeat(199)}${'📄'.repeat(5)}`;
    const result = safeFilename(name);
    assert.ok(result !== undefined);
    assert.equal(result, `${'a'.repeat(199)}📄`);
    assert.equal(Array.from(result).length, 200);
    assert.ok(result.isWellFormed());
  });

  test('a result is always a valid single key segment', () => {
    for (const name of ['../x', 'a b', '📄.pdf', 'C:\\x\\y.z', 'name?.txt']) {
      const result = safeFilename(name);
      assert.ok(result !== undefined);
      assert.deepEqual(checkObjectKey(`uploads/alice/${result}`), { ok: true });
      assert.ok(!result.includes('/'));
    }
  });
});
