import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeKeyForCloudFront } from '../../src/keys/cloudfront-path.js';
import { checkObjectKey, MAX_KEY_BYTES, safeFilename } from '../../src/keys/object-key.js';
import { compilePattern, generationPrefix, matchesResolved, resolvePattern } from '../../src/policy/patterns.js';
import { claimValue, patternSource, principalArb } from './arbitraries.js';
import { keyIsValid } from './key-model.js';
import { chunksRegExp, resolveTokens, tokenize, type Token } from './policy-model.js';
import { runs } from './settings.js';

/** A resolved pattern's chunks: never empty, as resolvePattern builds them. */
const nonEmptyList = <T>(item: fc.Arbitrary<T>, maxLength: number): fc.Arbitrary<[T, ...T[]]> =>
  fc.tuple(item, fc.array(item, { maxLength: maxLength - 1 })).map(([first, rest]): [T, ...T[]] => [first, ...rest]);

describe('resource patterns against the reference model', () => {
  const roughSource = fc.string({
    unit: fc.constantFrom('a', '/', '{', '}', '*', '?', 'sub', 'tid', 'org.id', '.', ' ', ':', '-', '_', '1', 'ü'),
    maxLength: 10,
  });
  const asParts = (tokens: readonly Token[]): unknown[] =>
    tokens.map((token) =>
      token.kind === 'literal' ? { literal: token.text } : token.kind === 'claim' ? { claim: token.name } : { wildcard: true },
    );

  test('compilePattern accepts exactly the well-formed sources and splits them as the model does', () => {
    fc.assert(
      fc.property(fc.oneof(roughSource, patternSource), (source) => {
        const tokens = tokenize(source);
        if (tokens === undefined) {
          assert.throws(
            () => compilePattern(source),
            (error: Error) =>
              source === '' ? error.message === 'a resource pattern is empty' : error.message.startsWith(`pattern "${source}": `),
          );
          return;
        }
        const compiled = compilePattern(source);
        assert.equal(compiled.source, source);
        assert.deepEqual(compiled.parts, asParts(tokens));
      }),
      runs(1500),
    );
  });

  test('resolvePattern fills claims as the model does and refuses every value that could widen the pattern, naming the claim', () => {
    const claims = fc.tuple(principalArb, claimValue, claimValue).map(([who, tid, team]) => ({ ...who.claims, tid, team }));
    fc.assert(
      fc.property(patternSource, claims, (source, claimSet) => {
        const expected = resolveTokens(tokenize(source) ?? [], claimSet);
        const resolved = resolvePattern(compilePattern(source), claimSet);
        if (expected === undefined) {
          assert.ok(!resolved.ok, `resolved to ${JSON.stringify(resolved)}`);
          assert.match(resolved.reason, /^claim "[^"]+" /u);
        } else {
          assert.ok(resolved.ok, resolved.ok ? '' : resolved.reason);
          assert.deepEqual(resolved.pattern.chunks, expected);
        }
      }),
      runs(1500),
    );
  });

  test('matchesResolved agrees with a regular expression of the escaped chunks joined by "any run of characters"', () => {
    const piece = fc.constantFrom('a', 'a', 'b', 'ab', '/', '.', 'ü', '😀');
    const text = fc.string({ unit: piece, maxLength: 3 });
    const chunks = nonEmptyList(text, 5);
    // Most keys are built from the chunks with fillers between them, so that matches are common, and some
    // then lose a few characters, so that literals overlap or fall out of order (near misses).
    const keyFor = (list: readonly string[]): fc.Arbitrary<string> => {
      const built = fc
        .array(text, { minLength: list.length, maxLength: list.length })
        .map((fillers) => list.map((c, i) => `${c}${fillers[i] ?? ''}`).join(''));
      const cut = fc
        .tuple(built, fc.nat(), fc.integer({ min: 1, max: 3 }))
        .map(([key, at, length]) => key.slice(0, at % (key.length + 1)) + key.slice((at % (key.length + 1)) + length));
      return fc.oneof(fc.string({ unit: piece, maxLength: 8 }), built, cut);
    };
    fc.assert(
      fc.property(
        chunks.chain((list) => keyFor(list).map((key) => ({ list, key }))),
        ({ list, key }) => {
          assert.equal(matchesResolved({ chunks: list }, key), chunksRegExp(list).test(key));
        },
      ),
      runs(2500),
    );
  });

  test('generationPrefix is the fixed part of a pattern that is exactly `prefix*`, and nothing else', () => {
    const list = nonEmptyList(fc.constantFrom('', 'a', 'a/', 'b'), 4);
    fc.assert(
      fc.property(list, (chunks) => {
        const expected = chunks.length === 2 && chunks[1] === '' ? chunks[0] : undefined;
        assert.equal(generationPrefix({ chunks }), expected);
      }),
      runs(300),
    );
  });
});

