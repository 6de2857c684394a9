import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compilePattern,
  generationPrefix,
  matchesResolved,
  resolvePattern,
  type Claims,
  type ResolvedPattern,
} from '../../../src/policy/patterns.js';

/** Resolves a pattern that must resolve, failing the test otherwise. */
function resolved(source: string, claims: Claims = {}): ResolvedPattern {
  const result = resolvePattern(compilePattern(source), claims);
  if (!result.ok) assert.fail(`expected "${source}" to resolve, got: ${result.reason}`);
  return result.pattern;
}

/** Whether a pattern, with these claims, covers the key (false when it does not resolve). */
function covers(source: string, key: string, claims: Claims = {}): boolean {
  const result = resolvePattern(compilePattern(source), claims);
  return result.ok && matchesResolved(result.pattern, key);
}

describe('compilePattern', () => {
  test('splits literals, claims and wildcards', () => {
    assert.deepEqual(compilePattern('uploads/{sub}/*').parts, [
      { literal: 'uploads/' },
      { claim: 'sub' },
      { literal: '/' },
      { wildcard: true },
    ]);
  });

  test('keeps the source', () => {
    assert.equal(compilePattern('public/*').source, 'public/*');
  });

  test('accepts claim names with dots, colons and dashes', () => {
    assert.deepEqual(compilePattern('t/{urn:tenant-id}/*').parts, [
      { literal: 't/' },
      { claim: 'urn:tenant-id' },
      { literal: '/' },
      { wildcard: true },
    ]);
    assert.deepEqual(compilePattern('t/{org.id}/x').parts, [{ literal: 't/' }, { claim: 'org.id' }, { literal: '/x' }]);
  });

  test('refuses an empty pattern: it would match nothing a key can be', () => {
    assert.throws(() => compilePattern(''), { message: 'a resource pattern is empty' });
  });

  test('refuses "?" (not a wildcard here), naming the pattern', () => {
    assert.throws(() => compilePattern('uploads/file?.txt'), /pattern "uploads\/file\?\.txt": "\?" is not allowed; use "\*"/);
  });

  test('refuses a leading "/"', () => {
    assert.throws(() => compilePattern('/uploads/*'), /must not start with "\/"/);
  });

  for (const source of ['uploads/{sub/*', 'uploads/sub}/*', 'uploads/{}/*', 'uploads/{1abc}/*', 'uploads/{a b}/*', '{{sub}}']) {
    test(`refuses stray braces in ${JSON.stringify(source)}`, () => {
      assert.throws(() => compilePattern(source), /"\{" and "\}" only enclose a claim name/);
    });
  }
});

describe('resolvePattern', () => {
  test('substitutes a string claim literally', () => {
    assert.deepEqual(resolved('uploads/{sub}/*', { sub: 'alice' }).chunks, ['uploads/alice/', '']);
  });

  test('substitutes a finite number claim', () => {
    assert.deepEqual(resolved('tenants/{tid}/*', { tid: 42 }).chunks, ['tenants/42/', '']);
  });

  test('a missing claim makes the pattern unusable, naming the claim', () => {
    const result = resolvePattern(compilePattern('uploads/{sub}/*'), {});
    assert.deepEqual(result, { ok: false, reason: 'claim "sub" is missing or not a string' });
  });

  for (const [name, value] of [
    ['boolean', true],
    ['object', { id: 'alice' }],
    ['array', ['alice']],
    ['null', null],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ] as const) {
    test(`a ${name} claim makes the pattern unusable`, () => {
      const result = resolvePattern(compilePattern('uploads/{sub}/*'), { sub: value });
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, /claim "sub" is missing or not a string/);
    });
  }

  for (const value of ['alice/bob', '*', 'a*', '?', 'a?b', '{sub}', 'a{', 'b}', '..', '.', '', 'a\u0000b', 'a\nb', 'x'.repeat(257)]) {
    test(`a claim value ${JSON.stringify(value.length > 20 ? `${value.slice(0, 5)}…(${value.length})` : value)} is refused`, () => {
      const result = resolvePattern(compilePattern('uploads/{sub}/*'), { sub: value });
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, /claim "sub" cannot be used in a resource pattern/);
    });
  }

  test('a claim value of 256 characters is still accepted', () => {
    const value = 'x'.repeat(256);
    assert.deepEqual(resolved('uploads/{sub}/*', { sub: value }).chunks, [`uploads/${value}/`, '']);
  });

  test('claim values with dots that are not dot segments are accepted', () => {
    assert.deepEqual(resolved('uploads/{sub}/*', { sub: 'alice.smith' }).chunks, ['uploads/alice.smith/', '']);
    assert.deepEqual(resolved('uploads/{sub}/*', { sub: '...' }).chunks, ['uploads/.../', '']);
  });

  test('only claims named in the pattern matter', () => {
    assert.deepEqual(resolved('public/*', { sub: '*' }).chunks, ['public/', '']);
  });
});

describe('security: a crafted claim can never widen a pattern', () => {
  const pattern = 'uploads/{sub}/*';
  const victimKey = 'uploads/bob/x';

  test('sanity: bob himself is covered', () => {
    assert.equal(covers(pattern, victimKey, { sub: 'bob' }), true);
  });

  for (const sub of ['*', 'alice/../bob', '../bob', 'bob/..', '..', '.', '', '?', '{sub}', 'b*', '*/x', 'bob/x', 'uploads/bob']) {
    test(`sub ${JSON.stringify(sub)} does not cover ${victimKey}`, () => {
      assert.equal(covers(pattern, victimKey, { sub }), false);
      assert.equal(covers(pattern, 'uploads/anything/at/all', { sub }), false);
    });
  }

  test('sub "*" does not even cover a key literally named "uploads/*/x"', () => {
    assert.equal(covers(pattern, 'uploads/*/x', { sub: '*' }), false);
  });

  test('an exact pattern with a claim cannot be widened by a wildcard claim', () => {
    assert.equal(covers('profiles/{sub}.json', 'profiles/bob.json', { sub: '*' }), false);
    assert.equal(covers('profiles/{sub}.json', 'profiles/bob.json', { sub: 'bob' }), true);
  });
});

describe('matchesResolved', () => {
  test('exact pattern: only the same key', () => {
    const pattern = resolved('docs/readme.md');
    assert.equal(matchesResolved(pattern, 'docs/readme.md'), true);
    assert.equal(matchesResolved(pattern, 'docs/readme.md.bak'), false);
    assert.equal(matchesResolved(pattern, 'docs/readme.m'), false);
    assert.equal(matchesResolved(pattern, 'x/docs/readme.md'), false);
  });

  test('prefix "*": anything under the prefix, including "/" and nothing at all', () => {
    const pattern = resolved('public/*');
    assert.equal(matchesResolved(pattern, 'public/a.txt'), true);
    assert.equal(matchesResolved(pattern, 'public/deep/nested/a.txt'), true);
    assert.equal(matchesResolved(pattern, 'public/'), true);
    assert.equal(matchesResolved(pattern, 'public'), false);
    assert.equal(matchesResolved(pattern, 'publicity/a.txt'), false);
    assert.equal(matchesResolved(pattern, 'private/public/a.txt'), false);
  });

  test('prefix is case-sensitive', () => {
    assert.equal(matchesResolved(resolved('public/*'), 'Public/a.txt'), false);
  });

  test('middle "*"', () => {
    const pattern = resolved('reports/*/summary.pdf');
    assert.equal(matchesResolved(pattern, 'reports/2024/summary.pdf'), true);
    assert.equal(matchesResolved(pattern, 'reports/2024/q1/summary.pdf'), true);
    assert.equal(matchesResolved(pattern, 'reports//summary.pdf'), true);
    assert.equal(matchesResolved(pattern, 'reports/2024/summary.pdf.exe'), false);
    assert.equal(matchesResolved(pattern, 'reports/2024/other.pdf'), false);
  });

  test('suffix-only pattern "*.pdf"', () => {
    const pattern = resolved('*.pdf');
    assert.equal(matchesResolved(pattern, 'a/b.pdf'), true);
    assert.equal(matchesResolved(pattern, '.pdf'), true);
    assert.equal(matchesResolved(pattern, 'a/b.pdfx'), false);
  });

  test('"*" alone matches every key', () => {
    const pattern = resolved('*');
    assert.equal(matchesResolved(pattern, 'anything/at/all'), true);
    assert.equal(matchesResolved(pattern, ''), true);
  });

  test('multiple "*": chunks must appear in order', () => {
    const pattern = resolved('a/*/b/*/c');
    assert.equal(matchesResolved(pattern, 'a/1/b/2/c'), true);
    assert.equal(matchesResolved(pattern, 'a/1/x/b/2/y/c'), true);
    assert.equal(matchesResolved(pattern, 'a/1/c/2/b'), false);
    assert.equal(matchesResolved(pattern, 'a/1/2/c'), false);
  });

  test('a middle chunk is found after an earlier false start', () => {
    assert.equal(matchesResolved(resolved('*ab*'), 'aab'), true);
    assert.equal(matchesResolved(resolved('x*aab*y'), 'xaaaby'), true);
  });

  test('overlapping chunks: pattern "a*a" does not match "a" (the first and last chunk cannot share a character)', () => {
    const pattern = resolved('a*a');
    assert.equal(matchesResolved(pattern, 'a'), false);
    assert.equal(matchesResolved(pattern, 'aa'), true);
    assert.equal(matchesResolved(pattern, 'aba'), true);
  });

  test('overlapping chunks: a middle chunk may not overlap the last chunk', () => {
    const pattern = resolved('x*ab*bc');
    assert.equal(matchesResolved(pattern, 'xabc'), false);
    assert.equal(matchesResolved(pattern, 'xabbc'), true);
  });

  test('overlapping chunks: a middle chunk may not overlap the first chunk', () => {
    const pattern = resolved('ab*bc*');
    assert.equal(matchesResolved(pattern, 'abc'), false);
    assert.equal(matchesResolved(pattern, 'abbc'), true);
  });

  test('consecutive "**" behaves like "*"', () => {
    const pattern = resolved('a/**');
    assert.equal(matchesResolved(pattern, 'a/x/y'), true);
    assert.equal(matchesResolved(pattern, 'b/x'), false);
  });

  test('claims are matched as literal text', () => {
    const pattern = resolved('uploads/{sub}/*', { sub: 'alice' });
    assert.equal(matchesResolved(pattern, 'uploads/alice/x'), true);
    assert.equal(matchesResolved(pattern, 'uploads/alice2/x'), false);
    assert.equal(matchesResolved(pattern, 'uploads/bob/x'), false);
  });
});

describe('generationPrefix', () => {
  test('"prefix*" yields its prefix', () => {
    assert.equal(generationPrefix(resolved('uploads/{sub}/*', { sub: 'alice' })), 'uploads/alice/');
  });

  test('"*" yields the empty prefix', () => {
    assert.equal(generationPrefix(resolved('*')), '');
  });

  for (const source of ['docs/readme.md', 'reports/*/summary.pdf', 'a/*.pdf', 'a/*/*', 'a/**']) {
    test(`${JSON.stringify(source)} has no generation prefix`, () => {
      assert.equal(generationPrefix(resolved(source)), undefined);
    });
  }
});