describe('object keys', () => {
  const piece = fc.constantFrom('a', 'é', '😀', '文', '/', '.', '..', ' ', '*', '?', '%', '\u0000', '\u001f', '\u007f', '\u0080', '\u009f');
  const awkward = fc.constantFrom(
    '\u00a0',
    '\u3000',
    '\u200b',
    '\u202e',
    '\ufeff',
    '\u00ad',
    '\ue000',
    '\uD800',
    '\uDC00',
    '\u2028',
    '\u2029',
    '\ufffd',
    '${',
    '$',
    '{',
    '\\',
    '~',
  );
  const shortKey = fc.string({ unit: fc.oneof({ weight: 8, arbitrary: piece }, { weight: 1, arbitrary: awkward }), maxLength: 12 });
  // Around the 1024-byte limit: 'é' is 2 bytes, '文' 3, '😀' 4 (and 2 UTF-16 units).
  const longKey = fc
    .record({
      char: fc.constantFrom('a', 'é', '文', '😀'),
      bytes: fc.integer({ min: 1000, max: 1040 }),
      tail: fc.constantFrom('', 'a', 'é'),
    })
    .map(({ char, bytes, tail }) => `k/${char.repeat(Math.floor((bytes - 2) / Buffer.byteLength(char)))}${tail}`);

  test('checkObjectKey accepts exactly the keys the README allows, and says why it refuses the others', () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 4, arbitrary: shortKey }, { weight: 1, arbitrary: longKey }), (key) => {
        const check = checkObjectKey(key);
        assert.equal(check.ok, keyIsValid(key), `${JSON.stringify(key)}: ${JSON.stringify(check)}`);
        if (!check.ok) assert.match(check.reason, /^key /u);
      }),
      runs(2000),
    );
  });

  test('a key over the limit is refused with its size in UTF-8 bytes', () => {
    fc.assert(
      fc.property(longKey, (key) => {
        const bytes = Buffer.byteLength(key);
        fc.pre(bytes > MAX_KEY_BYTES);
        const check = checkObjectKey(key);
        assert.deepEqual(check, { ok: false, reason: `key is ${bytes} bytes; the limit is ${MAX_KEY_BYTES}` });
      }),
      runs(200),
    );
  });

  const RISKY = /[/\\*?#%"<>|{}^`[\]\u0000-\u001f\u007f-\u009f\p{Cf}\p{Co}\p{Zl}\p{Zp}\uFFFD]|(?! )\p{Zs}/u;

  test('safeFilename yields a single safe segment, or nothing', () => {
    const filename = fc.oneof(
      fc.string({
        unit: fc.oneof(piece, awkward, fc.constantFrom('#', '"', '<', '>', '|', '{', '}', '^', '`', '[', ']', 'e\u0301', '\t')),
        maxLength: 16,
      }),
      fc.string({ unit: 'grapheme', maxLength: 260 }),
    );
    fc.assert(
      fc.property(filename, (name) => {
        const safe = safeFilename(name);
        if (safe === undefined) return;
        assert.ok(!RISKY.test(safe), JSON.stringify(safe));
        assert.ok(safe !== '' && safe !== '.' && safe !== '..' && safe === safe.trim() && safe === safe.normalize('NFC'));
        assert.ok(safe.isWellFormed());
        const key = `uploads/alice/0c3f5a8e-2a4b-4c1d-9e6f-7a8b9c0d1e2f/${safe}`;
        if (Buffer.byteLength(key) <= MAX_KEY_BYTES) assert.deepEqual(checkObjectKey(key), { ok: true });
      }),
      runs(1000),
    );
  });

  test('safeFilename keeps a name that is already safe, and takes the last segment of a path', () => {
    const safeName = fc
      .string({
        unit: fc.constantFrom('a', 'Z', '0', '-', '_', '.', ' ', 'é', '文', '😀', '(', ')', "'", '+', '~'),
        minLength: 1,
        maxLength: 30,
      })
      .filter((name) => name === name.trim() && name !== '.' && name !== '..' && name !== '');
    const directory = fc.array(fc.constantFrom('dir', 'C:', '..', '.', 'a b', ''), { maxLength: 3 });
    fc.assert(
      fc.property(safeName, directory, fc.constantFrom('/', '\\'), (name, dirs, separator) => {
        assert.equal(safeFilename(name), name);
        assert.equal(safeFilename([...dirs, name].join(separator)), name);
      }),
      runs(500),
    );
  });
});

describe('encodeKeyForCloudFront', () => {
  const segment = fc.string({
    unit: fc.constantFrom('a', ' ', '*', '?', '%', '#', '+', "'", '~', '!', '(', ')', '&', '=', '"', '\\', 'ü', '😀', '.'),
    minLength: 1,
    maxLength: 6,
  });

  test('escapes every segment so that no wildcard, query or fragment survives, and decodes back to the key', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segments) => {
        const key = segments.join('/');
        const encoded = encodeKeyForCloudFront(key);
        assert.ok(/^[A-Za-z0-9\-_.!~'()%/]*$/u.test(encoded), encoded);
        assert.equal(encoded.split('/').map(decodeURIComponent).join('/'), key);
      }),
      runs(500),
    );
  });
});
